"""Compiling a validated flow: qualified names, added states, compiled parts."""

from __future__ import annotations

from datetime import timedelta

from flowengine.definition import JOINED, SKIPPED, content_hash, field_defaults
from tests.unit.helpers import NOW, compiled

TEXT = """
flow: ihale
version: 3
title: İhale
directorate: yazi_isleri
unit: evrak
sla: 30d
roles: {}
data:
  tutar: {type: number, title: Tutar, default: 0}
  acil: {type: boolean, title: Acil mi, default: false}
  ad_soyad: {type: string, title: Ad soyad, personal: true}
start: hazirlik
states:
  hazirlik:
    type: task
    title: Hazırlık
    role: masa
    sla: 2d
    timers:
      - {after: 1d, notify: [mudur]}
    on:
      hazir: {to: inceleme, when: 'tutar > 0'}
  inceleme:
    type: parallel
    title: İnceleme
    join: {count: 1, remaining: finish}
    branches:
      fen_dali:
        start: fen
        states:
          fen:
            type: task
            title: Fen
            role: fen
            on:
              bitti: {to: fen_son}
          fen_son: {type: end, outcome: done}
      zabita_dali:
        start: zabita
        when: acil
        states:
          zabita:
            type: task
            title: Zabıta
            role: zabita
            on:
              bitti: {to: zabita_son}
          zabita_son: {type: end, outcome: done}
    next: kapandi
  kapandi: {type: end, outcome: resolved}
"""
IHALE = compiled(TEXT)


def test_states_inside_branches_have_qualified_names_and_scopes() -> None:
    fen = IHALE.states["inceleme.fen_dali.fen"]
    assert (fen.local, fen.scope, fen.kind, fen.title) == (
        "fen",
        "inceleme.fen_dali.",
        "task",
        "Fen",
    )
    assert fen.target("fen_son") == "inceleme.fen_dali.fen_son"
    assert IHALE.branch_starts["inceleme"] == (
        "inceleme.fen_dali.fen",
        "inceleme.zabita_dali.zabita",
    )
    assert IHALE.branches("inceleme") == {
        "inceleme.fen_dali.": ("inceleme.fen_dali.fen", None),
        "inceleme.zabita_dali.": ("inceleme.zabita_dali.zabita", "acil"),
    }


def test_the_compiler_adds_a_skipped_end_and_a_joined_marker() -> None:
    skipped = IHALE.states[f"inceleme.zabita_dali.{SKIPPED}"]
    assert (skipped.kind, skipped.doc.outcome) == ("end", "skipped")
    assert f"inceleme.fen_dali.{SKIPPED}" not in IHALE.states  # no `when`, never skipped
    joined = IHALE.states[f"inceleme.{JOINED}"]
    assert IHALE.enclosing_parallel(joined.name) == "inceleme"


def test_enclosing_parallels_innermost_first() -> None:
    assert IHALE.enclosing_parallels("inceleme.fen_dali.fen") == ["inceleme"]
    assert IHALE.enclosing_parallels("hazirlik") == []


def test_expressions_durations_and_timers_are_compiled_once() -> None:
    assert IHALE.expression("tutar > 0").evaluate({"tutar": 5.0}) is True
    assert IHALE.expression("acil").evaluate({"acil": False}) is False
    assert IHALE.slas["hazirlik"].add_to(NOW) == NOW + timedelta(days=2)
    assert IHALE.slas[""].add_to(NOW) == NOW + timedelta(days=30)  # the flow's own
    assert [d.text for d in IHALE.timer_delays["hazirlik"]] == ["1d"]


def test_who_starts_and_who_sees_personal_data_default_to_the_first_role() -> None:
    assert IHALE.starters == ("masa",)
    assert IHALE.personal_access == ("masa",)
    assert IHALE.personal_fields == frozenset({"ad_soyad"})


def test_what_a_definition_knows_of_its_file() -> None:
    assert (IHALE.flow, IHALE.version, IHALE.title) == ("ihale", 3, "İhale")
    assert IHALE.content_hash == content_hash(IHALE.source)
    assert content_hash(TEXT + "\n") != content_hash(TEXT)
    assert field_defaults(IHALE.doc) == {"tutar": 0, "acil": False}
    assert IHALE.leaves_children_running is False
    assert IHALE.escalating_states == frozenset()
    assert list(IHALE.events("hazirlik")) == ["hazir"]

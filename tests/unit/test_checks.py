"""The validator on flows written here: each mistake is one issue, at its line."""

from __future__ import annotations

import pytest

from flowengine import schema
from flowengine.checks import events_of, template_names, unreplied_ends
from flowengine.errors import Issue
from tests.unit.helpers import checked

BASE = """\
flow: izin
version: 1
title: İzin başvurusu
directorate: yazi_isleri
unit: evrak
roles: {}
data:
  gun: {type: integer, title: Gün sayısı, min: 1}
  cevap: {type: text, title: Cevap}
signals:
  iptal_talebi: {title: İptal talebi, roles: [masa]}
start: kayit
states:
  kayit:
    type: task
    title: Kayıt
    role: masa
    sla: 1d
    on:
      kaydet: {to: onay, requires: [gun]}
  onay:
    type: approval
    title: Müdür onayı
    role: mudur
    sla: 2d
    on_enter:
      - notify: {roles: [mudur], message: "{gun} günlük izin onay bekliyor"}
    approve: {to: kapandi, when: 'gun <= 30'}
    reject: {to: kayit}
  kapandi: {type: end, outcome: resolved}
"""


def issues(text: str) -> list[Issue]:
    return checked(text)[1]


def errors(text: str) -> list[tuple[int, str]]:
    """(line, code) of every error, in order."""
    return sorted((i.line, i.code) for i in issues(text) if i.severity == "error")


def changed(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_base_flow_has_no_errors() -> None:
    assert errors(BASE) == []


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("role: mudur\n    sla", "role: mudr\n    sla", "role"),
        ("requires: [gun]", "requires: [gunler]", "field"),
        ("when: 'gun <= 30'", "when: 'gun <= '", "expression"),
        ("when: 'gun <= 30'", "when: 'gunler <= 30'", "field"),
        ('message: "{gun} günlük', 'message: "{gunn} günlük', "field"),
        ("sla: 2d", "sla: iki gün", "duration"),
        ("kaydet: {to: onay", "Kaydet: {to: onay", "id"),
    ],
)
def test_a_mistake_is_reported_once_on_its_own_line(old: str, new: str, code: str) -> None:
    text = changed(old, new)
    assert errors(text) == [(line_of(text, new.splitlines()[0]), code)]


def test_a_target_that_does_not_exist_is_named_and_what_it_cuts_off_follows() -> None:
    text = changed("{to: onay, requires", "{to: onaylama, requires")
    assert errors(text) == [
        (line_of(text, "  kayit:"), "no-way-out"),
        (line_of(text, "onaylama"), "state-ref"),
        (line_of(text, "  onay:"), "unreachable"),
        (line_of(text, "  kapandi:"), "unreachable"),
    ]
    [named] = [i for i in issues(text) if i.code == "state-ref"]
    assert "onaylama" in named.message


def test_a_state_no_event_reaches_is_unreachable() -> None:
    text = BASE + "  unutulan: {type: end, outcome: lost}\n"
    assert errors(text) == [(line_of(text, "unutulan"), "unreachable")]


def test_a_loop_without_an_end_is_refused_at_every_state_in_it() -> None:
    text = changed("approve: {to: kapandi, when: 'gun <= 30'}", "approve: {to: kayit}")
    assert errors(text) == [
        (line_of(text, "  kayit:"), "no-way-out"),
        (line_of(text, "  onay:"), "no-way-out"),
        (line_of(text, "  kapandi:"), "unreachable"),
    ]


def test_a_task_without_sla_is_a_warning_not_an_error() -> None:
    text = changed("    sla: 1d\n", "")
    assert errors(text) == []
    assert [i.code for i in issues(text) if i.severity == "warning"] == ["no-sla"]


def test_an_event_waiting_for_an_undeclared_signal_is_refused() -> None:
    text = changed("kaydet: {to: onay, requires: [gun]}", "kaydet: {to: onay, signal: yok}")
    assert [c for _, c in errors(text)] == ["signal"]


def test_citizen_reply_required_names_the_end_reached_without_one() -> None:
    text = changed("start: kayit\n", "citizen_reply: required\nstart: kayit\n")
    [found] = [i for i in issues(text) if i.code == "citizen-reply"]
    assert found.line == line_of(text, "  kapandi:")
    assert "kayit → onay → kapandi" in found.message
    replied = text.replace(
        "approve: {to: kapandi, when: 'gun <= 30'}",
        "approve: {to: kapandi, requires: [cevap], reply: final}",
    )
    assert [i for i in issues(replied) if i.code == "citizen-reply"] == []


def test_unreplied_ends_follows_every_path() -> None:
    doc = checked(BASE)[0]
    assert unreplied_ends(doc.states, doc.start) == {"kapandi": ["kayit", "onay", "kapandi"]}


def test_events_of_an_approval_are_approve_and_reject() -> None:
    doc = checked(BASE)[0]
    assert list(events_of(doc.states["onay"])) == ["approve", "reject"]
    assert list(events_of(doc.states["kayit"])) == ["kaydet"]
    assert events_of(schema.EndState(type="end", outcome="x")) == {}


def test_template_names_are_plain_field_names() -> None:
    assert template_names("{gun} gün, {cevap}") == ["gun", "cevap"]
    for bad in ("{gun!r}", "{gun:>3}", "{a.b}"):
        with pytest.raises(ValueError, match="plain field name"):
            template_names(bad)

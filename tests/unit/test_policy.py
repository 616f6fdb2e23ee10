"""flowengine.policy: what an event or a start may write, who may start or manage.

Pure: the definitions come from YAML text in memory, the people are records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import policy, schema
from flowengine.definition import FlowDefinition, compile_flow
from flowengine.documents import parse_document
from flowengine.errors import InvalidData, PermissionDenied
from flowengine.instance import WorkItem
from flowengine.loader import load_text
from tests.unit.helpers import person

ROOT = Path(__file__).resolve().parents[2]

ITEMS = """
flow: alim
version: 1
title: Alım
directorate: destek
unit: satin_alma
roles: {satin_alma: {title: Satın alma}}
data:
  konu: {type: string}
  kalemler: {type: list, items: {type: string}}
  gerekce: {type: text}
  not_: {type: text}
  onay: {type: boolean}
  toplam: {type: integer}
intake: [konu, kalemler]
start: talep
states:
  talep:
    type: task
    role: satin_alma
    on:
      gonder: {to: hepsi, requires: [gerekce], accepts: [not_], set: {onay: true},
               compute: {toplam: "size(kalemler)"}}
  hepsi:
    type: subflow
    flow: kalem
    foreach: kalemler
    input: {kalem: item}
    on:
      ekle: {to: hepsi, roles: [satin_alma]}
      vazgec: {to: bitti, roles: [satin_alma]}
    next: bitti
  bitti: {type: end, outcome: tamam}
"""


def compiled(text: str) -> FlowDefinition:
    """Parsed and compiled, not validated: ITEMS names a subflow no flow set holds,
    and only the shape of its events matters here."""
    doc, issues = parse_document(schema.FlowDoc, load_text(text, "<test>"))
    assert doc is not None, issues
    return compile_flow(doc, text)


def seed(name: str) -> FlowDefinition:
    path = ROOT / "flows" / f"{name}.yaml"
    return compiled(path.read_text(encoding="utf-8"))


def test_an_event_takes_what_it_requires_and_accepts_and_nothing_else() -> None:
    definition = compiled(ITEMS)
    assert policy.event_inputs(definition, "talep", "gonder") == ("gerekce", "not_")
    policy.check_event_payload(definition, "talep", "gonder", {"gerekce": "x"}, "A-1")
    with pytest.raises(InvalidData) as refused:
        policy.check_event_payload(
            definition, "talep", "gonder", {"gerekce": "x", "onay": False, "konu": "y"}, "A-1"
        )
    # set/compute targets are written by the event itself, never by its payload
    assert set(refused.value.problems) == {"onay", "konu"}
    assert "gerekce, not_" in refused.value.problems["konu"]


def test_the_add_items_event_of_a_foreach_takes_its_list() -> None:
    definition = compiled(ITEMS)
    assert policy.event_inputs(definition, "hepsi", "ekle") == ("kalemler",)
    assert policy.event_inputs(definition, "hepsi", "vazgec") == ()


def test_answer_fields_are_every_field_an_event_writes() -> None:
    assert policy.answer_fields(compiled(ITEMS)) == {"gerekce", "not_", "onay", "toplam"}


def test_intake_is_declared_or_every_field_no_event_writes() -> None:
    assert policy.intake_fields(compiled(ITEMS)) == ("konu", "kalemler")
    desk = seed("bizim_masa")
    intake = policy.intake_fields(desk)
    assert {"kanal", "ad_soyad", "konu", "metin", "telefon"} <= set(intake)
    assert not {"vatandasa_cevap", "mudurluk", "mudurluk_cevabi", "kapsam"} & set(intake)


def test_the_civic_app_sets_only_mapped_fields_and_presets_only_as_preset() -> None:
    desk = seed("bizim_masa")
    app = person("p", "open311_istemcisi")
    rule = policy.start_rule(desk, app)
    assert {"konu", "metin", "ad_soyad", "eposta", "telefon", "konum"} <= set(rule.fields)
    assert "aracilik" not in rule.fields and "mahalle" not in rule.fields
    assert rule.presets["kanal"] == {"mobil_uygulama"}
    base = {"konu": "Çukur", "metin": "Çukur var", "ad_soyad": "Gül Şen", "basvuru_turu": "istek"}
    policy.check_start(desk, app, {**base, "kanal": "mobil_uygulama"})
    with pytest.raises(InvalidData) as refused:
        policy.check_start(desk, app, {**base, "kanal": "yuz_yuze", "aracilik": "stk"})
    assert set(refused.value.problems) == {"kanal", "aracilik"}
    # holding the desk's role too, the same person is the desk
    policy.check_start(desk, person("p", "open311_istemcisi", "bizim_masa"), {"aracilik": "stk"})


def test_only_starters_start() -> None:
    with pytest.raises(PermissionDenied, match="may not start 'bizim_masa'"):
        policy.check_start(seed("bizim_masa"), person("p", "ilgili_mudurluk:fen_isleri"), {})
    assert policy.may_start(seed("bizim_masa"), person("p", "bizim_masa"))


def test_a_director_manages_the_work_of_their_directorate_and_of_their_flows() -> None:
    desk = seed("bizim_masa")  # a flow of basin_yayin_halkla_iliskiler
    opened = datetime(2026, 12, 1, 9, tzinfo=UTC)
    item = WorkItem("i", "mudurluk_incelemesi", "ilgili_mudurluk", "fen_isleri", opened, None)
    policy.check_reassign(person("p", "mudur"), desk, "BM-1", item)
    policy.check_reassign(person("p", "mudur:fen_isleri"), desk, "BM-1", item)
    policy.check_reassign(person("p", "mudur:basin_yayin_halkla_iliskiler"), desk, "BM-1", item)
    with pytest.raises(PermissionDenied, match="may not reassign BM-1"):
        policy.check_reassign(person("p", "mudur:zabita"), desk, "BM-1", item)
    with pytest.raises(PermissionDenied, match="may not reassign"):
        policy.check_reassign(person("p", "bizim_masa"), desk, "BM-1", item)


def test_a_case_is_withdrawn_by_a_manager_or_a_starter() -> None:
    desk = seed("bizim_masa")
    policy.check_withdraw(person("p", "mudur"), desk, "BM-1", "withdraw")
    policy.check_withdraw(person("p", "bizim_masa"), desk, "BM-1", "merge")
    with pytest.raises(PermissionDenied, match="may not merge BM-1"):
        policy.check_withdraw(person("p", "ilgili_mudurluk:fen_isleri"), desk, "BM-1", "merge")

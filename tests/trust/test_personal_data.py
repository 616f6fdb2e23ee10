"""KVKK: masking, scoped viewing, erasure that keeps the chain, export, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowengine import trust
from flowengine.audit import ERASED
from flowengine.engine import Engine
from flowengine.errors import InvalidData, PermissionDenied
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people


def referred(engine: Engine) -> str:
    case = engine.start("bizim_masa", {**LAMBA, "tc_kimlik_no": "12345678950"}, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    return case.reference


def test_another_directorate_may_not_even_look(engine: Engine) -> None:
    """Zabıta's officer cannot see a Fen İşleri case; the attempt is audited."""
    ref = referred(engine)
    assert engine.view(ref, "mehmet").instance.reference == ref
    with pytest.raises(PermissionDenied, match="zabita_ali may not see"):
        engine.view(ref, "zabita_ali")
    with pytest.raises(PermissionDenied):
        engine.history(ref, "zabita_ali")
    assert [r["action"] for r in engine.refusals(ref)] == ["view", "view"]


def test_history_masks_personal_changes_for_the_directorate(engine: Engine) -> None:
    """The directorate's timeline shows that the name was given, not the name."""
    ref = referred(engine)
    first = engine.history(ref, "mehmet")[0]
    assert first.changes["ad_soyad"] == ["***", "***"]
    assert engine.history(ref, "ayse")[0].changes["ad_soyad"] == [None, "Zeynep Kaya"]


def test_erasure_blanks_every_copy_and_the_chain_still_verifies(engine: Engine) -> None:
    """After erasure: no personal value in data or history, chain and replay sound."""
    ref = referred(engine)
    exported = trust.export(engine, ref, "ayse")
    assert exported["personal_data"]["tc_kimlik_no"] == "12345678950"
    with pytest.raises(PermissionDenied, match="may not erase"):
        trust.erase(engine, ref, "mehmet", "deneme")
    erased = trust.erase(engine, ref, "ayse", "Başvuru sahibinin talebi (KVKK m.11)")
    assert erased == ["ad_soyad", "tc_kimlik_no", "telefon"]
    instance = engine.get(ref)
    assert instance.data["ad_soyad"] == ERASED and instance.data["konu"] == LAMBA["konu"]
    everything = repr([h.changes for h in engine.history(ref)]) + repr(instance.data)
    for secret in ("Zeynep Kaya", "12345678950", "0532 000 00 00"):
        assert secret not in everything
    assert [f.problem for f in trust.verify(engine, ref)] == [None]
    assert [f.problem for f in trust.replay(engine, ref)] == [None]
    last = engine.history(ref)[-1]
    assert (last.event, last.actor) == ("personal_data_erased", "ayse")
    assert "KVKK m.11" in (last.comment or "")
    engine.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    assert [f.problem for f in trust.verify(engine, ref)] == [None], "chain broke after erasure"


def test_retention_purges_only_cases_ended_long_enough_ago(db_url: str) -> None:
    """bizim_masa keeps personal data 2 years after the end; then purge erases it."""
    now = [datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: now[0])
    add_people(engine)
    old = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(old.reference, "kurum_disi", "ayse")
    engine.fire(
        old.reference,
        "yonlendirildi",
        "ayse",
        data={"dis_kurum": "baski", "vatandasa_cevap": "BASKİ'ye."},
    )
    recent_open = engine.start("bizim_masa", LAMBA, actor="ayse")
    now[0] += timedelta(days=365)
    assert trust.purge(engine) == []
    now[0] += timedelta(days=366)
    purged = trust.purge(engine)
    assert [(f.reference, f.problem) for f in purged] == [(old.reference, "ad_soyad, telefon")]
    assert engine.get(recent_open.reference).data["ad_soyad"] == "Zeynep Kaya"
    assert trust.purge(engine) == [], "purge erased twice"
    assert [f.problem for f in trust.verify(engine)] == [None, None]
    engine.close()


def test_find_lists_every_case_holding_a_persons_data(engine: Engine) -> None:
    """KVKK art. 11: the phone however written, the name in any case, across channels."""
    by_phone = engine.start(
        "bizim_masa", {**LAMBA, "kanal": "cagri_merkezi", "telefon": "0532 111 22 33"}, "ayse"
    )
    by_name = engine.start("bizim_masa", {**LAMBA, "ad_soyad": "ZEYNEP KAYA"}, actor="ayse")
    other = engine.start(
        "bizim_masa", {**LAMBA, "ad_soyad": "İsmail Işık", "telefon": "0555 000 00 00"}, "ayse"
    )
    found, skipped = trust.find(engine, "+90 532 111 2233", "ayse")
    assert [h.reference for h in found] == [by_phone.reference]
    assert found[0].fields == ("telefon",)
    named, _ = trust.find(engine, "zeynep kaya", "ayse")
    assert {h.reference for h in named} >= {by_phone.reference, by_name.reference}
    assert other.reference not in {h.reference for h in named}
    turkish, _ = trust.find(engine, "ismail ışık", "ayse")
    assert [h.reference for h in turkish] == [other.reference]
    assert skipped == ["idari_isler"]  # staff records: not the desk's to search


def test_find_skips_flows_whose_personal_data_the_searcher_may_not_see(engine: Engine) -> None:
    engine.start("bizim_masa", {**LAMBA, "telefon": "0532 111 22 33"}, actor="ayse")
    found, skipped = trust.find(engine, "0532 111 22 33", "mehmet")
    assert found == [] and skipped == ["bizim_masa", "idari_isler"]


def test_find_matches_whole_contacts_not_fragments(engine: Engine) -> None:
    shouting = engine.start(
        "bizim_masa", {**LAMBA, "eposta": "ILKER.ISIK@GMAIL.COM", "ad_soyad": "Ali Kaya"}, "ayse"
    )
    engine.start(
        "bizim_masa",
        {**LAMBA, "eposta": "vali@gmail.com", "ad_soyad": "Vali Kaya", "telefon": "0555 1",
         "adres": "532 Sok. No:111 D:22 Kat:33"},
        actor="ayse",
    )  # fmt: skip
    by_mail, _ = trust.find(engine, "ilker.isik@gmail.com", "ayse")
    assert [h.reference for h in by_mail] == [shouting.reference]
    assert trust.find(engine, "ali@gmail.com", "ayse")[0] == []
    assert [h.reference for h in trust.find(engine, "ali kaya", "ayse")[0]] == [shouting.reference]
    assert trust.find(engine, "0532 111 22 33", "ayse")[0] == []  # an address is no phone
    with pytest.raises(InvalidData, match="7 digits"):
        trust.find(engine, "532", "ayse")

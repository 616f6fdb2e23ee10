"""Stuck work: a manager reassigns it; an approval rejected N times escalates."""

from __future__ import annotations

import pytest

from flowengine.engine import Engine
from flowengine.errors import InvalidData, PermissionDenied
from tests.engine.helpers import LAMBA


def referred(engine: Engine) -> str:
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    return case.reference


def test_a_manager_reassigns_to_a_person_who_then_alone_may_answer(engine: Engine) -> None:
    """Fen İşleri's director gives the referral to one officer: recorded, and only
    that officer (or the role of the new assignment) may answer."""
    engine.add_person("fen_mudur", "Fen Müdürü", ["mudur:fen_isleri"])
    engine.add_person("kemal", "Kemal", ["ilgili_mudurluk:fen_isleri"])
    ref = referred(engine)
    with pytest.raises(PermissionDenied, match="may not reassign"):
        engine.reassign(ref, "kemal", "mehmet")
    with pytest.raises(InvalidData, match="does not hold the role ilgili_mudurluk"):
        engine.reassign(ref, "ayse", "fen_mudur")
    engine.reassign(ref, "kemal", "fen_mudur", reason="mehmet izinde")
    last = engine.history(ref)[-1]
    assert (last.event, last.actor, last.comment) == (
        "reassigned",
        "fen_mudur",
        "ilgili_mudurluk:fen_isleri → kemal (mehmet izinde)",
    )
    assert [t.reference for t in engine.tasks("kemal")] == [ref]
    assert engine.tasks("mehmet") == []
    with pytest.raises(PermissionDenied):
        engine.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "x"})
    done = engine.fire(ref, "cevap_ver", "kemal", data={"mudurluk_cevabi": "Onarıldı."})
    assert done.states == ("vatandasa_donus",)


def test_a_director_of_another_directorate_may_not_reassign(engine: Engine) -> None:
    """Zabıta's director has no say over Fen İşleri's work."""
    engine.add_person("zabita_mudur", "Zabıta Müdürü", ["mudur:zabita"])
    ref = referred(engine)
    with pytest.raises(PermissionDenied, match="it needs the role mudur for fen_isleri"):
        engine.reassign(ref, "zabita_ali", "zabita_mudur")
    assert [r["action"] for r in engine.refusals(ref)] == ["reassign"]


def test_second_rejection_by_the_director_notifies_the_deputy_mayor_once(
    engine: Engine,
) -> None:
    """basin_yayin's mudur_onayi escalates after 2 rejections, and only at the 2nd."""
    case = engine.start("basin_yayin", {"kaynak": "mudurlukler", "baslik": "Fuar"}, "basin")
    ref = case.reference
    engine.fire(ref, "planla", "basin")
    engine.fire(ref, "gerek_yok", "basin")
    engine.fire(ref, "kaydedildi", "basin", data={"sonrasi_kayitlar": ["a.jpg"]})

    def prepare_and_reject(times: int) -> None:
        for _ in range(times):
            engine.fire(ref, "gerek_yok", "basin", state="montaj")
            engine.fire(
                ref, "tamamlandi", "basin", data={"gorseller": ["g"]}, state="gorsel_tasarim"
            )
            engine.fire(
                ref, "tamamlandi", "basin", data={"haber_metni": "M"}, state="haber_metni_yazimi"
            )
            engine.fire(ref, "reject", "arda", comment="Eksik.")

    def escalations() -> list[str]:
        return [
            str(i.payload["message"])
            for i in engine.outbox(ref)
            if i.kind == "notify" and i.payload["roles"] == ["baskan_yardimcisi"]
        ]

    prepare_and_reject(1)
    assert escalations() == []
    prepare_and_reject(2)
    assert escalations() == [f"{ref}: 'Müdür onayı' 2 kez reddedildi"]

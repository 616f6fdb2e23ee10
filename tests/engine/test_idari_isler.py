"""Administrative affairs: the decision that routes each duty, guards, actions."""

from __future__ import annotations

import pytest

from flowengine.engine import Engine
from flowengine.errors import GuardRefused, InvalidData

IZIN = {
    "personel_adi": "Hasan Yıldırım",
    "belge_turu": "saglik_raporu",
    "izin_belgesi": "rapor-2026-118.pdf",
}


def test_the_start_decision_routes_each_duty(engine: Engine) -> None:
    """is_turu picks the path; an automatic decision never waits for a person."""
    routes = {
        "yazisma": "yazi_hazirlama",
        "puantaj": "puantaj_hazirlama",
        "izin_rapor": "izin_belgesi_kayit",
        "satin_alma": "ihtiyac_talebi",
        "tasinir": "tasinir_kayit",
    }
    for kind, state in routes.items():
        case = engine.start("idari_isler", {"is_turu": kind, "konu": "Deneme"}, actor="idari")
        assert case.states == (state,), kind
        assert engine.history(case.reference)[1].event == "decision"


def test_leave_record_guard_refuses_an_end_before_the_start(engine: Engine) -> None:
    """The guard compares dates; a refusal names it and changes nothing."""
    case = engine.start("idari_isler", {"is_turu": "izin_rapor", "konu": "Rapor"}, actor="idari")
    with pytest.raises(GuardRefused, match="bitis_tarihi >= baslangic_tarihi` is false"):
        engine.fire(
            case.reference,
            "kaydedildi",
            "idari",
            data={**IZIN, "baslangic_tarihi": "2026-03-10", "bitis_tarihi": "2026-03-02"},
        )
    assert engine.get(case.reference).row_version == case.row_version
    with pytest.raises(InvalidData, match="must be a date"):
        engine.fire(
            case.reference,
            "kaydedildi",
            "idari",
            data={**IZIN, "baslangic_tarihi": "10.03.2026", "bitis_tarihi": "2026-03-12"},
        )


def test_leave_record_is_filed_and_hr_notified_in_the_same_step(engine: Engine) -> None:
    """Checking the document runs the action (an outbox notice) and ends the case."""
    case = engine.start("idari_isler", {"is_turu": "izin_rapor", "konu": "Rapor"}, actor="idari")
    engine.fire(
        case.reference,
        "kaydedildi",
        "idari",
        data={**IZIN, "baslangic_tarihi": "2026-03-10", "bitis_tarihi": "2026-03-12"},
    )
    done = engine.fire(case.reference, "uygun", "idari")
    assert (done.status, done.outcome) == ("completed", "filed")
    [notice] = engine.outbox(case.reference)
    assert notice.kind == "notify"
    assert notice.payload["roles"] == ["insan_kaynaklari"]
    assert "saglik_raporu" in notice.payload["message"]
    tail = [(h.event, h.to_state) for h in engine.history(case.reference)][-2:]
    assert tail == [("uygun", "izin_ik_bildirimi"), ("action", "izin_dosyalandi")]

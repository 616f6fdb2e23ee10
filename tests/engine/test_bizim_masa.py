"""Running Bizim Masa end to end on every backend."""

from __future__ import annotations

import pytest

from flowengine.engine import Engine
from flowengine.errors import (
    ConcurrentUpdate,
    IdempotencyConflict,
    InvalidData,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownInstance,
)
from tests.engine.helpers import LAMBA


def test_referral_answer_and_reply_reach_the_end(engine: Engine) -> None:
    """Desk refers to Fen İşleri, the directorate answers, the desk replies: resolved."""
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    assert case.reference.startswith("BM-") and case.states == ("degerlendirme",)
    case = engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    assert case.states == ("mudurluk_incelemesi",) and case.data["kapsam"] == "kurum_ici"
    assert [t.reference for t in engine.tasks("mehmet")] == [case.reference]
    assert engine.tasks("zabita_ali") == []
    case = engine.fire(case.reference, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    case = engine.fire(
        case.reference, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Lamba onarıldı."}
    )
    assert (case.status, case.outcome, case.states) == ("completed", "resolved", ("cozuldu",))
    history = engine.history(case.reference)
    assert [h.seq for h in history] == list(range(1, len(history) + 1))
    assert case.row_version == len(history)
    assert engine.tasks("ayse") == []


def test_other_directorate_may_not_answer_and_the_refusal_is_audited(engine: Engine) -> None:
    """A Zabıta user cannot answer a Fen İşleri referral; the refusal is recorded."""
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    with pytest.raises(PermissionDenied, match="ilgili_mudurluk:fen_isleri"):
        engine.fire(case.reference, "cevap_ver", "zabita_ali", data={"mudurluk_cevabi": "x"})
    assert engine.get(case.reference).states == ("mudurluk_incelemesi",)
    assert [r["actor"] for r in engine.refusals(case.reference)] == ["zabita_ali"]


def test_bad_commands_change_nothing(engine: Engine) -> None:
    """Wrong event, missing required field, bad directorate: clear errors, no change."""
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    with pytest.raises(
        TransitionNotAllowed, match="possible events: bilgi_iste, havale_et, kurum_disi"
    ):
        engine.fire(case.reference, "cevap_ver", "ayse")
    with pytest.raises(InvalidData, match="mudurluk: is required by 'havale_et'"):
        engine.fire(case.reference, "havale_et", "ayse")
    with pytest.raises(InvalidData, match="'fenn' is not a directorate"):
        engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fenn"})
    with pytest.raises(InvalidData, match="kanal: 'fax' is not one of"):
        engine.start("bizim_masa", {**LAMBA, "kanal": "fax"}, actor="ayse")
    with pytest.raises(UnknownInstance):
        engine.fire("BM-1999-000001", "havale_et", "ayse")
    after = engine.get(case.reference)
    assert after.row_version == case.row_version and after.states == case.states
    assert len(engine.history(case.reference)) == 1


def test_return_to_desk_needs_a_comment(engine: Engine) -> None:
    """`iade_et` (wrong referral) requires the reason."""
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    with pytest.raises(InvalidData, match="needs a comment"):
        engine.fire(case.reference, "iade_et", "mehmet")
    case = engine.fire(case.reference, "iade_et", "mehmet", comment="Konu Zabıta'nın işi.")
    assert case.states == ("degerlendirme",)
    assert engine.history(case.reference)[-1].comment == "Konu Zabıta'nın işi."


def test_stale_expected_version_is_a_concurrent_update(engine: Engine) -> None:
    """Acting on an old version fails with who changed it, and changes nothing."""
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    with pytest.raises(ConcurrentUpdate, match="changed by ayse") as caught:
        engine.fire(
            case.reference, "iade_et", "mehmet", comment="x", expected_version=case.row_version
        )
    assert caught.value.current_version == case.row_version + 1


def test_idempotency_key_returns_the_first_result(engine: Engine) -> None:
    """A repeated key starts nothing new; the same key with other data is refused."""
    first = engine.start("bizim_masa", LAMBA, actor="ayse", idempotency_key="wa-123")
    again = engine.start("bizim_masa", LAMBA, actor="ayse", idempotency_key="wa-123")
    assert again.id == first.id
    assert len(engine.instances(flow="bizim_masa")) == 1
    with pytest.raises(IdempotencyConflict):
        engine.start(
            "bizim_masa", {**LAMBA, "konu": "Başka"}, actor="ayse", idempotency_key="wa-123"
        )


def test_personal_fields_are_masked_for_other_roles(engine: Engine) -> None:
    """The directorate sees the subject but not the citizen's name or phone."""
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    assert engine.view(case.reference, "ayse").data["ad_soyad"] == "Zeynep Kaya"
    seen = engine.view(case.reference, "mehmet")
    assert seen.data["ad_soyad"] == "***" and seen.data["telefon"] == "***"
    assert seen.data["konu"] == "Sokak lambası yanmıyor"


def test_turkish_text_survives_the_database(engine: Engine) -> None:
    """İ, ı, ş, ğ, ç, ö, ü come back exactly as written."""
    text = "İlçemizde ışıklandırma, çöp ve ağaç budama şikâyeti — Ünal Öztürk"
    case = engine.start("bizim_masa", {**LAMBA, "metin": text}, actor="ayse")
    assert engine.get(case.reference).data["metin"] == text

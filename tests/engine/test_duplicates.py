"""One case per problem: a repeat across channels is offered for merging, gets the
same final reply, and a merge can be taken back (all of it in the history)."""

from __future__ import annotations

import pytest

from flowengine import audit, runtime
from flowengine.engine import Engine
from flowengine.errors import InvalidData, PermissionDenied
from tests.cli.helpers import LAMBA as LAMBA_ARGS
from tests.cli.helpers import cli, ok
from tests.engine.helpers import LAMBA


def call_centre_then_whatsapp(engine: Engine) -> tuple[str, str]:
    first = engine.start(
        "bizim_masa",
        {**LAMBA, "kanal": "cagri_merkezi", "telefon": "0532 111 22 33"},
        actor="ayse",
    )
    again = engine.start(
        "bizim_masa",
        {
            **LAMBA,
            "kanal": "whatsapp",
            "telefon": "+90 (532) 111 2233",
            "konu": "Lamba hâlâ yanmıyor",
        },
        actor="ayse",
    )
    return first.reference, again.reference


def test_a_whatsapp_repeat_of_a_call_centre_request_is_offered(engine: Engine) -> None:
    first, again = call_centre_then_whatsapp(engine)
    other = engine.start(
        "bizim_masa",
        {**LAMBA, "telefon": "0555 999 88 77", "mahalle": "Küçükköy", "konu": "Park bankı kırık"},
        actor="ayse",
    )
    found = engine.similar(again, "ayse")
    assert [(i.reference, why) for i, why in found] == [(first, "aynı iletişim bilgisi (telefon)")]
    assert other.reference not in {i.reference for i, _ in engine.similar(first, "ayse")}
    with pytest.raises(PermissionDenied):
        engine.similar(again, "mehmet")  # a directorate may not compare contacts


def test_same_neighbourhood_and_similar_subject_is_offered(engine: Engine) -> None:
    first = engine.start("bizim_masa", {**LAMBA, "konu": "Sokak lambası yanmıyor"}, "ayse")
    second = engine.start(
        "bizim_masa",
        {**LAMBA, "ad_soyad": "Mehmet Öz", "konu": "Sokak lambası yine yanmıyor"},
        actor="ayse",
    )
    assert [i.reference for i, _ in engine.similar(second.reference, "ayse")] == [first.reference]


def test_a_merged_repeat_gets_the_same_final_reply(engine: Engine) -> None:
    first, again = call_centre_then_whatsapp(engine)
    merged = engine.merge(again, first, "ayse", "Aynı lamba, aynı vatandaş")
    assert merged.status == "merged" and merged.states == ()
    with engine.store.unit(writes=False) as unit:
        assert unit.open_items(merged.id) == {}
    engine.fire(first, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.fire(first, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Lamba değişti."})
    engine.fire(first, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Lamba onarıldı."})
    answered = engine.get(again)
    assert answered.status == "completed" and answered.outcome == "merged"
    assert answered.data["vatandasa_cevap"] == "Lamba onarıldı."
    assert answered.clock is not None and answered.clock["replied_at"]
    with engine.store.unit(writes=False) as unit:
        rows = unit.audit_rows(answered.id)
        sealed = [r for r in rows if r is not None]
        assert (
            audit.verify(
                sealed,
                answered.history_head,
                answered.audit_salt,
                frozenset(engine.definition("bizim_masa").personal_fields),
            )
            is None
        )


def test_a_merge_is_taken_back_to_where_it_stood(engine: Engine) -> None:
    first, again = call_centre_then_whatsapp(engine)
    engine.fire(again, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.merge(again, first, "ayse", "Aynı konu")
    restored = engine.unmerge(again, "ayse", "Farklı lambalarmış")
    assert restored.status == "active" and restored.states == ("mudurluk_incelemesi",)
    assert [w.reference for w in engine.tasks("mehmet")] == [again]
    events = [h.event for h in engine.history(again, "ayse")]
    assert events[-3:] == ["cancel", "merge", "unmerge"]
    with pytest.raises(InvalidData, match="not merged"):
        engine.unmerge(again, "ayse", "yine")


def test_only_open_requests_merge_and_never_into_themselves(engine: Engine) -> None:
    first, again = call_centre_then_whatsapp(engine)
    with pytest.raises(InvalidData, match="into itself"):
        engine.merge(first, first, "ayse", "?")
    with pytest.raises(PermissionDenied):
        engine.merge(again, first, "mehmet", "Benim değil")
    engine.merge(again, first, "ayse", "Aynı")
    with pytest.raises(InvalidData, match="merge open requests"):
        engine.merge(first, again, "ayse", "Ters")


def test_similar_and_merge_from_the_command_line(desk: str) -> None:
    start = ("start", "bizim_masa", "--as", "ayse", *LAMBA_ARGS)
    first_ref = ok(desk, *start, "--set", "telefon=05321112233")
    again = cli(desk, *start, "--set", "telefon=0532 111 22 33")
    again_ref = again.stdout.strip()
    # offered at intake, without being asked
    assert f"benzer açık başvuru: {first_ref} (aynı iletişim bilgisi (telefon))" in again.stderr
    assert first_ref in ok(desk, "similar", again_ref, "--as", "ayse")
    merged = ok(desk, "merge", again_ref, "--into", first_ref, "--as", "ayse", "--reason", "Aynı")
    assert merged == f"{again_ref}: merged into {first_ref}"


def test_a_chain_of_duplicates_is_answered_through(engine: Engine) -> None:
    first, second = call_centre_then_whatsapp(engine)
    third = engine.start("bizim_masa", {**LAMBA, "telefon": "0532 111 22 33"}, "ayse").reference
    engine.merge(third, second, "ayse", "Üçüncü kez")
    engine.merge(second, first, "ayse", "İkinci kez")
    engine.fire(first, "kurum_disi", "ayse")
    engine.fire(
        first, "yonlendirildi", "ayse",
        data={"dis_kurum": "tedas", "vatandasa_cevap": "TEDAŞ'a iletildi."},
    )  # fmt: skip
    for ref in (second, third):
        case = engine.get(ref)
        assert (case.status, case.outcome) == ("completed", "merged"), ref
        assert case.data["vatandasa_cevap"] == "TEDAŞ'a iletildi."


def test_an_original_withdrawn_without_a_reply_gives_its_duplicates_back(engine: Engine) -> None:
    first, again = call_centre_then_whatsapp(engine)
    engine.merge(again, first, "ayse", "Aynı")
    engine.cancel(first, "ayse", "Vatandaş ilk başvurusunu geri aldı")
    back = engine.get(again)
    assert back.status == "active" and back.states == ("degerlendirme",)


def test_a_receipt_survives_a_merge_at_intake(engine: Engine) -> None:
    first, _ = call_centre_then_whatsapp(engine)
    repeat = engine.start("bizim_masa", {**LAMBA, "eposta": "ayse.k@example.org"}, "ayse")
    engine.merge(repeat.reference, first, "ayse", "Aynı")
    [receipt] = [i for i in engine.outbox(repeat.reference) if i.kind == "email"]
    assert receipt.status == "pending"  # the citizen still gets their reference number


def test_requests_on_different_versions_do_not_merge(engine: Engine) -> None:
    first, again = call_centre_then_whatsapp(engine)
    older = engine.get(first).evolve(version=1)  # as if started before v2 was deployed
    with pytest.raises(InvalidData, match="one version"):
        runtime.merge(
            engine.definition("bizim_masa"), engine.get(again), older, "ayse", "Aynı",
            engine.clock(),
        )  # fmt: skip


def test_a_refused_comparison_is_audited(engine: Engine) -> None:
    _, again = call_centre_then_whatsapp(engine)
    with pytest.raises(PermissionDenied):
        engine.similar(again, "mehmet")
    assert [r["action"] for r in engine.refusals(again)] == ["similar"]

"""Each workflow pattern docs/patterns.md calls supported, proven on its example flow.

The flows are in examples/patterns/; every test runs on SQLite and PostgreSQL.
Test names carry the pattern's number (WCPn) from workflowpatterns.com.
"""

from __future__ import annotations

import pytest

from flowengine.engine import Engine
from flowengine.errors import (
    GuardRefused,
    InvalidData,
    PermissionDenied,
    StateWaiting,
    TransitionNotAllowed,
)
from flowengine.instance import Instance
from tests.patterns.conftest import Clock


def work(engine: Engine, ref: str) -> list[str]:
    """The instance's open work, as local state names, sorted."""
    with engine.store.unit(writes=False) as unit:
        instance = engine.get(ref)
        return sorted(s.rsplit(".", 1)[-1] for s in unit.open_items(instance.id))


def events(engine: Engine, ref: str) -> list[tuple[str, str | None]]:
    return [(h.event, h.to_state) for h in engine.history(ref, "ayse")]


def cancelled(engine: Engine, ref: str) -> list[str | None]:
    """The states withdrawn, in the order the history recorded them."""
    return [h.from_state for h in engine.history(ref, "ayse") if h.event == "cancel"]


def fire_timers(engine: Engine) -> int:
    fired = 0
    while engine.fire_due_timer("test"):
        fired += 1
    return fired


def pending_timers(engine: Engine, ref: str) -> list[str]:
    return sorted(t.state for t, reference, _ in engine.timers() if reference == ref)


# -- basic control flow: temel.yaml -------------------------------------------------


def test_wcp1_wcp4_wcp5_sequence_choice_and_merge(patterns: Engine) -> None:
    """A request goes kayit → istek_degerlendirme → cevap; a complaint by the other way."""
    request = patterns.start("temel", {}, actor="ayse")
    assert work(patterns, request.reference) == ["kayit"]
    moved = patterns.fire(request.reference, "kaydet", "ayse", data={"tur": "istek"})
    assert moved.states == ("istek_degerlendirme",)
    merged = patterns.fire(request.reference, "tamam", "ayse")
    assert merged.states == ("cevap",)
    complaint = patterns.start("temel", {}, actor="ayse")
    moved = patterns.fire(complaint.reference, "kaydet", "ayse", data={"tur": "sikayet"})
    assert moved.states == (
        "inceleme.fen_dali.fen_inceleme",
        "inceleme.zabita_dali.zabita_inceleme",
    )


def test_wcp2_wcp3_parallel_split_waits_for_both_branches(patterns: Engine) -> None:
    case = patterns.start("temel", {}, actor="ayse")
    patterns.fire(case.reference, "kaydet", "ayse", data={"tur": "sikayet"})
    assert work(patterns, case.reference) == ["fen_inceleme", "zabita_inceleme"]
    one = patterns.fire(case.reference, "bitti", "ali", state="fen_inceleme")
    assert "cevap" not in one.states  # the join does not fire before the second branch ends
    both = patterns.fire(case.reference, "bitti", "can", state="zabita_inceleme")
    assert both.states == ("cevap",)


def test_wcp10_wcp21_cycles_and_a_structured_loop(patterns: Engine) -> None:
    case = patterns.start("temel", {}, actor="ayse")
    patterns.fire(case.reference, "kaydet", "ayse", data={"tur": "istek"})
    patterns.fire(case.reference, "tamam", "ayse")
    back = patterns.fire(case.reference, "duzelt", "ayse")
    assert back.states == ("kayit",)  # an arbitrary cycle, back to the first step
    patterns.fire(case.reference, "kaydet", "ayse", data={"tur": "istek"})
    patterns.fire(case.reference, "tamam", "ayse")
    for round_ in (1, 2):
        patterns.fire(case.reference, "gonder", "ayse")
        again = patterns.fire(case.reference, "tekrar", "ayse")
        assert again.states == ("cevap",) and again.data["tekrar_sayisi"] == round_
    patterns.fire(case.reference, "gonder", "ayse")
    done = patterns.fire(case.reference, "uygun", "ayse")
    assert done.status == "completed" and done.outcome == "resolved"


def test_wcp16_deferred_choice_first_of_event_or_timer_wins(patterns: Engine, clock: Clock) -> None:
    answered = _at_cevap(patterns)
    timed = _at_cevap(patterns)
    patterns.fire(answered, "gonder", "ayse")
    clock.advance(days=11)
    fire_timers(patterns)
    assert patterns.get(answered).states == ("kontrol",)  # its timer ended with the choice
    assert patterns.get(timed).outcome == "timed_out"
    with pytest.raises(TransitionNotAllowed):
        patterns.fire(timed, "gonder", "ayse")


def test_wcp19_cancel_task_by_the_director(patterns: Engine) -> None:
    ref = _at_cevap(patterns)
    with pytest.raises(PermissionDenied):
        patterns.fire(ref, "geri_cek", "ayse", comment="Vazgeçildi")
    withdrawn = patterns.fire(ref, "geri_cek", "arda", comment="Mükerrer başvuru")
    assert withdrawn.outcome == "withdrawn"
    assert work(patterns, ref) == [] and pending_timers(patterns, ref) == []


def test_wcp20_cancel_case_withdraws_every_branch(patterns: Engine) -> None:
    case = patterns.start("temel", {}, actor="ayse")
    patterns.fire(case.reference, "kaydet", "ayse", data={"tur": "sikayet"})
    with pytest.raises(PermissionDenied):
        patterns.cancel(case.reference, "ali", "Benim değil")
    cancelled = patterns.cancel(case.reference, "ayse", "Vatandaş başvurusunu geri aldı")
    assert cancelled.status == "cancelled" and cancelled.states == ()
    assert work(patterns, case.reference) == []
    assert events(patterns, case.reference)[-3:] == [
        ("cancel", None),
        ("cancel", None),
        ("cancel_case", None),
    ]
    with pytest.raises(TransitionNotAllowed):
        patterns.fire(case.reference, "bitti", "ali", state="fen_inceleme")


def _at_cevap(engine: Engine) -> str:
    case = engine.start("temel", {}, actor="ayse")
    engine.fire(case.reference, "kaydet", "ayse", data={"tur": "istek"})
    engine.fire(case.reference, "tamam", "ayse")
    return case.reference


# -- multi-choice: coklu_secim.yaml -------------------------------------------------


def test_wcp6_multi_choice_runs_only_the_concerned_directorates(patterns: Engine) -> None:
    case = patterns.start("coklu_secim", {"fen_ilgili": True, "park_ilgili": True}, actor="ayse")
    assert work(patterns, case.reference) == ["fen_cevap", "park_cevap"]
    assert ("skip", "dagit.zabita_dali._skipped") in events(patterns, case.reference)
    assert patterns.tasks("can") == []


def test_wcp7_synchronizing_merge_waits_for_exactly_the_running_branches(
    patterns: Engine,
) -> None:
    case = patterns.start("coklu_secim", {"fen_ilgili": True, "park_ilgili": True}, actor="ayse")
    first = patterns.fire(case.reference, "cevapla", "ali", state="fen_cevap")
    assert "vatandasa_donus" not in first.states
    merged = patterns.fire(case.reference, "cevapla", "deniz", state="park_cevap")
    assert merged.states == ("vatandasa_donus",)


def test_no_concerned_directorate_goes_straight_to_the_answer(patterns: Engine) -> None:
    case = patterns.start("coklu_secim", {}, actor="ayse")
    assert case.states == ("vatandasa_donus",)


# -- partial joins: birlesmeler.yaml --------------------------------------------------


def _opinions(engine: Engine, rule: str) -> str:
    case = engine.start("birlesmeler", {"kural": rule}, actor="ayse")
    assert work(engine, case.reference) == ["fen_gorus", "park_gorus", "zabita_gorus"]
    return case.reference


def test_wcp29_cancelling_discriminator(patterns: Engine) -> None:
    ref = _opinions(patterns, "ilk_iptal")
    joined = patterns.fire(ref, "olumlu", "can", state="zabita_gorus")
    assert joined.states == ("sonuc",)
    assert work(patterns, ref) == ["sonuc"]  # the other two opinions were withdrawn
    assert sorted(cancelled(patterns, ref)) == [
        "ilk_iptal.fen_dali.fen_gorus",
        "ilk_iptal.park_dali.park_gorus",
    ]


def test_wcp9_structured_discriminator_lets_the_rest_finish_without_a_second_join(
    patterns: Engine,
) -> None:
    ref = _opinions(patterns, "ilk_devam")
    joined = patterns.fire(ref, "olumlu", "ali", state="fen_gorus")
    assert "sonuc" in joined.states and "ilk_devam._joined" in joined.states
    assert work(patterns, ref) == ["park_gorus", "sonuc", "zabita_gorus"]
    patterns.fire(ref, "olumlu", "can", state="zabita_gorus")
    last = patterns.fire(ref, "olumlu", "deniz", state="park_gorus")
    assert last.states == ("sonuc",)  # the region is gone; no second join
    joins = [(e, s) for e, s in events(patterns, ref) if e in ("join", "partial_join")]
    assert joins == [("partial_join", "ilk_devam._joined"), ("partial_join", "sonuc")]


def test_wcp32_cancelling_partial_join_two_of_three(patterns: Engine) -> None:
    ref = _opinions(patterns, "iki_iptal")
    one = patterns.fire(ref, "olumlu", "ali", state="fen_gorus")
    assert "sonuc" not in one.states  # one of the two needed
    two = patterns.fire(ref, "olumlu", "deniz", state="park_gorus")
    assert two.states == ("sonuc",)
    assert work(patterns, ref) == ["sonuc"]
    with pytest.raises(TransitionNotAllowed):
        patterns.fire(ref, "olumlu", "can", state="zabita_gorus")


def test_wcp30_structured_partial_join_two_of_three(patterns: Engine) -> None:
    ref = _opinions(patterns, "iki_devam")
    patterns.fire(ref, "olumlu", "ali", state="fen_gorus")
    two = patterns.fire(ref, "olumlu", "deniz", state="park_gorus")
    assert "sonuc" in two.states and "iki_devam.zabita_dali.zabita_gorus" in two.states
    third = patterns.fire(ref, "olumlu", "can", state="zabita_gorus")
    assert third.states == ("sonuc",)


def test_cancelled_branch_notices_are_not_delivered(patterns: Engine) -> None:
    ref = _opinions(patterns, "ilk_iptal")
    patterns.fire(ref, "olumlu", "ali", state="fen_gorus")
    by_state = {item.state: item.status for item in patterns.outbox(ref)}
    assert by_state["ilk_iptal.fen_dali.fen_gorus"] == "pending"
    assert by_state["ilk_iptal.park_dali.park_gorus"] == "cancelled"
    assert by_state["ilk_iptal.zabita_dali.zabita_gorus"] == "cancelled"


def test_finishing_branches_are_withdrawn_when_the_case_ends(patterns: Engine) -> None:
    ref = _opinions(patterns, "ilk_devam")
    patterns.fire(ref, "olumlu", "ali", state="fen_gorus")
    done = patterns.fire(ref, "karar_ver", "ayse")
    assert done.status == "completed" and done.states == ("kapandi",)
    assert work(patterns, ref) == []


# -- explicit termination: sonlandirma.yaml -----------------------------------------


def test_wcp43_terminating_end_ends_the_whole_instance(patterns: Engine) -> None:
    case = patterns.start("sonlandirma", {}, actor="ayse")
    ref = case.reference
    assert pending_timers(patterns, ref) == ["isleniyor.inceleme_dali.inceleme"]
    ended = patterns.fire(
        ref, "vatandas_vazgecti", "ayse", state="belge_bekleme", comment="Dilekçe ile geri aldı"
    )
    assert ended.status == "completed" and ended.outcome == "withdrawn"
    assert ended.states == ("isleniyor.vatandas_dali.geri_alindi",)
    assert work(patterns, ref) == [] and pending_timers(patterns, ref) == []
    assert ("cancel", None) in events(patterns, ref)


# -- cancel region: iptal_bolgesi.yaml ----------------------------------------------


def test_wcp25_cancel_region_by_event(patterns: Engine) -> None:
    case = patterns.start("iptal_bolgesi", {}, actor="ayse")
    ref = case.reference
    assert sorted(pending_timers(patterns, ref)) == ["hazirlik", "hazirlik.gorsel_dali.gorsel"]
    patterns.fire(ref, "cizildi", "ayse", state="gorsel")  # one branch done already
    with pytest.raises(PermissionDenied):
        patterns.fire(ref, "geri_cek", "ayse", comment="Vazgeçtik")
    withdrawn = patterns.fire(ref, "geri_cek", "arda", comment="Etkinlik ertelendi")
    assert withdrawn.outcome == "withdrawn"
    assert work(patterns, ref) == [] and pending_timers(patterns, ref) == []
    statuses = {item.kind: item.status for item in patterns.outbox(ref)}
    assert statuses["email"] == "cancelled"  # the withdrawn branch's e-mail never goes out
    assert sorted(cancelled(patterns, ref)) == [
        "hazirlik.gorsel_dali.gorsel_hazir",  # the branch that had ended goes too
        "hazirlik.metin_dali.metin",
    ]


def test_wcp25_cancel_region_by_its_timer(patterns: Engine, clock: Clock) -> None:
    case = patterns.start("iptal_bolgesi", {}, actor="ayse")
    clock.advance(days=8)
    fire_timers(patterns)
    after = patterns.get(case.reference)
    assert after.outcome == "timed_out"
    assert work(patterns, case.reference) == []


# -- milestone: kilometre_tasi.yaml -------------------------------------------------


def test_wcp18_milestone_guard_with_in_state(patterns: Engine) -> None:
    case = patterns.start("kilometre_tasi", {}, actor="ayse")
    ref = case.reference
    with pytest.raises(GuardRefused):
        patterns.fire(ref, "teslim_et", "ayse")
    patterns.fire(ref, "odendi", "fatma")
    delivered = patterns.fire(ref, "teslim_et", "ayse")
    assert delivered.states == ("arsiv",)


# -- multiple instances: satin_alma.yaml + kalem_alimi.yaml -------------------------


def children(engine: Engine, parent: Instance) -> list[Instance]:
    with engine.store.unit(writes=False) as unit:
        found = unit.children(parent.id)
    return sorted(found, key=lambda c: c.data.get("sira", 0))


def purchase(engine: Engine, mode: str, items: list[str]) -> Instance:
    return engine.start("satin_alma", {"mod": mode, "kalemler": items}, actor="emre")


def test_wcp14_one_child_per_item_known_at_run_time(patterns: Engine) -> None:
    parent = purchase(patterns, "hepsi", ["masa", "sandalye", "dolap"])
    kids = children(patterns, parent)
    assert [k.data["kalem"] for k in kids] == ["masa", "sandalye", "dolap"]
    assert [k.data["sira"] for k in kids] == [0, 1, 2]
    for kid in kids[:2]:
        patterns.fire(kid.reference, "alindi", "emre")
    assert patterns.get(parent.reference).states == ("hepsi",)  # waits for all three
    patterns.fire(kids[2].reference, "alinamadi", "emre")
    assert patterns.get(parent.reference).states == ("teslim",)


def test_wcp13_design_time_list(patterns: Engine) -> None:
    parent = purchase(patterns, "sabit", [])
    assert [k.data["kalem"] for k in children(patterns, parent)] == ["kâğıt", "toner", "zımba"]


def test_an_empty_list_moves_on_at_once(patterns: Engine) -> None:
    parent = purchase(patterns, "hepsi", [])
    assert parent.states == ("teslim",)


def test_wcp12_multiple_instances_without_synchronization(patterns: Engine) -> None:
    parent = purchase(patterns, "bagimsiz", ["masa", "sandalye"])
    assert parent.states == ("teslim",)
    assert [k.status for k in children(patterns, parent)] == ["active", "active"]


def test_wcp15_wcp36_items_added_while_running(patterns: Engine) -> None:
    parent = purchase(patterns, "hepsi", ["masa"])
    patterns.fire(parent.reference, "ekle", "emre", data={"kalemler": ["masa", "lamba"]})
    kids = children(patterns, parent)
    assert [k.data["kalem"] for k in kids] == ["masa", "lamba"]
    patterns.fire(kids[0].reference, "alindi", "emre")
    assert patterns.get(parent.reference).states == ("hepsi",)  # the added one counts
    patterns.fire(kids[1].reference, "alindi", "emre")
    assert patterns.get(parent.reference).states == ("teslim",)


def test_wcp35_cancelling_partial_join_of_instances(patterns: Engine) -> None:
    parent = purchase(patterns, "iki", ["masa", "sandalye", "dolap"])
    kids = children(patterns, parent)
    patterns.fire(kids[0].reference, "alindi", "emre")
    patterns.fire(kids[2].reference, "alindi", "emre")
    assert patterns.get(parent.reference).states == ("teslim",)
    assert patterns.get(kids[1].reference).status == "cancelled"
    assert work(patterns, kids[1].reference) == []


def test_wcp34_static_partial_join_lets_the_rest_finish(patterns: Engine) -> None:
    parent = purchase(patterns, "iki_devam", ["masa", "sandalye", "dolap"])
    kids = children(patterns, parent)
    patterns.fire(kids[0].reference, "alindi", "emre")
    patterns.fire(kids[1].reference, "alindi", "emre")
    assert patterns.get(parent.reference).states == ("teslim",)
    last = patterns.fire(kids[2].reference, "alindi", "emre")
    assert last.status == "completed"
    assert patterns.get(parent.reference).states == ("teslim",)  # no second resume


def test_children_left_running_end_with_the_case(patterns: Engine) -> None:
    """`remaining: finish` children run on after the join, but not past their case."""
    cancelled = purchase(patterns, "iki_devam", ["masa", "sandalye", "dolap"])
    completed = purchase(patterns, "iki_devam", ["masa", "sandalye", "dolap"])
    for parent in (cancelled, completed):
        for kid in children(patterns, parent)[:2]:
            patterns.fire(kid.reference, "alindi", "emre")
        assert children(patterns, parent)[2].status == "active"
    patterns.cancel(cancelled.reference, "arda", "Bütçe kesildi")
    patterns.fire(completed.reference, "teslim_alindi", "emre")
    for parent in (cancelled, completed):
        assert [k.status for k in children(patterns, parent)] == [
            "completed",
            "completed",
            "cancelled",
        ]


def test_wcp26_cancel_multiple_instance_activity(patterns: Engine) -> None:
    parent = purchase(patterns, "hepsi", ["masa", "sandalye"])
    patterns.fire(children(patterns, parent)[0].reference, "alindi", "emre")
    cancelled = patterns.fire(parent.reference, "iptal", "arda", comment="Bütçe yok")
    assert cancelled.outcome == "cancelled"
    assert [k.status for k in children(patterns, parent)] == ["completed", "cancelled"]


def test_wcp27_complete_multiple_instance_activity_early(patterns: Engine) -> None:
    parent = purchase(patterns, "hepsi", ["masa", "sandalye"])
    patterns.fire(children(patterns, parent)[0].reference, "alindi", "emre")
    enough = patterns.fire(parent.reference, "yeterli", "arda")
    assert enough.states == ("teslim",)
    assert [k.status for k in children(patterns, parent)] == ["completed", "cancelled"]


# -- signals: odeme_sinyali.yaml ----------------------------------------------------


def test_wcp24_persistent_signal_waits_for_its_step(patterns: Engine) -> None:
    case = patterns.start("odeme_sinyali", {}, actor="ayse")
    with pytest.raises(PermissionDenied):
        patterns.signal(case.reference, "odeme_alindi", "ayse")
    kept = patterns.signal(case.reference, "odeme_alindi", "fatma")
    assert kept.states == ("basvuru_inceleme",) and kept.signals == ("odeme_alindi",)
    moved = patterns.fire(case.reference, "incelendi", "ayse")
    assert moved.states == ("son_kontrol",) and moved.signals == ()
    assert work(patterns, case.reference) == ["son_kontrol"]


def test_wcp23_transient_signal_is_lost_when_nobody_waits(patterns: Engine) -> None:
    case = patterns.start("odeme_sinyali", {}, actor="ayse")
    lost = patterns.signal(case.reference, "kontrol_et", "arda")
    assert lost.signals == () and lost.states == ("basvuru_inceleme",)
    patterns.fire(case.reference, "incelendi", "ayse")
    patterns.signal(case.reference, "odeme_alindi", "fatma")
    done = patterns.signal(case.reference, "kontrol_et", "arda")
    assert done.status == "completed"


def test_unknown_signal_is_refused_with_the_declared_ones(patterns: Engine) -> None:
    case = patterns.start("odeme_sinyali", {}, actor="ayse")
    with pytest.raises(InvalidData, match=r"declares no signal 'odeme'.*kontrol_et, odeme_alindi"):
        patterns.signal(case.reference, "odeme", "fatma")


# -- critical section: kritik_bolge.yaml --------------------------------------------


def test_wcp39_critical_section_holds_from_first_to_last_step(patterns: Engine) -> None:
    case = patterns.start("kritik_bolge", {}, actor="ayse")
    ref = case.reference
    assert work(patterns, ref) == ["fen_kesif"]  # Zabıta's visit waits for the vehicle
    assert patterns.tasks("can") == []
    with pytest.raises(StateWaiting, match="waits for 'kesif_araci'"):
        patterns.fire(ref, "yerinde", "can", state="zabita_kesif")
    patterns.fire(ref, "yerinde", "ali", state="fen_kesif")
    assert work(patterns, ref) == ["fen_rapor"]  # the section goes on; still held
    patterns.fire(ref, "raporla", "ali", state="fen_rapor")
    assert work(patterns, ref) == ["zabita_kesif"]  # released to the waiting visit
    assert patterns.get(ref).locks == {"kesif_araci": "kesifler.zabita_dali.zabita_kesif"}
    patterns.fire(ref, "yerinde", "can", state="zabita_kesif")
    done = patterns.fire(ref, "raporla", "can", state="zabita_rapor")
    assert done.states == ("degerlendir",) and done.locks == {}
    assert [e for e, _ in events(patterns, ref)].count("resume") == 1


def test_a_withdrawn_holder_releases_its_mutex(patterns: Engine) -> None:
    case = patterns.start("kritik_bolge", {}, actor="ayse")
    cancelled = patterns.cancel(case.reference, "arda", "Keşif gereksiz")
    assert cancelled.locks == {} and work(patterns, case.reference) == []

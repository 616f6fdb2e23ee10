"""One command on one instance, computed without I/O: start, fire, authorize, cancel,
signals and timers, on a small flow written here."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from flowengine import runtime
from flowengine.errors import GuardRefused, InvalidData, PermissionDenied, TransitionNotAllowed
from flowengine.instance import Instance, Person
from tests.unit.helpers import NOW, compiled, person, started

DILEKCE = compiled(
    """
    flow: dilekce
    version: 1
    title: Dilekçe
    directorate: yazi_isleri
    unit: evrak
    roles: {}
    data:
      tur: {type: enum, title: Tür, values: [istek, sikayet]}
      cevap: {type: text, title: Cevap}
      tekrar: {type: integer, title: Ret sayısı, default: 0}
    signals:
      evrak_geldi: {title: Evrak geldi, roles: [masa]}
      acele: {title: Acele, roles: [mudur], transient: true}
    start: kayit
    states:
      kayit:
        type: task
        title: Kayıt
        role: masa
        sla: 1d
        on:
          kaydet: {to: siniflandir, requires: [tur]}
          geri_cek: {to: geri_cekildi, roles: [mudur], comment: required}
      siniflandir:
        type: decision
        choices:
          - {when: 'tur == "sikayet"', to: inceleme}
        otherwise: evrak_bekleniyor
      evrak_bekleniyor:
        type: task
        title: Evrak bekleniyor
        role: masa
        on:
          geldi: {to: cevap_yazimi, signal: evrak_geldi}
      inceleme:
        type: parallel
        title: İnceleme
        branches:
          fen_dali:
            start: fen_inceleme
            states:
              fen_inceleme:
                type: task
                title: Fen incelemesi
                role: fen
                on:
                  bitti: {to: fen_tamam}
              fen_tamam: {type: end, outcome: done}
          zabita_dali:
            start: zabita_inceleme
            states:
              zabita_inceleme:
                type: task
                title: Zabıta incelemesi
                role: zabita
                on:
                  bitti: {to: zabita_tamam}
              zabita_tamam: {type: end, outcome: done}
        next: cevap_yazimi
      cevap_yazimi:
        type: task
        title: Cevap yazımı
        role: masa
        timers:
          - {after: 2d, notify: [mudur]}
          - {after: 10d, to: zaman_asimi}
        on:
          yaz: {to: onay, requires: [cevap]}
          hizlandir: {to: onay, signal: acele}
      onay:
        type: approval
        title: Müdür onayı
        role: mudur
        approve: {to: kapandi, when: 'tekrar < 2'}
        reject: {to: cevap_yazimi, compute: {tekrar: 'tekrar + 1'}}
      zaman_asimi: {type: end, outcome: timed_out, title: Süre doldu}
      geri_cekildi: {type: end, outcome: withdrawn, title: Geri çekildi}
      kapandi: {type: end, outcome: resolved, title: Sonuçlandı}
    """
)

AYSE = person("ayse", "masa")
ARDA = person("arda", "mudur")
ALI = person("ali", "fen")
CAN = person("can", "zabita")


def saved(result: runtime.StepResult) -> Instance:
    """The instance as the engine stores it after the step (its row version is the last seq)."""
    return result.instance.evolve(row_version=result.history[-1].seq)


def fire(
    instance: Instance,
    event: str,
    who: Person = AYSE,
    data: dict[str, Any] | None = None,
    comment: str | None = None,
    state: str | None = None,
) -> runtime.StepResult:
    return runtime.fire(DILEKCE, instance, event, who, data or {}, comment, NOW, state=state)


def documents_arrive() -> runtime.StepResult:
    """A request registered, then its documents arriving: the step into the reply."""
    waiting = saved(fire(saved(started(DILEKCE)), "kaydet", data={"tur": "istek"}))
    return fire(waiting, "geldi")


def at_reply() -> Instance:
    """A request waiting for its reply."""
    return saved(documents_arrive())


class TestStart:
    def test_enters_the_start_state_and_opens_its_work_with_the_sla(self) -> None:
        result = started(DILEKCE)
        assert result.instance.states == ("kayit",)
        assert result.instance.status == "active"
        [work] = result.opened
        assert (work.state, work.role, work.assignee) == ("kayit", "masa", None)
        assert work.due_at == NOW + timedelta(days=1)
        [entry] = result.history
        assert (entry.seq, entry.event, entry.from_state, entry.to_state) == (
            1, "start", None, "kayit",
        )  # fmt: skip

    def test_defaults_are_filled_in_and_recorded_as_changes(self) -> None:
        result = started(DILEKCE, {"tur": "istek"})
        assert result.instance.data == {"tur": "istek", "tekrar": 0}
        assert result.history[0].changes == {"tur": [None, "istek"], "tekrar": [None, 0]}

    def test_unknown_fields_and_wrong_values_are_refused(self) -> None:
        with pytest.raises(InvalidData) as refused:
            runtime.new_instance_data(DILEKCE, {"tur": "dilek", "yok": 1})
        assert set(refused.value.problems) == {"tur", "yok"}


class TestFire:
    def test_a_decision_routes_by_the_data_without_a_human(self) -> None:
        result = fire(saved(started(DILEKCE)), "kaydet", data={"tur": "istek"})
        assert result.instance.states == ("evrak_bekleniyor",)
        assert [(h.event, h.from_state, h.to_state) for h in result.history] == [
            ("kaydet", "kayit", "siniflandir"),
            ("decision", "siniflandir", "evrak_bekleniyor"),
        ]
        assert list(result.closed) == ["kayit"]
        assert [w.state for w in result.opened] == ["evrak_bekleniyor"]
        assert [h.seq for h in result.history] == [2, 3]

    def test_a_required_field_left_empty_is_refused_and_nothing_moves(self) -> None:
        instance = saved(started(DILEKCE))
        with pytest.raises(InvalidData) as refused:
            fire(instance, "kaydet")
        assert "tur" in refused.value.problems
        assert instance.states == ("kayit",)

    def test_an_event_of_another_state_is_not_possible_and_the_possible_ones_are_named(
        self,
    ) -> None:
        with pytest.raises(TransitionNotAllowed) as refused:
            fire(saved(started(DILEKCE)), "yaz")
        assert refused.value.allowed == ["geri_cek", "kaydet"]

    def test_parallel_branches_open_together_and_join_when_both_end(self) -> None:
        split = fire(saved(started(DILEKCE)), "kaydet", data={"tur": "sikayet"})
        assert set(split.instance.states) == {
            "inceleme.fen_dali.fen_inceleme",
            "inceleme.zabita_dali.zabita_inceleme",
        }
        assert sorted(w.role for w in split.opened) == ["fen", "zabita"]
        one = fire(saved(split), "bitti", ALI, state="fen_inceleme")
        assert set(one.instance.states) == {
            "inceleme.fen_dali.fen_tamam",
            "inceleme.zabita_dali.zabita_inceleme",
        }
        both = fire(saved(one), "bitti", CAN, state="zabita_inceleme")
        assert both.instance.states == ("cevap_yazimi",)
        assert ("join", "inceleme", "cevap_yazimi") in [
            (h.event, h.from_state, h.to_state) for h in both.history
        ]
        assert sorted((t.state, t.index, t.after) for t in both.timers) == [
            ("cevap_yazimi", 0, "2d"),
            ("cevap_yazimi", 1, "10d"),
        ]

    def test_a_rejection_needs_a_reason_and_computes_the_counter(self) -> None:
        approval = saved(fire(at_reply(), "yaz", data={"cevap": "Yapıldı"}))
        assert approval.states == ("onay",)
        with pytest.raises(InvalidData, match="needs a comment"):
            fire(approval, "reject", ARDA)
        back = fire(approval, "reject", ARDA, comment="Eksik")
        assert back.instance.states == ("cevap_yazimi",)
        assert back.instance.data["tekrar"] == 1
        assert back.history[0].changes == {"tekrar": [0, 1]}
        assert back.history[0].comment == "Eksik"

    def test_a_false_guard_refuses_the_event(self) -> None:
        approval = saved(fire(at_reply(), "yaz", data={"cevap": "Yapıldı"}))
        for _ in range(2):
            again = saved(fire(approval, "reject", ARDA, comment="Eksik"))
            approval = saved(fire(again, "yaz", data={"cevap": "Yeniden"}))
        with pytest.raises(GuardRefused, match="tekrar < 2"):
            fire(approval, "approve", ARDA)

    def test_approval_reaches_the_end_and_completes_the_instance(self) -> None:
        approval = saved(fire(at_reply(), "yaz", data={"cevap": "Yapıldı"}))
        done = fire(approval, "approve", ARDA)
        assert (done.instance.status, done.instance.outcome) == ("completed", "resolved")
        assert done.instance.states == ("kapandi",)
        assert list(done.closed) == ["onay"]


class TestAuthorize:
    def test_the_state_role_is_needed(self) -> None:
        with pytest.raises(PermissionDenied, match="needs the role masa"):
            fire(saved(started(DILEKCE)), "kaydet", ALI, data={"tur": "istek"})

    def test_an_event_naming_roles_needs_one_of_them_instead(self) -> None:
        instance = saved(started(DILEKCE))
        with pytest.raises(PermissionDenied, match="needs the role mudur"):
            fire(instance, "geri_cek", AYSE, comment="Vazgeçildi")
        done = fire(instance, "geri_cek", ARDA, comment="Vazgeçildi")
        assert (done.instance.status, done.instance.outcome) == ("completed", "withdrawn")

    def test_a_required_comment_must_not_be_blank(self) -> None:
        with pytest.raises(InvalidData, match="needs a comment"):
            fire(saved(started(DILEKCE)), "geri_cek", ARDA, comment="  ")

    def test_a_scoped_role_counts_only_for_its_directorate(self) -> None:
        instance = saved(started(DILEKCE))
        event = DILEKCE.events("kayit")["kaydet"]
        scoped = dataclasses.replace(started(DILEKCE).opened[0], assignee="fen_isleri")
        for holder in (person("x", "masa:fen_isleri"), person("y", "masa")):
            runtime.authorize(DILEKCE, instance, "kayit", event, holder, {}, None)
        assert (
            runtime.authorize(
                DILEKCE, instance, "kayit", event, person("x", "masa:fen_isleri"), {}, scoped
            )
            is None
        )
        with pytest.raises(PermissionDenied, match="masa:fen_isleri"):
            runtime.authorize(
                DILEKCE, instance, "kayit", event, person("z", "masa:zabita"), {}, scoped
            )

    def test_allowed_events_are_those_the_person_may_fire_now(self) -> None:
        instance = saved(started(DILEKCE))
        assert runtime.allowed_events(DILEKCE, instance, AYSE, NOW) == [("kayit", "kaydet")]
        assert runtime.allowed_events(DILEKCE, instance, ARDA, NOW) == [("kayit", "geri_cek")]
        assert runtime.allowed_events(DILEKCE, instance, ALI, NOW) == []
        done = saved(fire(instance, "geri_cek", ARDA, comment="Vazgeçildi"))
        assert runtime.allowed_events(DILEKCE, done, ARDA, NOW) == []


class TestCancel:
    def test_withdraws_every_active_state_and_closes_its_work(self) -> None:
        split = saved(fire(saved(started(DILEKCE)), "kaydet", data={"tur": "sikayet"}))
        result = runtime.cancel(DILEKCE, split, "arda", "Mükerrer", NOW)
        assert (result.instance.status, result.instance.outcome) == ("cancelled", "cancelled")
        assert result.instance.states == ()
        assert set(result.closed) == set(split.states)
        assert [h.event for h in result.history] == ["cancel", "cancel", "cancel_case"]
        assert result.history[-1].comment == "Mükerrer"

    def test_an_ended_instance_is_left_as_it_is(self) -> None:
        instance = saved(started(DILEKCE))
        done = saved(fire(instance, "geri_cek", ARDA, comment="Vazgeçildi"))
        result = runtime.cancel(DILEKCE, done, "arda", "Yine", NOW)
        assert (result.instance.status, result.instance.outcome) == ("completed", "withdrawn")
        assert result.instance.states == done.states
        assert list(result.history) == [] and list(result.closed) == []


class TestSignal:
    def test_a_waiting_state_moves_on_at_once(self) -> None:
        waiting = saved(fire(saved(started(DILEKCE)), "kaydet", data={"tur": "istek"}))
        result = runtime.signal(DILEKCE, waiting, "evrak_geldi", AYSE, NOW)
        assert result.instance.states == ("cevap_yazimi",)
        assert result.instance.signals == ()

    def test_a_persistent_signal_is_kept_until_its_state_is_reached(self) -> None:
        instance = saved(started(DILEKCE))
        kept = runtime.signal(DILEKCE, instance, "evrak_geldi", AYSE, NOW)
        assert kept.instance.states == ("kayit",)
        assert kept.instance.signals == ("evrak_geldi",)
        assert kept.history[-1].comment == "evrak_geldi: saklandı"
        moved = fire(saved(kept), "kaydet", data={"tur": "istek"})
        assert moved.instance.states == ("cevap_yazimi",)
        assert moved.instance.signals == ()

    def test_a_transient_signal_nobody_waits_for_is_lost(self) -> None:
        instance = saved(started(DILEKCE))
        result = runtime.signal(DILEKCE, instance, "acele", ARDA, NOW)
        assert result.instance.signals == ()
        assert result.instance.states == ("kayit",)
        assert "düştü" in (result.history[-1].comment or "")

    def test_only_its_roles_may_send_it_and_only_declared_ones_exist(self) -> None:
        instance = saved(started(DILEKCE))
        with pytest.raises(PermissionDenied, match="acele"):
            runtime.signal(DILEKCE, instance, "acele", AYSE, NOW)
        with pytest.raises(InvalidData, match="declares no signal 'odeme'"):
            runtime.signal(DILEKCE, instance, "odeme", AYSE, NOW)


class TestTimers:
    def test_entering_a_state_schedules_its_timers_from_now(self) -> None:
        timers = documents_arrive().timers
        assert [(t.state, t.index, t.after) for t in timers] == [
            ("cevap_yazimi", 0, "2d"),
            ("cevap_yazimi", 1, "10d"),
        ]
        assert [t.due_at - NOW for t in timers] == [timedelta(days=2), timedelta(days=10)]

    def test_a_notifying_timer_leaves_the_state_and_tells_the_roles(self) -> None:
        entered = documents_arrive()
        instance, timer = saved(entered), entered.timers[0]
        result = runtime.fire_timer(DILEKCE, instance, timer, NOW + timedelta(days=2))
        assert result.instance.states == ("cevap_yazimi",)
        [effect] = result.effects
        assert effect.kind == "notify" and effect.payload["roles"] == ["mudur"]
        assert "2d içinde tamamlanmadı" in effect.payload["message"]

    def test_an_interrupting_timer_moves_to_its_target(self) -> None:
        entered = documents_arrive()
        instance, timer = saved(entered), entered.timers[1]
        result = runtime.fire_timer(DILEKCE, instance, timer, NOW + timedelta(days=10))
        assert (result.instance.status, result.instance.outcome) == ("completed", "timed_out")
        assert "cevap_yazimi" in result.closed
        assert result.history[0].comment == "10d doldu"

    def test_leaving_the_state_ends_its_timers(self) -> None:
        result = fire(at_reply(), "yaz", data={"cevap": "Yapıldı"})
        assert "cevap_yazimi" in result.closed  # its work and its timers
        assert [t.state for t in result.timers] == []

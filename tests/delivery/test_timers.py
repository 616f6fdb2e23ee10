"""Durable timers: written with the state, cancelled with it, fired once when due."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from flowengine.config import DeliverySettings
from flowengine.engine import Engine
from flowengine.worker import Worker
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # a Monday, 10:00 in Istanbul
TEST_FLOWS = Path(__file__).parent / "flows"


@pytest.fixture
def travel() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clocked(db_url: str, travel: time_machine.Coordinates) -> Iterator[Engine]:
    """An engine that trusts Python's (travelling) clock for due-ness too."""
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: datetime.now(UTC))
    add_people(engine)
    yield engine
    engine.close()


def worker_for(engine: Engine) -> Worker:
    return Worker(engine, settings=DeliverySettings(base_delay=0.0), worker_id="test")


def timer_events(engine: Engine, ref: str) -> list[tuple[str | None, str | None]]:
    return [(h.from_state, h.comment) for h in engine.history(ref) if h.event == "timer"]


def test_unanswered_referral_notifies_the_desk_once_after_seven_days(
    clocked: Engine, travel: time_machine.Coordinates
) -> None:
    """Day 7: one notice to bizim_masa; more ticks the same day fire nothing more."""
    case = clocked.start("bizim_masa", LAMBA, actor="ayse")
    clocked.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    worker = worker_for(clocked)
    travel.shift(timedelta(days=6, hours=23))
    assert worker.tick().timers_fired == 0, "a timer fired early"
    travel.shift(timedelta(hours=2))
    assert worker.tick().timers_fired == 1
    assert worker.tick().timers_fired == 0
    assert timer_events(clocked, case.reference) == [("mudurluk_incelemesi", "7d doldu")]
    assert clocked.get(case.reference).states == ("mudurluk_incelemesi",)
    notices = clocked.notifications("ayse")
    assert [n.reference for n in notices if "7d içinde" in n.message] == [case.reference]


def test_leaving_the_state_cancels_its_timers(
    clocked: Engine, travel: time_machine.Coordinates
) -> None:
    """Answered on day 3: nothing fires on day 7 or later."""
    case = clocked.start("bizim_masa", LAMBA, actor="ayse")
    clocked.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    travel.shift(timedelta(days=3))
    clocked.fire(case.reference, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Tamam."})
    travel.shift(timedelta(days=30))
    assert worker_for(clocked).tick().timers_fired == 0
    assert timer_events(clocked, case.reference) == []
    assert clocked.timers(status="pending") == []


def test_an_interrupting_timer_moves_the_instance(
    db_url: str, travel: time_machine.Coordinates
) -> None:
    """`to:` timers move the case like an event, by the system, and open the new work."""
    engine = Engine.open(db_url, TEST_FLOWS, upgrade=True, clock=lambda: datetime.now(UTC))
    engine.add_person("masa1", "Masa", ["masa"])
    case = engine.start("duyuru", {"hedef_url": "http://127.0.0.1:9/x", "metin": "m"}, "masa1")
    worker = worker_for(engine)
    travel.shift(timedelta(days=1, minutes=1))
    assert worker.fire_timers() == 1  # the escalation notice; the case stays
    travel.shift(timedelta(days=2))
    assert worker.fire_timers() == 1
    moved = engine.get(case.reference)
    assert moved.states == ("hatirlatma",)
    assert [t.state for t in engine.tasks("masa1")] == ["hatirlatma"]
    assert engine.history(case.reference)[-1].actor == "system"
    engine.close()


def test_timers_survive_a_restart(db_url: str, travel: time_machine.Coordinates) -> None:
    """A timer written by one engine is fired by a fresh one (durable, not in memory)."""
    first = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: datetime.now(UTC))
    add_people(first)
    case = first.start("bizim_masa", LAMBA, actor="ayse")
    first.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    first.close()
    travel.shift(timedelta(days=8))
    second = Engine.open(db_url, FLOWS, clock=lambda: datetime.now(UTC))
    assert worker_for(second).fire_timers() == 1
    assert len(timer_events(second, case.reference)) == 1
    second.close()


def test_an_effect_leased_by_a_dead_worker_is_delivered_after_the_lease(
    clocked: Engine, travel: time_machine.Coordinates
) -> None:
    """A worker that claimed an effect and died: another delivers it once the lease ends."""
    from flowengine.instance import OutboxItem

    delivered: list[int] = []

    class Recorder:
        def deliver(self, item: OutboxItem) -> None:
            delivered.append(item.id)

    case = clocked.start("bizim_masa", LAMBA, actor="ayse")
    clocked.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    with clocked.store.unit() as unit:  # worker "a" leases everything, then dies
        now = clocked.due_clock(unit)
        claimed = unit.claim_outbox(now, "a", now + timedelta(seconds=60), 10)
    assert claimed
    survivor = Worker(clocked, {"notify": Recorder()}, DeliverySettings(lease=60), "b")
    assert survivor.deliver().delivered == 0, "a live lease was taken over"
    travel.shift(timedelta(seconds=61))
    assert survivor.deliver().delivered == len(claimed)
    assert sorted(delivered) == sorted(i.id for i in claimed)
    assert {i.status for i in clocked.outbox(case.reference)} == {"delivered"}

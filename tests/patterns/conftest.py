"""An engine over examples/patterns, with one person per role, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowengine import audit
from flowengine.engine import Engine

PATTERNS = Path(__file__).resolve().parents[2] / "examples" / "patterns"

PEOPLE = {
    "ayse": ("Ayşe Yılmaz", ["masa"]),
    "arda": ("Arda Bayri", ["mudur"]),
    "ali": ("Ali Şahin", ["fen"]),
    "can": ("Can Öztürk", ["zabita"]),
    "deniz": ("Deniz Çelik", ["park"]),
    "emre": ("Emre Güneş", ["satin_alma"]),
    "fatma": ("Fatma İnce", ["muhasebe"]),
}


class Clock:
    """A clock the test moves forward (timers are due by it)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, no holiday

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def patterns(db_url: str, clock: Clock) -> Iterator[Engine]:
    """The engine; afterwards, every instance's history must replay to its states."""
    engine = Engine.open(db_url, PATTERNS, upgrade=True, clock=clock)
    for person, (name, roles) in PEOPLE.items():
        engine.add_person(person, name, roles)
    yield engine
    with engine.store.unit(writes=False) as unit:
        for instance in unit.list_instances(limit=10_000):
            replayed = audit.replay(unit.history(instance.id))
            assert sorted(replayed.states) == sorted(instance.states), instance.reference
    engine.close()

"""What every part of the engine shares: the store, the clock, the time zone and
the organisation. Built once by :class:`~flowengine.engine.Engine`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flowengine import schema
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.storage.ports import Store, Timers


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    store: Store
    organization: schema.OrganizationDoc | None
    clock: Callable[[], datetime] = _utc_now
    # With no clock given, due timers are judged by the database's clock;
    # a given clock (tests, simulations) is trusted for that too.
    fixed_clock: bool = False
    timezone: str = DEFAULT_TIMEZONE

    def today(self) -> date:
        """Today in the municipality's time zone (delegations are by local day)."""
        return self.clock().astimezone(ZoneInfo(self.timezone)).date()

    def due_clock(self, unit: Timers) -> datetime:
        """'Now' for due-ness: the database's clock unless a clock was given."""
        return self.clock() if self.fixed_clock else unit.database_now()

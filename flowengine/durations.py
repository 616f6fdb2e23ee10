"""Durations of the flow language (``4h``, ``3d``, ``2w``, ``10wd``, ``P3D``, ``2y``).

Owns parsing a duration and adding one to an instant. Working days (``wd``)
skip Saturdays, Sundays and Turkish public holidays (from the ``holidays``
package, which knows the moving religious holidays) in the municipality's time
zone. Imports only ``errors``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from flowengine.errors import FlowEngineError

DEFAULT_TIMEZONE = "Europe/Istanbul"

Unit = Literal["minutes", "hours", "days", "weeks", "working_days", "months", "years"]

_SHORT = re.compile(r"^(?P<n>[0-9]+)\s*(?P<u>wd|mo|m|h|d|w|y)$")
_ISO = re.compile(
    r"^P(?!$)(?:(?P<y>[0-9]+)Y)?(?:(?P<mo>[0-9]+)M)?(?:(?P<w>[0-9]+)W)?(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<h>[0-9]+)H)?(?:(?P<mi>[0-9]+)M)?(?:(?P<s>[0-9]+)S)?)?$"
)
_UNITS: dict[str, Unit] = {
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
    "wd": "working_days",
    "mo": "months",
    "y": "years",
}


class DurationSyntaxError(FlowEngineError, ValueError):
    """Not a duration flowengine reads; the message lists the forms it accepts.

    Still a ValueError, as it was before it joined the tree, for callers that
    catch that.
    """


@dataclass(frozen=True)
class Duration:
    """A length of time; calendar parts are kept apart from working days."""

    delta: timedelta = timedelta()
    working_days: int = 0
    months: int = 0
    text: str = ""

    def add_to(self, start: datetime, timezone: str = DEFAULT_TIMEZONE) -> datetime:
        """Return ``start`` + this duration (``start`` must be timezone-aware)."""
        zone = ZoneInfo(timezone)
        local = start.astimezone(zone)
        if self.months:
            month_index = local.month - 1 + self.months
            year, month = local.year + month_index // 12, month_index % 12 + 1
            day = min(local.day, _days_in_month(year, month))
            local = local.replace(year=year, month=month, day=day)
        local = local + self.delta
        if self.working_days:
            local = add_working_days(local, self.working_days)
        return local.astimezone(start.tzinfo)


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


@lru_cache(maxsize=64)
def _turkish_holidays(year: int) -> frozenset[date]:
    import holidays  # imported here: only working-day arithmetic needs it

    return frozenset(holidays.country_holidays("TR", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _turkish_holidays(day.year)


def add_working_days(start: datetime, count: int) -> datetime:
    """Move ``count`` working days forward, keeping the time of day."""
    current = start
    remaining = count
    while remaining > 0:
        current = current + timedelta(days=1)
        if is_working_day(current.date()):
            remaining -= 1
    return current


def parse_duration(text: str) -> Duration:
    """Parse a duration or raise :class:`DurationSyntaxError` saying what is accepted."""
    raw = text.strip()
    short = _SHORT.match(raw)
    if short:
        n, unit = int(short["n"]), _UNITS[short["u"]]
        if n == 0:
            raise DurationSyntaxError(f"duration '{text}' is zero; give a positive length")
        if unit == "working_days":
            return Duration(working_days=n, text=raw)
        if unit == "months":
            return Duration(months=n, text=raw)
        if unit == "years":
            return Duration(months=12 * n, text=raw)
        return Duration(delta=timedelta(**{unit: n}), text=raw)
    iso = _ISO.match(raw)
    if iso:
        parts = {k: int(v) if v else 0 for k, v in iso.groupdict().items()}
        delta = timedelta(
            weeks=parts["w"],
            days=parts["d"],
            hours=parts["h"],
            minutes=parts["mi"],
            seconds=parts["s"],
        )
        months = parts["y"] * 12 + parts["mo"]
        if not delta and not months:
            raise DurationSyntaxError(f"duration '{text}' is zero; give a positive length")
        return Duration(delta=delta, months=months, text=raw)
    raise DurationSyntaxError(
        f"'{text}' is not a duration; write e.g. 30m, 4h, 3d, 2w, 10wd (working days), "
        "6mo, 2y or ISO 8601 P3D"
    )

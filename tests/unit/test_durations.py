"""Durations of the flow language and working-day arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowengine.durations import DurationSyntaxError, parse_duration


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("P3D", timedelta(days=3)),
        ("PT4H30M", timedelta(hours=4, minutes=30)),
    ],
)
def test_calendar_durations(text: str, delta: timedelta) -> None:
    """Short and ISO 8601 forms give the same lengths."""
    assert parse_duration(text).delta == delta


def test_years_and_months_are_calendar_months() -> None:
    """`2y` is 24 months and lands on the same day two years later."""
    start = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    assert parse_duration("2y").add_to(start).date().isoformat() == "2028-03-15"


@pytest.mark.parametrize("text", ["3 days", "0d", "P", "10x", "", "-3d"])
def test_bad_durations_say_what_is_accepted(text: str) -> None:
    """A bad duration is refused with the accepted forms or the reason."""
    with pytest.raises(DurationSyntaxError) as caught:
        parse_duration(text)
    assert "duration" in str(caught.value)


def test_working_days_skip_weekends() -> None:
    """10wd from a Monday with no holidays lands on the Monday two weeks later."""
    start = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # Monday, 10:00 in Istanbul
    assert parse_duration("10wd").add_to(start).date().isoformat() == "2026-11-16"


def test_working_days_skip_republic_day() -> None:
    """29 October (Cumhuriyet Bayramı) is not a working day."""
    start = datetime(2026, 10, 28, 7, 0, tzinfo=UTC)  # Wednesday
    assert parse_duration("1wd").add_to(start).date().isoformat() == "2026-10-30"


def test_working_days_skip_ramazan_bayrami() -> None:
    """Ramazan Bayramı 2026 (20–22 March, a moving holiday) is skipped."""
    start = datetime(2026, 3, 19, 7, 0, tzinfo=UTC)  # Thursday before the holiday
    assert parse_duration("1wd").add_to(start).date().isoformat() == "2026-03-23"

"""Clock arithmetic without a database: a final reply given while the clock stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowengine import clocks, schema

DOC = schema.FlowDoc.model_validate(
    {
        "flow": "f", "version": 1, "title": "F", "directorate": "d", "unit": "u",
        "roles": {}, "start": "s", "states": {"s": {"type": "end", "outcome": "x"}},
        "legal_basis": "dayanak",
        "legal_bases": {"dilekce_3071": {"title": "3071", "limit": "30d"}},
    }
)  # fmt: skip


def test_a_reply_while_paused_is_judged_against_the_moved_deadline() -> None:
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    clock = clocks.start(DOC, {"dayanak": "dilekce_3071"}, start)
    assert clock is not None
    clock, _ = clocks.apply(DOC, clock, "pause", start + timedelta(days=18), "R")
    assert clocks.deadline(clock) is None  # no deadline while it stands
    clock, note = clocks.apply(DOC, clock, "reply", start + timedelta(days=49), "R")
    assert note == "son cevap verildi, yasal sürede"  # 18 days used, 31 stood
    assert clock["paused_at"] is None and clock["paused_days"] == 31

"""The time-and-effects commands as real processes: tick, timers, outbox, notifications."""

from __future__ import annotations

import json

from tests.cli.helpers import LAMBA, cli, ok


def test_tick_delivers_notices_and_outbox_lists_them(desk: str) -> None:
    """A referral's notice is delivered by `tick` and shown to the directorate."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    ok(desk, "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri")
    timers = json.loads(ok(desk, "timers", "--json"))
    assert [t["after"] for t in timers] == ["7d", "10d"]
    assert json.loads(ok(desk, "timers", "--due", "--json")) == []
    assert json.loads(ok(desk, "tick", "--json"))["delivered"] >= 1
    items = json.loads(ok(desk, "outbox", "--status", "delivered", "--json"))
    assert {i["kind"] for i in items} == {"notify"}
    notices = json.loads(ok(desk, "notifications", "--as", "mehmet", "--json"))
    assert [n["reference"] for n in notices] == [ref]


def test_outbox_rejects_an_unknown_status_and_a_missing_item(desk: str) -> None:
    """Bad options are one clear line with exit 1."""
    result = cli(desk, "outbox", "--status", "lost")
    assert result.returncode == 1 and "--status must be one of" in result.stderr
    result = cli(desk, "outbox", "retry", "999")
    assert result.returncode == 1 and "no outbox item 999" in result.stderr

"""`kill -9` at each point of a command: acknowledged work survives, nothing is half-done."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import LAMBA, ok
from tests.conftest import FLOWS, ROOT

pytestmark = pytest.mark.acceptance  # each test kills a real process


def crashing(
    db_url: str, point: str | None, *args: str, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "FLOWENGINE_CRASH_AT": point or ""}
    return subprocess.run(
        [sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(FLOWS), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        check=False,
    )


def snapshot(db_url: str, ref: str) -> tuple[object, ...]:
    status = json.loads(ok(db_url, "status", ref, "--as", "ayse", "--json"))
    history = json.loads(ok(db_url, "history", ref, "--as", "ayse", "--json"))
    tasks = json.loads(ok(db_url, "tasks", "--as", "mehmet", "--json"))
    return status["states"], status["row_version"], len(history), len(tasks)


def assert_sound(db_url: str) -> None:
    """The chain verifies, history replays to the stored state, SQLite's file is intact."""
    ok(db_url, "audit", "verify", "--all")
    ok(db_url, "audit", "replay", "--all")
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("point", ["after_instance_write", "after_history_insert"])
def test_a_crash_inside_the_transaction_leaves_no_trace(desk: str, point: str) -> None:
    """Killed before commit: the instance is exactly as before the command."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    before = snapshot(desk, ref)
    result = crashing(
        desk, point, "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri"
    )
    assert result.returncode == -signal.SIGKILL and result.stdout == ""
    assert snapshot(desk, ref) == before
    assert_sound(desk)
    ok(desk, "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri")


def test_a_crash_after_commit_keeps_the_whole_command(desk: str) -> None:
    """Killed after commit (no answer printed): every part of the step is there."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    result = crashing(
        desk,
        "after_commit",
        "fire",
        ref,
        "havale_et",
        "--as",
        "ayse",
        "--set",
        "mudurluk=fen_isleri",
    )
    assert result.returncode == -signal.SIGKILL and result.stdout == ""
    states, row_version, history, tasks = snapshot(desk, ref)
    assert (states, row_version, history, tasks) == (["mudurluk_incelemesi"], 2, 2, 1)
    assert_sound(desk)


def test_a_crash_during_delivery_redelivers_after_the_lease(desk: str, tmp_path: Path) -> None:
    """The worker dies after handing a notice over; after its lease another worker
    delivers it again, and the notice is still there once (the key makes it idempotent)."""
    (tmp_path / "flowengine.toml").write_text("[delivery]\nlease = 0.5\n", encoding="utf-8")
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    ok(desk, "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri")
    result = crashing(desk, "during_delivery", "tick", cwd=tmp_path)
    assert result.returncode == -signal.SIGKILL
    [item] = json.loads(ok(desk, "outbox", "--json"))
    assert item["status"] == "pending" and item["delivered_at"] is None
    time.sleep(0.6)
    again = crashing(desk, None, "tick", "--json", cwd=tmp_path)
    assert json.loads(again.stdout)["delivered"] == 1, again.stderr
    [item] = json.loads(ok(desk, "outbox", "--json"))
    assert item["status"] == "delivered"
    notices = json.loads(ok(desk, "notifications", "--as", "mehmet", "--json"))
    assert len(notices) == 1, "delivered twice, noticed twice"
    assert_sound(desk)

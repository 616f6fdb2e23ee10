"""Two to eight processes firing on the same instances: no update is lost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flowengine import trust
from flowengine.engine import Engine
from tests.cli.helpers import LAMBA, ok
from tests.conftest import FLOWS, ROOT

pytestmark = pytest.mark.acceptance  # real processes racing

# Each process tries to move every case one step; only one may win per case and step.
SCRIPT = """
import sys
from flowengine.engine import Engine
from flowengine.errors import FlowEngineError
engine = Engine.open(sys.argv[1], sys.argv[2])
won = 0
for ref in sys.argv[3:]:
    for event, data in (("havale_et", {"mudurluk": "fen_isleri"}), ("iade_et", None)):
        try:
            if event == "iade_et":
                engine.fire(ref, event, "mehmet", comment="yanlış havale")
            else:
                engine.fire(ref, event, "ayse", data=data)
            won += 1
        except FlowEngineError:
            pass
print(won)
"""


@pytest.mark.parametrize("processes", [2, 8])
def test_racing_processes_lose_no_update(desk: str, processes: int) -> None:
    """Row version equals the history length, the history replays, the chain verifies."""
    refs = [ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA) for _ in range(5)]
    runners = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, desk, str(FLOWS), *refs],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    wins = 0
    for runner in runners:
        out, err = runner.communicate(timeout=300)
        assert runner.returncode == 0, err
        wins += int(out.strip())
    engine = Engine.open(desk, FLOWS)
    try:
        total_moves = 0
        for ref in refs:
            history = engine.history(ref)
            assert engine.get(ref).row_version == len(history)
            assert [h.seq for h in history] == list(range(1, len(history) + 1))
            total_moves += len(history) - 1
        assert wins == total_moves, "a process believed it won a step not in the history"
        assert {f.problem for f in trust.verify(engine)} == {None}
        assert {f.problem for f in trust.replay(engine)} == {None}
    finally:
        engine.close()


def test_one_idempotency_key_sent_at_once_starts_one_case(desk: str) -> None:
    """Four processes start with the same key at the same moment: one case, one answer."""
    command = [
        sys.executable, "-m", "flowengine", "--db", desk, "--flows", str(FLOWS),
        "start", "bizim_masa", "--as", "ayse", *LAMBA, "--idempotency-key", "wa-2026-11-26-001",
    ]  # fmt: skip
    runners = [
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    answers = []
    for runner in runners:
        out, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
        answers.append(out.strip())
    assert len(set(answers)) == 1
    assert len(json.loads(ok(desk, "instances", "--json"))) == 1
    again = ok(desk, *command[command.index("start") :])
    assert again == answers[0], "the same key in sequence returned another case"

"""The demo: all four seed flows end to end through the real CLI, on every backend."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.acceptance
def test_demo_runs_every_flow_to_its_end(db_url: str) -> None:
    """`python -m demo` on an empty database: every case reaches the outcome it scripts.

    Its commands run through the CLI's entry point inside the demo's process
    (the same code, exit codes and output as `python -m flowengine`, which
    tests/cli/test_entry_point.py compares); `make demo` starts one per command.
    """
    result = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "FLOWENGINE_DATABASE_URL": db_url, "FLOWENGINE_DEMO_IN_PROCESS": "1"},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    for outcome in ("(resolved)", "(redirected)", "(published)", "(recorded)"):
        assert outcome in result.stdout, outcome
    assert "Demo bitti" in result.stdout

"""The demo: all four seed flows end to end through the real CLI, on every backend."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
        env={
            **os.environ,
            "FLOWENGINE_DEMO_DATABASE_URL": db_url,
            "FLOWENGINE_DEMO_IN_PROCESS": "1",
        },
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    for outcome in ("(resolved)", "(redirected)", "(published)", "(recorded)"):
        assert outcome in result.stdout, outcome
    assert "Demo bitti" in result.stdout


@pytest.mark.slow
@pytest.mark.acceptance
def test_the_demo_keeps_to_its_own_database(tmp_path: Path) -> None:
    """`make demo` in a folder with an operator's ./flowengine.db and a
    flowengine.toml naming another database touches neither: it starts from,
    and leaves its public demo password in, ./demo.db alone."""
    shutil.copytree(ROOT / "demo", tmp_path / "demo")
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    (tmp_path / "flowengine.db").write_bytes(b"the operator's own data")
    (tmp_path / "flowengine.toml").write_text(
        '[database]\nurl = "sqlite:///configured.db"\n', encoding="utf-8"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLOWENGINE_")}
    result = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**environment, "FLOWENGINE_DEMO_IN_PROCESS": "1"},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "flowengine.db").read_bytes() == b"the operator's own data"
    assert not (tmp_path / "configured.db").exists()
    assert (tmp_path / "demo.db").stat().st_size > 0

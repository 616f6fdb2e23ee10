"""The real `python -m flowengine` process, which the in-process runner stands in for.

Most CLI tests run the console entry point inside the test process
(tests/cli/helpers.py). These start the interpreter, so that what an operator
gets stays pinned: exit codes 0, 1 (one error line) and 2 (usage), the same
streams as in-process, and a `--help` that loads none of the heavy libraries.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import cli, cli_process
from tests.conftest import ROOT

pytestmark = pytest.mark.acceptance

COMMANDS = [
    (0, ("people", "add", "ayse", "--name", "Ayşe Yılmaz", "--role", "bizim_masa")),
    (1, ("status", "BM-2026-999999", "--as", "ayse")),
    (2, ("fire", "BM-2026-000001")),
]


def test_the_in_process_runner_answers_as_the_process_does(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Same exit code, stdout and stderr, on two copies of one database."""
    process_db, runner_db = tmp_path / "process.db", tmp_path / "runner.db"
    for path in (process_db, runner_db):
        shutil.copyfile(sqlite_template, path)
    for code, args in COMMANDS:
        real = cli_process(f"sqlite:///{process_db}", *args)
        here = cli(f"sqlite:///{runner_db}", *args)
        assert real.returncode == code, real.stderr
        assert (here.returncode, here.stdout) == (real.returncode, real.stdout), args
        # click names the program by how it was started: `python -m flowengine` there
        assert here.stderr == real.stderr.replace("python -m flowengine", "flowengine"), args
    assert real.stderr.endswith("Error: Missing argument 'event'.\n")


def test_help_starts_without_the_heavy_libraries() -> None:
    """`--help` answers at once: it imports no database, web, YAML or table library."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flowengine", "--help"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0 and "Usage:" in result.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "flowengine" in imported and "typer" in imported  # the measurement works
    heavy = {"sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "pydantic", "yaml", "rich"}
    assert imported & heavy == set()

"""Running the CLI for the tests: in this process by default, as a real process on request.

``cli()`` runs the real entry point (``flowengine.cli.main``, the one that turns
every error into one line and an exit code) inside the test process, through
click's ``CliRunner`` isolation: a Python start costs about a second, a command
run in-process a few milliseconds. ``cli_process()`` starts ``python -m
flowengine`` for the acceptance tests that need a real process (exit codes of
the interpreter, signals, racing processes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import FLOWS, ROOT

LAMBA = [
    "--set", "kanal=whatsapp", "--set", "basvuru_turu=sikayet",
    "--set", "ad_soyad=Zeynep Kaya", "--set", "konu=Sokak lambası yanmıyor",
    "--set", "metin=Sakarya Mahallesi'nde lamba yanmıyor",
]  # fmt: skip

# Rich sizes its tables by COLUMNS; the processes ran with 200, so do the runs here.
ENVIRONMENT = {"COLUMNS": "200"}


def cli(
    db_url: str, *args: str, flows: Path = FLOWS, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``flowengine --db URL --flows DIR ARGS…`` in this process; its exit code and streams."""
    argv = ["--db", db_url, "--flows", str(flows), *args]
    return run_main(argv, input=input)


def run_main(
    argv: list[str], *, input: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """The console entry point on ``argv``, as ``python -m flowengine`` runs it, in-process."""
    from flowengine.cli import main

    runner = CliRunner()
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    code: int
    # The commands read flowengine.toml from the working folder, as the processes did.
    os.chdir(cwd)
    try:
        with runner.isolation(input=input, env=ENVIRONMENT) as (stdout, stderr, _):
            sys.argv = ["flowengine", *argv]
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_code(exit_.code)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            out = stdout.getvalue().decode("utf-8")
            err = stderr.getvalue().decode("utf-8", errors="backslashreplace")
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(["flowengine", *argv], code, out, err)


def exit_code(code: object) -> int:
    """What the interpreter makes of ``sys.exit(code)``: None is 0, a message is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # the interpreter prints a non-integer code to stderr
    return 1


def ok(db_url: str, *args: str, flows: Path = FLOWS) -> str:
    result = cli(db_url, *args, flows=flows)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def cli_process(
    db_url: str, *args: str, flows: Path = FLOWS, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The same command as a real ``python -m flowengine`` process."""
    return subprocess.run(
        [sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(flows), *args],
        capture_output=True,
        text=True,
        input=input,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )

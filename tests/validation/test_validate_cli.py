"""`flowengine validate` as a flow author or CI would run it (one test starts a real process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import run_main

REPO = Path(__file__).parents[2]
FLOWS = REPO / "flows"
BROKEN = Path(__file__).parent / "broken"
ISSUE_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): .+$")


def validate(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The command in this process (the same entry point, its exit code and streams)."""
    return run_main(["validate", *map(str, args)], cwd=cwd)


def validate_process(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowengine", "validate", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream
        assert "internal error" not in stream


def test_repository_flows_are_valid(tmp_path: Path) -> None:
    """The seed flows of the repository validate with exit code 0 and no errors."""
    result = validate(FLOWS, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout + result.stderr
    assert_no_traceback(result)


@pytest.mark.acceptance
def test_broken_folder_prints_one_line_per_issue() -> None:
    """The broken corpus exits 1 with `path:line:col: error: message` lines only."""
    result = validate_process(BROKEN.relative_to(REPO))
    assert result.returncode == 1
    assert_no_traceback(result)
    lines = result.stdout.splitlines()
    assert lines
    assert [line for line in lines if not ISSUE_LINE.match(line)] == []
    flagged = {Path(m["path"]).name for m in map(ISSUE_LINE.match, lines) if m["sev"] == "error"}
    corpus = {p.name for p in BROKEN.glob("bozuk_*.yaml")}
    assert corpus - flagged == set()


def test_json_format_is_parseable() -> None:
    """`--format json` prints JSON whose errors carry path, line, column, code and message."""
    result = validate("--format", "json", BROKEN)
    assert result.returncode == 1
    assert_no_traceback(result)
    report = json.loads(result.stdout)
    assert report["ok"] is False
    errors = [i for i in report["issues"] if i["severity"] == "error"]
    assert errors
    for issue in errors:
        assert {"path", "line", "column", "code", "message"} <= issue.keys()
        assert isinstance(issue["line"], int)
        assert isinstance(issue["column"], int)


def test_github_format_prints_annotations() -> None:
    """`--format github` prints one `::error file=…` workflow command per error."""
    result = validate("--format", "github", BROKEN)
    assert result.returncode == 1
    assert_no_traceback(result)
    lines = result.stdout.splitlines()
    assert any(line.startswith("::error file=") for line in lines)
    assert all(line.startswith(("::error file=", "::warning file=")) for line in lines)


def test_missing_path_gives_one_clear_line(tmp_path: Path) -> None:
    """A path that does not exist exits 1 with one line naming it, and no traceback."""
    result = validate(tmp_path / "yok", cwd=tmp_path)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert result.stdout.splitlines() == ["yok:1:1: error: no such file or folder"]

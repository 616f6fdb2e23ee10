"""The operator's CLI as real processes, on every backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import LAMBA, cli, ok
from tests.conftest import FLOWS, ROOT


def test_start_prints_the_reference_and_status_masks_for_the_directorate(desk: str) -> None:
    """`start` prints BM-…; `status --as` a directorate user hides the citizen's name."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    assert ref.startswith("BM-")
    ok(desk, "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri")
    assert "Zeynep Kaya" in ok(desk, "status", ref, "--as", "ayse")
    masked = ok(desk, "status", ref, "--as", "mehmet")
    assert "Zeynep Kaya" not in masked and "***" in masked
    assert ref in ok(desk, "tasks", "--as", "mehmet")
    assert "havale_et" in ok(desk, "history", ref, "--as", "ayse")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fire", "BM-1999-000001", "havale_et", "--as", "ayse"], "no instance with reference"),
        (["fire", "{ref}", "cevap_ver", "--as", "ayse"], "is not possible in state"),
        (["fire", "{ref}", "havale_et", "--as", "ayse"], "mudurluk: is required"),
        (["fire", "{ref}", "havale_et", "--as", "mehmet", "--set", "mudurluk=fen_isleri"],
         "may not fire"),
        (["fire", "{ref}", "havale_et", "--as", "ayse", "--set", "mudurluk"], "expects KEY=VALUE"),
        (["fire", "{ref}", "havale_et", "--as", "nobody"], "unknown person 'nobody'"),
        (["start", "nosuchflow", "--as", "ayse"], "unknown flow 'nosuchflow'"),
    ],
)  # fmt: skip
def test_bad_commands_give_one_line_and_change_nothing(
    desk: str, args: list[str], message: str
) -> None:
    """Each bad command: exit 1, one `error:` line, no traceback, database unchanged."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    before = ok(desk, "history", ref, "--as", "ayse", "--json")
    result = cli(desk, *[a.replace("{ref}", ref) for a in args])
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert ok(desk, "history", ref, "--as", "ayse", "--json") == before


def test_set_values_are_read_by_the_field_type(desk: str) -> None:
    """Digits given to a text field stay text (a T.C. kimlik number is not an integer)."""
    ref = ok(
        desk, "start", "bizim_masa", "--as", "ayse", *LAMBA, "--set", "tc_kimlik_no=12345678950"
    )
    import json

    data = json.loads(ok(desk, "status", ref, "--as", "ayse", "--json"))["data"]
    assert data["tc_kimlik_no"] == "12345678950"


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    """A PostgreSQL URL nobody listens on fails cleanly."""
    result = cli("postgresql+psycopg://postgres@127.0.0.1:1/none", "instances")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to the database")
    assert "Traceback" not in result.stderr


@pytest.mark.acceptance
def test_two_processes_on_one_instance_exactly_one_wins(desk: str) -> None:
    """Two operators fire at once on the same version: one wins, one gets a clean conflict."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    command = [
        sys.executable, "-m", "flowengine", "--db", desk, "--flows", str(FLOWS),
        "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri",
        "--expect-version", "1",
    ]  # fmt: skip
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        results.append((process.returncode, stderr))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "was changed by ayse" in loser and "reload it and retry" in loser
    import json

    history = json.loads(ok(desk, "history", ref, "--as", "ayse", "--json"))
    assert [h["seq"] for h in history] == [1, 2]

"""A database that is locked, read-only, full or corrupt: one clear line, nothing lost."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event

from flowengine.engine import Engine
from flowengine.errors import StorageError
from tests.cli.helpers import LAMBA as LAMBA_ARGS
from tests.cli.helpers import cli, ok
from tests.conftest import FLOWS, ROOT
from tests.engine.helpers import LAMBA, add_people


def run(db_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    if not env:
        return cli(db_url, *args)  # the same entry point, in this process
    # a variable the storage reads when the process starts (the busy timeout)
    return subprocess.run(
        [sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(FLOWS), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        check=False,
    )


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> tuple[str, Path, str]:
    """A SQLite database with one case, and the case's reference."""
    path = tmp_path / "desk.db"
    url = f"sqlite:///{path}"
    ok(url, "people", "add", "ayse", "--name", "Ayşe", "--role", "bizim_masa")
    ref = ok(url, "start", "bizim_masa", "--as", "ayse", *LAMBA_ARGS)
    return url, path, ref


def history_rows(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM history").fetchone()[0])


def one_clear_line(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.acceptance
def test_locked_past_the_timeout(sqlite_desk: tuple[str, Path, str]) -> None:
    """Another process holds the write lock: the command waits, then says so and changes nothing."""
    url, path, ref = sqlite_desk
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run(
            url, "fire", ref, "kurum_disi", "--as", "ayse", FLOWENGINE_SQLITE_BUSY_TIMEOUT_MS="300"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_clear_line(result, "stayed locked by another process for 0.3 s; nothing was changed")
    assert history_rows(path) == 1


def test_read_only(sqlite_desk: tuple[str, Path, str]) -> None:
    """Opened read-only: reading works, a change is refused cleanly."""
    _, path, ref = sqlite_desk
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    status = json.loads(ok(read_only, "status", ref, "--as", "ayse", "--json"))
    assert status["states"] == ["degerlendirme"]
    one_clear_line(run(read_only, "fire", ref, "kurum_disi", "--as", "ayse"), "read-only")
    assert history_rows(path) == 1


def test_corrupt_file(sqlite_desk: tuple[str, Path, str]) -> None:
    """Garbage over the file: told to restore from a backup, no traceback."""
    url, path, ref = sqlite_desk
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    data[0:100] = b"\x00garbage" * 12 + b"\x00" * 4
    path.write_bytes(bytes(data))
    one_clear_line(run(url, "status", ref, "--as", "ayse"), "restore it from a backup")


def test_full(tmp_path: Path) -> None:
    """The database cannot grow: the step is refused and nothing of it is written."""
    url = f"sqlite:///{tmp_path / 'full.db'}"
    engine = Engine.open(url, FLOWS, upgrade=True)
    add_people(engine)
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    with engine.store.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(engine.store.engine, "connect")
    def _cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    engine.store.engine.dispose()  # new connections get the cap
    with pytest.raises(StorageError, match="is full"):
        engine.start("bizim_masa", {**LAMBA, "metin": "x" * 90_000}, actor="ayse")
    engine.store.engine.dispose()
    event.remove(engine.store.engine, "connect", _cap)
    assert [i.reference for i in engine.instances()] == [case.reference]
    assert engine.get(case.reference).row_version == 1
    assert len(engine.history(case.reference)) == 1
    engine.close()

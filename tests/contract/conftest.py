"""One store per backend for the contract suite: memory, SQLite and PostgreSQL.

Every test taking ``store`` runs on each, on the databases of the root
conftest: SQLite copies the file migrated once per session; PostgreSQL (when
FLOWENGINE_TEST_POSTGRES_URL is set) is the session's database, emptied before
each test. With FLOWENGINE_REQUIRE_POSTGRES=1 a missing PostgreSQL fails the
tests; it never skips them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowengine.storage.memory import MemoryStore
from flowengine.storage.ports import Store
from flowengine.storage.sql import SqlStore
from tests.conftest import _empty_tables


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store at the newest schema, on each backend."""
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        path = tmp_path / "contract.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        opened = SqlStore(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("postgres_database")
        _empty_tables(url)
        opened = SqlStore(url)
    yield opened
    opened.dispose()

"""One store per backend for the contract suite: memory, SQLite and PostgreSQL.

Every test taking ``store`` runs on each. SQLite copies a file migrated once
per session; PostgreSQL (when FLOWENGINE_TEST_POSTGRES_URL is set) uses one
scratch database migrated once and emptied before each test. With
FLOWENGINE_REQUIRE_POSTGRES=1 a missing or unreachable PostgreSQL fails the
tests; it never skips them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flowengine.storage.memory import MemoryStore
from flowengine.storage.ports import Store
from flowengine.storage.sql import SqlStore

POSTGRES_URL = os.environ.get("FLOWENGINE_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("FLOWENGINE_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def contract_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file at the newest schema, copied for each test."""
    path = tmp_path_factory.mktemp("contract") / "template.db"
    store = SqlStore(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    return path


@pytest.fixture(scope="session")
def contract_postgres() -> Iterator[str]:
    """A scratch PostgreSQL database for the session, migrated once."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("FLOWENGINE_REQUIRE_POSTGRES=1 but FLOWENGINE_TEST_POSTGRES_URL is not set")
        pytest.skip("FLOWENGINE_TEST_POSTGRES_URL is not set (CI sets it)")
    server = make_url(POSTGRES_URL)
    name = f"flowengine_contract_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    # an unreachable server raises here: an error, never a skip
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    store = SqlStore(url)
    store.upgrade()
    store.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _emptied(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store at the newest schema, on each backend."""
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        path = tmp_path / "contract.db"
        shutil.copyfile(request.getfixturevalue("contract_sqlite_template"), path)
        opened = SqlStore(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("contract_postgres")
        _emptied(url)
        opened = SqlStore(url)
    yield opened
    opened.dispose()

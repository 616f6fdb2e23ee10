"""Shared fixtures: a database URL for every backend, and the repository's flows.

Every test that takes ``db_url`` runs on SQLite, and on PostgreSQL when
FLOWENGINE_TEST_POSTGRES_URL is set (CI always sets it). When it is set, a
PostgreSQL that cannot be reached fails the tests; it never skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flowengine.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
POSTGRES_URL = os.environ.get("FLOWENGINE_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    if not POSTGRES_URL:
        pytest.skip("FLOWENGINE_TEST_POSTGRES_URL is not set (CI sets it)")
    server = make_url(POSTGRES_URL)
    name = f"flowengine_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    from flowengine.storage.sql import SqlStore

    store = SqlStore(url)
    store.upgrade()
    store.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(url: str) -> None:
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty flowengine database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flowengine.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """An empty PostgreSQL database, for tests only PostgreSQL can answer (SKIP LOCKED)."""
    _truncate(postgres_database)
    return postgres_database


@pytest.fixture
def desk(db_url: str) -> str:
    """A database (migrated through the CLI) with the desk clerk and a Fen İşleri officer."""
    from tests.cli.helpers import ok

    ok(db_url, "db", "upgrade")
    ok(db_url, "people", "add", "ayse", "--name", "Ayşe Yılmaz", "--role", "bizim_masa")
    ok(
        db_url,
        "people",
        "add",
        "mehmet",
        "--name",
        "Mehmet",
        "--role",
        "ilgili_mudurluk:fen_isleri",
    )
    return db_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine over the repository's flows, with the people of the charts."""
    from tests.engine.helpers import add_people

    flowengine = Engine.open(db_url, FLOWS, upgrade=True)
    add_people(flowengine)
    yield flowengine
    flowengine.close()

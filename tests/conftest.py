"""Shared fixtures: a database URL for every backend, and the repository's flows.

Every test that takes ``db_url`` runs on SQLite, and on PostgreSQL when
FLOWENGINE_TEST_POSTGRES_URL is set (CI always sets it). When it is set, a
PostgreSQL that cannot be reached fails the tests; it never skips them.

Both backends are migrated once per session: SQLite into a template file that
each test gets a copy of, PostgreSQL into one database emptied before each test.
A test marked ``empty_database`` gets a database without any schema instead, so
that it runs the migrations itself.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flowengine.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
POSTGRES_URL = os.environ.get("FLOWENGINE_TEST_POSTGRES_URL")


# Fixtures that hand a test a database, and the parameter values that name a
# backend (a fixture parametrised over backends, such as the contract suite's
# ``store``): a test with either is not in the fast tier.
DATABASE_FIXTURES = frozenset({"db_url", "postgres_url", "postgres_database", "sqlite_template"})
BACKENDS = frozenset({"sqlite", "postgres"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that takes a database ``database`` (``make unit`` leaves them out)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        values = callspec.params.values() if callspec is not None else ()
        on_backend = any(isinstance(v, str) and v in BACKENDS for v in values)
        if on_backend or DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    if not POSTGRES_URL:
        if os.environ.get("FLOWENGINE_REQUIRE_POSTGRES") == "1":
            pytest.fail("FLOWENGINE_REQUIRE_POSTGRES=1 but FLOWENGINE_TEST_POSTGRES_URL is not set")
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
        emptying = _EMPTYING.pop(url, None)
        if emptying is not None:
            emptying.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# One connection pool per session database, kept open: emptying it runs before
# every PostgreSQL test, and connecting costs more than the emptying itself.
_EMPTYING: dict[str, DatabaseEngine] = {}


def _empty_tables(url: str) -> None:
    """Empty every table and restart every sequence, as TRUNCATE … RESTART IDENTITY would.

    DELETE on tables of a few rows takes milliseconds where TRUNCATE takes a
    quarter of a second; with triggers and foreign keys off for this one
    transaction (session_replication_role, a superuser's setting) the order of
    the tables does not matter. Without that right, TRUNCATE it is.
    """
    engine = _EMPTYING.get(url)
    if engine is None:
        engine = _EMPTYING[url] = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = [f'"{t}"' for t in tables]
        superuser = connection.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar()
        if not superuser:
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            return
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for name in names:
            connection.execute(text(f"DELETE FROM {name}"))
        sequences = connection.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).scalars()
        for sequence in sequences:
            connection.execute(text("SELECT setval(:s, 1, false)"), {"s": f'"{sequence}"'})


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision once; tests get copies of it."""
    from flowengine.storage.sql import SqlStore

    path = tmp_path_factory.mktemp("template") / "flowengine.db"
    store = SqlStore(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    # WAL mode may keep recent pages in flowengine.db-wal; fold them into the file
    # so that copying the one file copies the whole database.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    assert busy == 0, "the template's WAL could not be checkpointed"
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    return path


def _empty_postgres_database(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL database without any schema, dropped when the test ends."""
    if not POSTGRES_URL:
        pytest.skip("FLOWENGINE_TEST_POSTGRES_URL is not set (CI sets it)")
    server = make_url(POSTGRES_URL)
    name = f"flowengine_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A flowengine database at the newest schema revision, with no rows, on each backend."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        path = tmp_path / "flowengine.db"
        if not empty:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    if empty:
        return _empty_postgres_database(request)
    url: str = request.getfixturevalue("postgres_database")
    _empty_tables(url)
    return url


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """An empty PostgreSQL database, for tests only PostgreSQL can answer (SKIP LOCKED)."""
    _empty_tables(postgres_database)
    return postgres_database


@pytest.fixture
def desk(db_url: str) -> str:
    """A database (upgraded through the CLI) with the desk clerk and a Fen İşleri officer."""
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

"""Alembic's newest revision creates exactly the schema the code's tables describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from flowengine.storage.sql import SqlStore
from flowengine.storage.tables import metadata


@pytest.mark.empty_database  # the migrations run here, from nothing, on each backend
def test_head_matches_the_tables(db_url: str) -> None:
    """No drift: a new column in tables.py without a migration fails here."""
    store = SqlStore(db_url)
    store.upgrade()
    store.dispose()
    engine = create_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: object) -> None:
    """A reported success survives power loss: WAL journal, synchronous=FULL (2)."""
    store = SqlStore(f"sqlite:///{tmp_path}/x.db")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def test_schema_head_constant_is_alembics_head() -> None:
    """SCHEMA_HEAD (checked on every start without importing Alembic) is the newest revision."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import flowengine.migrations
    from flowengine.storage.sql import SCHEMA_HEAD

    config = Config()
    config.set_main_option("script_location", str(Path(flowengine.migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_a_sqlite_reader_does_not_block_a_writer(tmp_path: object) -> None:
    """While a query's transaction is open, a command can still write (WAL, no lock)."""
    url = f"sqlite:///{tmp_path}/rw.db"
    reader, writer = SqlStore(url), SqlStore(url)
    writer.upgrade()
    from datetime import UTC, datetime

    from flowengine.instance import Person

    with reader.unit(writes=False) as query:
        assert query.people() == []
        with writer.unit() as command:
            command.save_person(Person("ayse", "Ayşe"), datetime.now(UTC))
    with reader.unit(writes=False) as query:
        assert [p.id for p in query.people()] == ["ayse"]
    reader.dispose()
    writer.dispose()

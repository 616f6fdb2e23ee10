"""Alembic's newest revision creates exactly the schema the code's tables describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from flowengine.storage.sql import SqlStore
from flowengine.storage.tables import metadata


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

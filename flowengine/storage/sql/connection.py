"""Connections to SQLite and PostgreSQL, configured for flowengine's transaction rules,
and driver errors turned into one clear flowengine error each.

SQLite: WAL, ``synchronous=FULL`` (a reported success survives power loss),
foreign keys on, and ``BEGIN IMMEDIATE`` so a writer takes the lock up front and
waits for it (``busy_timeout``) instead of failing half-way with "database is
locked". PostgreSQL: a pool with pre-ping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError

from flowengine.errors import ConfigurationError, DuplicateKey, StorageError

# How long a writer waits for SQLite's lock before giving up with a clear error.
SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("FLOWENGINE_SQLITE_BUSY_TIMEOUT_MS", "10000"))
WRITE_OPTION = "flowengine_writes"
# The newest Alembic revision; tests/storage checks it against migrations/versions.
# Comparing with it spares every command the import of Alembic (~70 ms).
SCHEMA_HEAD = "0011"


def _describe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def create_db_engine(url: str) -> Engine:
    """An engine configured for flowengine's transaction rules."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"'{url}' is not a database URL; use sqlite:///flowengine.db or "
            "postgresql+psycopg://user@host/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # file:/path/db?mode=ro URIs (uri=true) name the file after "file:"
            name = parsed.database.removeprefix("file:").split("?", 1)[0]
            folder = Path(name).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigurationError(f"folder {folder} of the SQLite database does not exist")
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, future=True
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A writer takes the lock up front; a reader does not block writers.
            writes = connection.get_execution_options().get(WRITE_OPTION, True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, future=True)
    raise ConfigurationError(
        f"database '{backend}' is not supported; use sqlite:/// or postgresql+psycopg://"
    )


def storage_error(exc: DBAPIError, url: str) -> StorageError:
    """One clear line for a driver error; the original stays as ``__cause__``."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StorageError(
            f"the database {_describe_url(url)} stayed locked by another process for "
            f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s; nothing was changed, retry"
        )
    if "full" in lowered:
        return StorageError(
            f"the database {_describe_url(url)} is full (disk or size limit); "
            "nothing was changed; free space and retry"
        )
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return StorageError(
            f"the database file {_describe_url(url)} is damaged ({text}); "
            "nothing was changed; restore it from a backup"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StorageError(
            f"the database {_describe_url(url)} is read-only; nothing was changed; "
            "check the file's permissions"
        )
    if "connect" in lowered or "connection" in lowered:
        return StorageError(
            f"cannot connect to the database {_describe_url(url)}: {text}; "
            "check that it runs and the URL is right"
        )
    return StorageError(f"database error on {_describe_url(url)}: {text}")


# SQLSTATE 23505 (PostgreSQL) and SQLite's message both name a unique key taken;
# foreign keys and NOT NULL fail otherwise and stay a plain StorageError.
_UNIQUE_SIGNS = ("unique constraint", "duplicate key", "primary key")


def integrity_error(exc: IntegrityError) -> StorageError:
    """A refused row as a flowengine error: :class:`DuplicateKey` for a key taken."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    state = getattr(exc.orig, "sqlstate", None)
    if state == "23505" or (state is None and any(s in text.lower() for s in _UNIQUE_SIGNS)):
        return DuplicateKey(f"the database refused a duplicate row: {text}")
    return StorageError(f"the database refused a row: {text}")


class UnitBase:
    """What every concern of a unit shares: its connection and dialect."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def _insert_rows(self, table: Any, rows: list[dict[str, Any]]) -> None:
        # One row goes as a plain execute: SQLAlchemy's executemany path costs
        # about 0.2 ms more per call, on every step.
        self.connection.execute(table.insert(), rows[0] if len(rows) == 1 else rows)

    def _insert(self, table: Any) -> Any:
        return pg_insert(table) if self.dialect == "postgresql" else sqlite_insert(table)

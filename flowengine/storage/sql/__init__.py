"""The SQL repository: SQLite (embedded default) and PostgreSQL via SQLAlchemy Core.

Owns connections, transactions, the schema's migrations and every query, split
by concern: ``connection`` (engines, driver errors), ``statements`` (built once),
``instances``, ``delivery``, ``people`` (each a part of :class:`Unit`), ``unit``.
Speaks domain records (``Instance``, ``HistoryEntry``, ``WorkItem``…), never
leaks rows. The engine opens one :meth:`SqlStore.unit` per command; everything
done through that unit commits together or not at all.

SQLite: WAL, ``synchronous=FULL`` (a reported success survives power loss),
foreign keys on, and ``BEGIN IMMEDIATE`` so a writer takes the lock up front and
waits for it (``busy_timeout``) instead of failing half-way with "database is
locked". PostgreSQL: the instance row is locked ``FOR UPDATE`` for a command,
so two commands on one instance serialize; the row version check stays as the
guard against a stale ``expected_version``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from flowengine.storage.ports import StepWrites
from flowengine.storage.sql.connection import (
    SCHEMA_HEAD,
    WRITE_OPTION,
    create_db_engine,
    integrity_error,
    storage_error,
)
from flowengine.storage.sql.unit import Unit

if TYPE_CHECKING:
    from flowengine.storage.ports import Store, UnitOfWork


class SqlStore:
    """Opens units of work on one database; upgrades its schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)

    @property
    def embedded(self) -> bool:
        """SQLite: a file of this machine, upgraded on open; PostgreSQL is upgraded by hand."""
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def unit(self, *, writes: bool = True) -> Iterator[Unit]:
        """One transaction: commit when the block ends, roll back on any error.

        ``writes=False`` is for queries: on SQLite it does not take the write lock.
        """
        try:
            with (
                self.engine.connect().execution_options(**{WRITE_OPTION: writes}) as connection,
                connection.begin(),
            ):
                yield Unit(connection)
        except IntegrityError as exc:
            raise integrity_error(exc) from exc
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from exc

    def schema_revision(self) -> str | None:
        """The schema's Alembic revision, or None for a database without one."""
        try:
            with self.unit(writes=False) as unit:
                connection = unit.connection
                if not connection.dialect.has_table(connection, "alembic_version"):
                    return None
                value = connection.execute(text("SELECT version_num FROM alembic_version"))
                return value.scalar()
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from exc

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; return (before, after)."""
        before = self.schema_revision()
        if before == SCHEMA_HEAD:
            return before, SCHEMA_HEAD
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        import flowengine.migrations

        config = Config()
        config.set_main_option("script_location", str(Path(flowengine.migrations.__file__).parent))
        head = ScriptDirectory.from_config(config).get_current_head() or ""
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from exc
        return before, head

    def dispose(self) -> None:
        self.engine.dispose()


if TYPE_CHECKING:

    def _honours_the_ports(unit: Unit, store: SqlStore) -> tuple[UnitOfWork, Store]:
        """Never called: mypy proves here that the SQL classes satisfy the protocols."""
        return unit, store


__all__ = [
    "SCHEMA_HEAD",
    "OperationalError",
    "SqlStore",
    "StepWrites",
    "Unit",
    "create_db_engine",
    "integrity_error",
    "storage_error",
]

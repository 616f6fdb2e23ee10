"""The in-memory store: the storage ports answered by Python dicts, in one process.

Modelled on procrastinate's ``InMemoryConnector``: the same operations by name
as the SQL store, with the same constraints (row versions, primary, unique and
foreign keys, leases, orderings), so the engine runs on it unchanged and
``tests/contract`` holds it to the SQL store's behaviour. Opened by
``Engine.open("memory://", flows_dir)``; its data lives as long as the store, or
for a named one (``memory://NAME``) as long as the process.

Transactions: one writer at a time (a lock, waited for as SQLite's
``busy_timeout`` is); a writer works on copies of the tables it touches and
publishes them on commit, so an exception drops everything it did and readers
see only committed data (a snapshot taken when their unit opens).

Imports ``ports``, ``errors`` and the records; never SQLAlchemy, never the engine.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flowengine.config import MEMORY_URL
from flowengine.errors import StorageError
from flowengine.storage.memory.tables import Tables, Transaction
from flowengine.storage.memory.unit import MemoryUnit

if TYPE_CHECKING:
    from flowengine.storage.ports import Store, UnitOfWork

# As long as SQLite waits for its lock (sql.py), so both fail alike under contention.
LOCK_TIMEOUT_S = int(os.environ.get("FLOWENGINE_SQLITE_BUSY_TIMEOUT_MS", "10000")) / 1000


class MemoryStore:
    """Units of work over tables kept in this process."""

    def __init__(self, url: str = MEMORY_URL) -> None:
        self.url = url
        self._committed = Tables.empty()
        self._writer_lock = threading.Lock()
        self._writer: int | None = None  # the thread holding the lock

    @property
    def embedded(self) -> bool:
        return True

    @contextlib.contextmanager
    def unit(self, *, writes: bool = True) -> Iterator[MemoryUnit]:
        """One transaction: commit when the block ends, drop everything on any error."""
        if not writes:
            reading = Transaction(self._committed, writes=False)
            try:
                yield MemoryUnit(reading)
            finally:
                reading.open = False
            return
        if self._writer == threading.get_ident():
            raise StorageError(
                "this thread already has a writing unit open on the in-memory store; "
                "finish it before opening another (it would wait for itself)"
            )
        if not self._writer_lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise StorageError(
                f"the in-memory store stayed locked by another writer for {LOCK_TIMEOUT_S:g} s; "
                "nothing was changed, retry"
            )
        self._writer = threading.get_ident()
        try:
            transaction = Transaction(self._committed, writes=True)
            try:
                yield MemoryUnit(transaction)
            except BaseException:
                transaction.open = False
                raise
            self._committed = transaction.commit()
        finally:
            self._writer = None
            self._writer_lock.release()

    def schema_revision(self) -> str | None:
        """Always the newest: the tables are built by this code, not by migrations."""
        from flowengine.storage.sql import SCHEMA_HEAD

        return SCHEMA_HEAD

    def upgrade(self) -> tuple[str | None, str]:
        revision = self.schema_revision()
        assert revision is not None  # noqa: S101 - schema_revision never answers None here
        return revision, revision

    def dispose(self) -> None:
        """Nothing to release; the data stays until the store is dropped."""


_NAMED: dict[str, MemoryStore] = {}
_NAMED_LOCK = threading.Lock()


def _name(url: str) -> str:
    return url.strip()[len(MEMORY_URL) :]


def memory_store(url: str = MEMORY_URL) -> MemoryStore:
    """``memory://`` is a new, private store; ``memory://NAME`` is this process's store
    of that name, kept until :func:`forget_memory_store`, so an engine closed and opened
    again on the same URL finds its data, as it would in a file."""
    name = _name(url)
    if not name:
        return MemoryStore(url)
    with _NAMED_LOCK:
        return _NAMED.setdefault(name, MemoryStore(url))


def forget_memory_store(url: str) -> None:
    """Drop the named store of ``url`` (its data goes with it)."""
    with _NAMED_LOCK:
        _NAMED.pop(_name(url), None)


if TYPE_CHECKING:

    def _honours_the_ports(unit: MemoryUnit, store: MemoryStore) -> tuple[UnitOfWork, Store]:
        """Never called: mypy proves here that the in-memory classes satisfy the protocols."""
        return unit, store


__all__ = ["MEMORY_URL", "MemoryStore", "MemoryUnit", "forget_memory_store", "memory_store"]

"""Storage: the only package that imports SQLAlchemy and Alembic.

``ports.py`` says what a store offers, in domain words; ``sql.py`` (SQLite,
PostgreSQL) and ``memory/`` (this process's dicts) offer it. :func:`open_store`
picks one by URL. Units of work (one transaction each) speak domain records and
raise flowengine errors only. See ``sql.py`` for each backend's transaction rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowengine.config import is_memory_url

if TYPE_CHECKING:
    from flowengine.storage.ports import Store


def open_store(url: str) -> Store:
    """The store a database URL names: ``memory://[NAME]`` or an SQLAlchemy URL."""
    if is_memory_url(url):
        from flowengine.storage.memory import memory_store

        return memory_store(url)
    from flowengine.storage.sql import SqlStore

    return SqlStore(url)

"""What only the in-memory store has to say: its one writer, and how it is opened."""

from __future__ import annotations

import uuid

import pytest

from flowengine.config import is_memory_url
from flowengine.engine import Engine
from flowengine.errors import StorageError, UnknownPerson
from flowengine.storage import open_store
from flowengine.storage.memory import MemoryStore, forget_memory_store
from tests.conftest import FLOWS
from tests.contract.helpers import instance, start


def test_a_second_writer_in_the_same_thread_is_an_error_not_a_hang() -> None:
    """A writing unit opened inside another on one thread would wait for itself: it fails."""
    store = MemoryStore()
    with store.unit(), pytest.raises(StorageError, match="already has a writing unit"):
        store.unit().__enter__()
    with store.unit() as unit:  # the lock was released
        start(unit, instance())


def test_a_reading_unit_cannot_write() -> None:
    """writes=False is a promise; the in-memory store holds callers to it."""
    store = MemoryStore()
    with store.unit(writes=False) as unit, pytest.raises(StorageError, match="writes=False"):
        unit.next_sequence("bizim_masa", 2026)


def test_memory_urls_open_the_memory_store() -> None:
    """memory:// (any case) names the in-memory store; Engine.open runs on it."""
    assert is_memory_url("memory://") and is_memory_url(" MEMORY:// ")
    assert not is_memory_url("sqlite:///memory.db")
    assert isinstance(open_store("memory://"), MemoryStore)
    with Engine.open("memory://", FLOWS) as engine:
        assert isinstance(engine.store, MemoryStore)
        assert engine.deploy(["bizim_masa"])[0][2] is True


def test_a_named_memory_store_outlives_its_engine_a_plain_one_does_not() -> None:
    """memory://NAME is reopened with its data (as a file is); memory:// starts empty."""
    named = f"memory://contract-{uuid.uuid4().hex}"
    try:
        with Engine.open(named, FLOWS) as engine:
            engine.add_person("ayse", "Ayşe Yılmaz", ["bizim_masa"])
        with Engine.open(named, FLOWS) as engine:
            assert engine.person("ayse").name == "Ayşe Yılmaz"
        forget_memory_store(named)
        with Engine.open(named, FLOWS) as engine, pytest.raises(UnknownPerson):
            engine.person("ayse")
    finally:
        forget_memory_store(named)
    with Engine.open("memory://", FLOWS) as engine:
        engine.add_person("ayse", "Ayşe Yılmaz", ["bizim_masa"])
    with Engine.open("memory://", FLOWS) as engine, pytest.raises(UnknownPerson):
        engine.person("ayse")

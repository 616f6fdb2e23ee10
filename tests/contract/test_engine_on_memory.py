"""The engine's own scenarios, run unchanged on the in-memory store.

Every test of ``tests/engine`` that drives the ``Engine`` facade runs here with
``db_url`` = ``memory://``: the in-memory store must carry a flow end to end as
SQLite and PostgreSQL do (numbering, version checks, idempotency, refusals,
masking, Turkish text, duplicates, statutory clocks).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

import tests.engine.test_bizim_masa
import tests.engine.test_duplicates
import tests.engine.test_idari_isler
import tests.engine.test_press_and_social
import tests.engine.test_statutory_clocks
from flowengine.engine import Engine
from flowengine.storage.memory import MemoryStore
from tests.engine.test_statutory_clocks import clock, desk

# It drives the CLI in subprocesses; a memory:// store lives in one process only.
NEEDS_A_FILE = {"test_similar_and_merge_from_the_command_line"}


@pytest.fixture
def db_url() -> str:
    """Overrides the SQLite/PostgreSQL parametrisation: every test on a new memory store."""
    return "memory://"


def test_these_scenarios_run_on_the_memory_store(engine: Engine) -> None:
    """The override holds: the scenarios below do not silently run on SQLite."""
    assert isinstance(engine.store, MemoryStore)


def _tests_of(module: ModuleType) -> dict[str, Any]:
    return {
        name: test
        for name, test in vars(module).items()
        if name.startswith("test_") and callable(test) and name not in NEEDS_A_FILE
    }


for _module in (
    tests.engine.test_bizim_masa,
    tests.engine.test_duplicates,
    tests.engine.test_idari_isler,
    tests.engine.test_press_and_social,
    tests.engine.test_statutory_clocks,
):
    globals().update(_tests_of(_module))

__all__ = ["clock", "db_url", "desk"]

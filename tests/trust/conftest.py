"""The engine fixture of tests/engine, shared here."""

from tests.engine.conftest import engine

__all__ = ["engine"]

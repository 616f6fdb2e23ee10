"""A database with the desk clerk and a Fen İşleri officer, on every backend."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ok


@pytest.fixture
def desk(db_url: str) -> str:
    """A database with the desk clerk and a Fen İşleri officer."""
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

"""Hostile data: SQL, huge and control-character text, RTL, wrong types, path tricks."""

from __future__ import annotations

import pytest

from flowengine.engine import Engine
from flowengine.errors import InvalidData, UnknownFlow
from tests.cli.helpers import cli
from tests.engine.helpers import LAMBA


@pytest.mark.parametrize(
    "text",
    [
        "'); DROP TABLE instances; --",
        '" OR 1=1 --',
        "Robert'); DELETE FROM history WHERE ('1'='1",
        "مرحبا بالعالم — שלום — Ayvalık'ta ışık yok",  # RTL beside Turkish
        "çok\tsatırlı\nmetin\r\nİ ı Ş ş Ğ ğ",
        "😀 🇹🇷 \u202e tersine",  # emoji and the right-to-left override
    ],
)
def test_text_is_stored_as_given_and_nothing_is_executed(engine: Engine, text: str) -> None:
    """Text round-trips exactly; tables are intact afterwards."""
    case = engine.start("bizim_masa", {**LAMBA, "metin": text, "konu": text[:200]}, "ayse")
    assert engine.get(case.reference).data["metin"] == text
    assert len(engine.instances()) == 1
    assert len(engine.history(case.reference)) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * 1_000_001, "is 1,000,001 characters, over the limit of 100,000"),
        ("bozuk\x00metin", "contains the control character U+0000; remove it"),
        ("zil\x07sesi", "contains the control character U+0007; remove it"),
        (12345, "must be text, got int"),
        (["liste"], "must be text, got list"),
    ],
)
def test_bad_values_are_refused_by_field(engine: Engine, value: object, message: str) -> None:
    """Oversized, control-character and ill-typed values name the field; nothing is stored."""
    with pytest.raises(InvalidData) as caught:
        engine.start("bizim_masa", {**LAMBA, "metin": value}, "ayse")
    assert caught.value.problems == {"metin": message}
    assert engine.instances() == []


@pytest.mark.parametrize("flow", ["../../etc/passwd", "bizim_masa/../x", "BİZİM_MASA", "%00"])
def test_flow_names_are_ids_not_paths(engine: Engine, flow: str) -> None:
    """A flow is looked up by id among the loaded flows, never opened as a path."""
    with pytest.raises(UnknownFlow):
        engine.start(flow, LAMBA, "ayse")


def test_cli_path_tricks_are_one_clear_line(desk: str) -> None:
    """`show` and `graph` with a path for a flow id: unknown flow, exit 1, no traceback."""
    for args in (["show", "../../etc/passwd"], ["graph", "../flows/bizim_masa"]):
        result = cli(desk, *args)
        assert result.returncode == 1 and "unknown flow" in result.stderr
        assert "Traceback" not in result.stderr

"""The municipality's time zone is one setting: `[municipality] timezone` of
flowengine.toml, Europe/Istanbul by default, followed by the engine, the receipt
and the dates the faces print."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine.config import local_zone, municipality_timezone
from flowengine.desk import receipts
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.engine import Engine
from flowengine.errors import ConfigurationError
from flowengine.web import i18n
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

RECEIVED = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul, 08:00 in Berlin


def _toml(folder: Path, text: str) -> Path:
    (folder / "flowengine.toml").write_text(text, encoding="utf-8")
    return folder


def test_without_a_setting_it_is_istanbul(tmp_path: Path) -> None:
    """No flowengine.toml, or one without [municipality]: the default."""
    assert DEFAULT_TIMEZONE == "Europe/Istanbul"
    assert municipality_timezone(DEFAULT_TIMEZONE, tmp_path) == "Europe/Istanbul"
    _toml(tmp_path, '[database]\nurl = "sqlite:///x.db"\n')
    assert municipality_timezone(DEFAULT_TIMEZONE, tmp_path) == "Europe/Istanbul"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[municipality]\ntimezone = "Europe/Istambul"\n', "not a known time zone"),
        ("[municipality]\ntimezone = 3\n", "must be a string"),
        ('[municipality]\nzone = "Europe/Berlin"\n', "unknown [municipality] keys: zone"),
    ],
)
def test_a_wrong_setting_is_one_clear_error(tmp_path: Path, text: str, words: str) -> None:
    """A misspelt zone is refused with what to write, never silently replaced by the default."""
    with pytest.raises(ConfigurationError, match=r"flowengine\.toml") as refused:
        municipality_timezone(DEFAULT_TIMEZONE, _toml(tmp_path, text))
    assert words in str(refused.value)


def test_the_engine_the_receipt_and_the_pages_follow_the_setting(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set once in flowengine.toml, the zone reaches Engine.open, the receipt's dates
    and the web's date format alike."""
    monkeypatch.chdir(_toml(tmp_path, '[municipality]\ntimezone = "Europe/Berlin"\n'))
    with Engine.open(db_url, FLOWS.resolve(), upgrade=True, clock=lambda: RECEIVED) as engine:
        assert engine.timezone == "Europe/Berlin"
        add_people(engine)
        case = engine.start("bizim_masa", LAMBA, "ayse")
        text = receipts.receipt(engine, case.reference, "ayse").text()
    assert "2 Mart 2026 08:00 tarihinde" in text
    assert str(local_zone(DEFAULT_TIMEZONE)) == "Europe/Berlin"
    assert i18n.local_time(RECEIVED) == "02.03.2026 08:00"


def test_by_default_the_receipt_is_in_istanbul_time(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same request without a setting: 10:00, as before the setting existed."""
    monkeypatch.chdir(tmp_path)
    with Engine.open(db_url, FLOWS.resolve(), upgrade=True, clock=lambda: RECEIVED) as engine:
        assert engine.timezone == "Europe/Istanbul"
        add_people(engine)
        case = engine.start("bizim_masa", LAMBA, "ayse")
        text = receipts.receipt(engine, case.reference, "ayse").text()
    assert "2 Mart 2026 10:00 tarihinde" in text
    assert i18n.local_time(RECEIVED) == "02.03.2026 10:00"

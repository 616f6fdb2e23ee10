"""Bizim Masa's own `desk:`: its receipt and report print channel and kind by the
titles the flow gives them, in Turkish."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from flowengine.desk import demo_data, receipts, reports
from flowengine.engine import Engine
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def desk(db_url: str) -> Iterator[Engine]:
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: NOW)
    add_people(engine)
    yield engine
    engine.close()


def test_every_desk_key_is_declared_for_bizim_masa(desk: Engine) -> None:
    """The report and the receipt need all seven; none may be silently left out."""
    spec = desk.current["bizim_masa"].doc.desk
    assert spec is not None
    keys = ("applicant", "phone", "channel", "kind", "subject", "place", "directorate")
    assert all(getattr(spec, key) in desk.current["bizim_masa"].fields for key in keys)


def test_the_receipt_names_the_channel_by_its_title(desk: Engine) -> None:
    """`kanal: cagri_merkezi` is printed as the flow's title for it, Turkish letters kept."""
    case = desk.start("bizim_masa", {**LAMBA, "kanal": "cagri_merkezi"}, "ayse")
    made = receipts.receipt(desk, case.reference, "ayse")
    assert made.channel == "Çağrı merkezi" and "(Çağrı merkezi)" in made.text()
    assert "Sokak lambası yanmıyor" in made.text()


def test_the_report_prints_channels_and_kinds_by_their_titles(desk: Engine) -> None:
    """The page shows "Şikâyet" and "Çağrı merkezi", the JSON the stored values."""
    demo_data.generate(desk, 120, seed=5, now=NOW)
    report = reports.desk_report(desk, (NOW - timedelta(days=366)).date(), NOW.date())
    assert "sikayet" in report.by_type and "cagri_merkezi" in report.by_channel
    page = reports.to_html(report)
    assert "Şikâyet" in page and "Çağrı merkezi" in page and ">sikayet<" not in page

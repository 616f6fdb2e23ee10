"""The receipt a citizen is handed: reference, date, subject, the legal deadline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from flowengine.desk import receipts
from flowengine.engine import Engine
from tests.cli.helpers import LAMBA as LAMBA_ARGS
from tests.cli.helpers import ok
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

RECEIVED = datetime(2026, 5, 18, 7, 30, tzinfo=UTC)  # 10:30 in Istanbul, a Monday


@pytest.fixture
def received(db_url: str) -> Iterator[Engine]:
    """An engine whose clock stands at RECEIVED."""
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: RECEIVED)
    add_people(engine)
    yield engine
    engine.close()


def test_receipt_names_the_law_and_the_day_to_answer_by(received: Engine) -> None:
    desk = received
    case = desk.start("bizim_masa", {**LAMBA, "yasal_dayanak": "bilgi_edinme_4982"}, "ayse")
    made = receipts.receipt(desk, case.reference, "ayse")
    text = made.text()
    assert case.reference in text and "18 Mayıs 2026 10:30" in text
    assert "4982 sayılı Bilgi Edinme Hakkı Kanunu" in text
    assert "en geç 12 Haziran 2026" in text  # 15 working days past 19 Mayıs and the bayram
    page = receipts.to_html(made)
    assert "ALINDI BELGESİ" in page and "Zeynep Kaya" in page and "Bizim Masa" in page


def test_a_directorate_prints_it_without_the_citizens_name(received: Engine) -> None:
    desk = received
    case = desk.start("bizim_masa", LAMBA, actor="ayse")
    desk.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    page = receipts.to_html(receipts.receipt(desk, case.reference, "mehmet"))
    assert "Zeynep Kaya" not in page and "***" in page


def test_receipt_from_the_command_line(desk: str) -> None:
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA_ARGS).split(":")[0]
    text = ok(desk, "receipt", ref, "--as", "ayse", "--text")
    assert text.startswith("Ayvalık Belediyesi") and ref in text and "cevaplanacaktır" in text

"""The desk report over a generated year, checked against the rows themselves."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from flowengine import trust
from flowengine.desk import demo_data, reports
from flowengine.engine import Engine
from flowengine.storage import tables as t
from tests.cli.helpers import cli, ok
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FINALS = ("geri_donus_yap", "yonlendirildi")


@pytest.fixture
def year(db_url: str) -> Iterator[Engine]:
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: NOW)
    made = demo_data.generate(engine, 600, seed=11, now=NOW)
    assert made.requests == 600 and 0 < made.open < 600
    yield engine
    engine.close()


def rows(engine: Engine) -> list[dict[str, object]]:
    with engine.store.engine.connect() as connection:
        found = connection.execute(
            select(t.instances.c.id, t.instances.c.data, t.instances.c.created_at)
        )
        return [dict(r._mapping) for r in found]


def test_counts_and_reply_times_match_the_rows(year: Engine) -> None:
    report = reports.desk_report(year, (NOW - timedelta(days=366)).date(), NOW.date())
    cases = rows(year)
    assert report.requests == len(cases) == 600
    assert report.by_channel == dict(
        Counter(c["data"]["kanal"] for c in cases).most_common()  # type: ignore[index]
    )
    assert sum(report.by_month.values()) == 600
    with year.store.unit(writes=False) as unit:
        days = []
        for case in cases:
            replies = [h.at for h in unit.history(str(case["id"])) if h.event in FINALS]
            if replies:
                created = case["created_at"]
                assert isinstance(created, datetime)
                days.append((min(replies) - created).total_seconds() / 86400)
    assert report.answered == len(days)
    assert report.median_days == round(statistics.median(days), 1)
    assert report.open == 600 - len(days)
    assert 0 < (report.within_deadline or 0) < 1  # some of the year ran late
    assert [r.requests for r in report.directorates] == sorted(
        (r.requests for r in report.directorates), reverse=True
    )


def test_the_page_is_turkish_has_charts_and_no_personal_data(year: Engine) -> None:
    report = reports.desk_report(year, (NOW - timedelta(days=366)).date(), NOW.date())
    page = reports.to_html(report)
    assert page.count("<svg") == 4
    for heading in ("Kanallara göre", "Mahallelere göre", "Yasal sürede", "En uzun süredir açık"):
        assert heading in page
    for case in rows(year):
        data = case["data"]
        assert isinstance(data, dict)
        assert data["ad_soyad"] not in page and data["telefon"] not in page


def test_the_pdf_has_the_pages_the_font_and_the_figures(year: Engine) -> None:
    report = reports.desk_report(year, (NOW - timedelta(days=366)).date(), NOW.date())
    pdf = reports.to_pdf(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in pdf  # the TrueType font with Turkish letters is embedded
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") >= 1
    )


def test_generated_cases_are_sealed_and_numbering_goes_on(year: Engine) -> None:
    findings = trust.verify(year)
    assert len(findings) == 600 and all(f.problem is None for f in findings)
    add_people(year)
    fresh = year.start("bizim_masa", LAMBA, actor="ayse")
    assert fresh.reference not in {f.reference for f in findings}


def test_report_and_demo_data_from_the_command_line(db_url: str, tmp_path: object) -> None:
    ok(db_url, "db", "upgrade")
    assert "300 requests" in ok(db_url, "demo-data", "--requests", "300", "--seed", "3")
    figures = json.loads(ok(db_url, "report", "bizim-masa", "--json"))
    assert figures["requests"] == 300 and figures["by_channel"]
    page = f"{tmp_path}/rapor.html"
    ok(db_url, "report", "bizim-masa", "-o", page)
    with open(page, encoding="utf-8") as handle:
        assert "başvuru raporu" in handle.read()
    pdf = f"{tmp_path}/rapor.pdf"
    ok(db_url, "report", "bizim-masa", "-o", pdf)
    with open(pdf, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    bad = cli(db_url, "report", "bizim-masa", "--from", "31.01.2026")
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr

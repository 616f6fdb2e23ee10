"""A second flow, its own field names declared in `desk:`, gets a receipt, a report
and a status lookup without a line of code; a flow without `desk:` is told what to add."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flowengine.desk import citizen, receipts, reports
from flowengine.engine import Engine
from flowengine.errors import ConfigurationError, NotFound

ORGANIZATION = """\
municipality: Örnek Belediyesi
directorates:
  fen_isleri:
    title: Fen İşleri Müdürlüğü
    units:
      ariza_masasi: {title: Arıza Masası}
"""

ARIZA = """\
flow: ariza_bildirimi
version: 1
title: Arıza bildirimi
directorate: fen_isleri
unit: ariza_masasi
sla: 10d
roles:
  santral: {title: Santral}
  birim: {title: Birim personeli}
privacy:
  personal_access: [santral]
data:
  bildiren: {type: string, title: Bildiren, required: true, personal: true}
  gsm: {type: string, title: GSM, personal: true}
  posta: {type: string, title: E-posta, personal: true}
  gelis_yolu: {type: enum, title: Geliş yolu, values: [hat, posta_kutusu], required: true}
  ariza_turu: {type: enum, title: Arıza türü, values: [elektrik, su], required: true}
  baslik: {type: string, title: Başlık, required: true}
  semt: {type: string, title: Semt}
  birim_adi: {type: string, title: Birim, directorate: true}
  yanit: {type: text, title: Yanıt}
receipt: {email: posta}
desk:
  applicant: bildiren
  phone: gsm
  channel: gelis_yolu
  kind: ariza_turu
  subject: baslik
  place: semt
  directorate: birim_adi
  titles:
    gelis_yolu: {hat: Telefon hattı, posta_kutusu: E-posta kutusu}
    ariza_turu: {elektrik: Elektrik arızası, su: Su arızası}
start: kayit
states:
  kayit:
    type: task
    role: santral
    sla: 1d
    on:
      yonlendir: {to: inceleme, requires: [birim_adi]}
  inceleme:
    type: task
    role: birim
    sla: 5d
    on:
      yanitla: {to: kapandi, requires: [yanit], reply: final}
  kapandi: {type: end, outcome: cozuldu}
"""

# the same flow, but no desk section: nothing says which field is which
DILEKCE = (
    ARIZA[: ARIZA.index("receipt:")]
    .replace("flow: ariza_bildirimi", "flow: dilekce")
    .replace("title: Arıza bildirimi", "title: Dilekçe")
    + ARIZA[ARIZA.index("start: kayit") :]
)

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul, a Monday


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def town(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Engine]:
    """An engine over a folder holding only the two flows above."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "organization.yaml").write_text(ORGANIZATION, encoding="utf-8")
    (flows / "ariza_bildirimi.yaml").write_text(ARIZA, encoding="utf-8")
    (flows / "dilekce.yaml").write_text(DILEKCE, encoding="utf-8")
    engine = Engine.open(db_url, flows, upgrade=True, clock=clock)
    engine.add_person("selin", "Selin Aksoy", ["santral"])
    engine.add_person("kemal", "Kemal Er", ["birim"])
    yield engine
    engine.close()


def _fault(**data: str) -> dict[str, str]:
    base = {
        "bildiren": "Şükrü Öztürk",
        "gsm": "0532 123 45 67",
        "posta": "sukru@example.org",
        "gelis_yolu": "hat",
        "ariza_turu": "elektrik",
        "baslik": "Cunda'da sokak lambası yanmıyor",
        "semt": "Cunda",
    }
    return {**base, **data}


def test_the_receipt_prints_the_fields_the_flow_declares(town: Engine) -> None:
    """Applicant, channel (by its title) and subject come from the flow's own names."""
    case = town.start("ariza_bildirimi", _fault(), "selin")
    made = receipts.receipt(town, case.reference, "selin")
    text = made.text()
    assert text.startswith("Örnek Belediyesi — Arıza Masası")
    assert "2 Mart 2026 10:00 tarihinde" in text and "(Telefon hattı)" in text
    assert "Konu: Cunda'da sokak lambası yanmıyor" in text
    assert made.status_code is not None and made.status_code in text
    page = receipts.to_html(made)
    assert "Şükrü Öztürk" in page and "Telefon hattı" in page


def test_the_receipt_e_mailed_on_start_uses_the_same_fields(town: Engine) -> None:
    """The engine's first message to the citizen names the channel's title and the subject."""
    case = town.start("ariza_bildirimi", _fault(gelis_yolu="posta_kutusu"), "selin")
    [mail] = [item for item in town.outbox(case.reference) if item.kind == "email"]
    assert "(E-posta kutusu)" in mail.payload["body"]
    assert "Konu: Cunda'da sokak lambası yanmıyor" in mail.payload["body"]


def test_a_viewer_without_personal_access_gets_the_name_masked(town: Engine) -> None:
    """The applicant field is personal: the unit's officer sees it masked, and no code."""
    case = town.start("ariza_bildirimi", _fault(), "selin")
    town.fire(case.reference, "yonlendir", "selin", data={"birim_adi": "fen_isleri"})
    made = receipts.receipt(town, case.reference, "kemal")
    assert "Şükrü Öztürk" not in receipts.to_html(made) and made.status_code is None


def test_the_status_lookup_takes_the_declared_phone_fields_last_digits(town: Engine) -> None:
    """`desk: phone: gsm` makes gsm's last four digits the second factor; others fail."""
    case = town.start("ariza_bildirimi", _fault(), "selin")
    status = citizen.lookup(town, case.reference, "4567", client="10.0.0.9")
    assert status.reference == case.reference and status.status == "active"
    with pytest.raises(NotFound):
        citizen.lookup(town, case.reference, "1234", client="10.0.0.9")


def test_the_report_counts_by_the_declared_fields(town: Engine, clock: Clock) -> None:
    """Channel, kind, place and directorate are counted from the flow's own fields,
    printed by their titles, and reply times measured to the final reply."""
    first = town.start("ariza_bildirimi", _fault(), "selin")
    clock.now = START + timedelta(days=1)
    second = town.start(
        "ariza_bildirimi", _fault(gelis_yolu="posta_kutusu", ariza_turu="su"), "selin"
    )
    clock.now = START + timedelta(days=3)
    still_open = town.start(
        "ariza_bildirimi", _fault(semt="Sarımsaklı", baslik="Su borusu patladı"), "selin"
    )
    for case, answered_on in ((first, 2), (second, 5)):
        clock.now = START + timedelta(days=answered_on)
        town.fire(case.reference, "yonlendir", "selin", data={"birim_adi": "fen_isleri"})
        town.fire(case.reference, "yanitla", "kemal", data={"yanit": "Onarıldı."})
    clock.now = START + timedelta(days=20)  # the open one is past its 10 days

    report = reports.desk_report(town, date(2026, 3, 1), date(2026, 3, 31), "ariza_bildirimi")

    assert (report.requests, report.answered, report.open) == (3, 2, 1)
    assert report.by_channel == {"hat": 2, "posta_kutusu": 1}
    assert report.by_type == {"elektrik": 2, "su": 1}
    assert report.by_neighbourhood == {"Cunda": 2, "Sarımsaklı": 1}
    rows = {row.directorate: row for row in report.directorates}
    assert rows["fen_isleri"].title == "Fen İşleri Müdürlüğü"
    assert (rows["fen_isleri"].requests, rows["fen_isleri"].answered) == (2, 2)
    assert rows["fen_isleri"].median_days == 3.0  # two days and four days
    assert rows["kurum_disi"].within_deadline == 0.0  # open and late
    [late] = report.longest_open
    assert (late.reference, late.subject, late.neighbourhood) == (
        still_open.reference,
        "Su borusu patladı",
        "Sarımsaklı",
    )
    page = reports.to_html(report)
    for printed in ("Telefon hattı", "E-posta kutusu", "Elektrik arızası", "Su arızası"):
        assert printed in page
    assert "Şükrü Öztürk" not in page  # the report shows no personal data
    assert "desk" not in report.as_json()  # the JSON gives values, not their titles


def test_a_flow_without_desk_has_no_report_and_a_plain_receipt(town: Engine) -> None:
    """The report names the flow and what to add; the receipt leaves out what it cannot know."""
    with pytest.raises(ConfigurationError) as refused:
        reports.desk_report(town, date(2026, 3, 1), date(2026, 3, 31), "dilekce")
    assert "'dilekce'" in str(refused.value) and "desk:" in str(refused.value)
    assert "\n" not in str(refused.value)
    case = town.start("dilekce", _fault(), "selin")
    made = receipts.receipt(town, case.reference, "selin")
    assert (made.channel, made.applicant, made.subject) == ("", "", "Dilekçe")
    page = receipts.to_html(made)
    assert "Başvuru kanalı" not in page and "Şükrü Öztürk" not in page
    with pytest.raises(NotFound):  # no phone field is declared: only the status code proves it
        citizen.lookup(town, case.reference, "4567", client="10.0.0.9")
    assert citizen.lookup(town, case.reference, made.status_code or "", "10.0.0.9")


def test_a_request_from_before_the_desk_section_is_read_with_the_newest_file(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """A case started on a version without `desk:` gets its applicant and channel
    printed, and its phone accepted, once the flow's newest file declares them."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "organization.yaml").write_text(ORGANIZATION, encoding="utf-8")
    without = ARIZA[: ARIZA.index("desk:")] + ARIZA[ARIZA.index("start: kayit") :]
    (flows / "ariza_bildirimi.yaml").write_text(without, encoding="utf-8")
    with Engine.open(db_url, flows, upgrade=True, clock=clock) as engine:
        engine.add_person("selin", "Selin Aksoy", ["santral"])
        old = engine.start("ariza_bildirimi", _fault(), "selin")
        assert receipts.receipt(engine, old.reference, "selin").applicant == ""
    (flows / "ariza_bildirimi.yaml").write_text(
        ARIZA.replace("version: 1", "version: 2"), encoding="utf-8"
    )
    with Engine.open(db_url, flows, upgrade=True, clock=clock) as engine:
        assert engine.get(old.reference).version == 1
        made = receipts.receipt(engine, old.reference, "selin")
        assert (made.applicant, made.channel) == ("Şükrü Öztürk", "Telefon hattı")
        assert citizen.lookup(engine, old.reference, "4567", client="10.0.0.9")

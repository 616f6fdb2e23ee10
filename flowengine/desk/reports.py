"""The desk's report: how many requests came, by which way, and how fast they were answered.

``flowengine report bizim-masa --from 2026-01-01 --to 2026-12-31 -o rapor.html``
(or ``--json``) counts the requests started in the period by channel,
neighbourhood, directorate, type and month, and measures the time from a
request to its *final reply* (the first event marked ``reply: final`` in the
flow), its median and 90th percentile, and the share answered within the
legal deadline (the instance's deadline, ``sla`` of the flow: 30 days under
Law 3071). Open cases past their deadline count as late. The longest-open
cases close the report.

Figures are computed in one pass over two streamed queries (no per-case
queries), so 100,000 requests take seconds. The HTML is one self-contained
page in Turkish, with inline SVG charts and print styles; it never shows
personal data.

Which fields hold the channel, the request's kind, the neighbourhood, the
directorate and the subject is the flow's ``desk:`` section (and how their
values are printed, its ``titles``); a flow without one has no report. A key
it leaves out is left out of the report.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import runtime, schema
from flowengine.engine import Engine
from flowengine.errors import ConfigurationError, InvalidData
from flowengine.receipt_text import MONTHS_TR

OUTSIDE = "kurum_disi"  # the row of requests no directorate was given


@dataclass
class DirectorateRow:
    directorate: str
    title: str
    requests: int
    answered: int
    median_days: float | None
    p90_days: float | None
    within_deadline: float | None  # share of those due (answered, or open and late)


@dataclass
class OpenCase:
    reference: str
    subject: str
    neighbourhood: str
    directorate: str
    state: str
    days_open: float


@dataclass
class DeskReport:
    flow: str
    title: str
    period_from: str
    period_to: str
    generated_at: str
    requests: int
    answered: int
    open: int
    median_days: float | None
    p90_days: float | None
    within_deadline: float | None
    by_channel: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_neighbourhood: dict[str, int] = field(default_factory=dict)
    by_month: dict[str, int] = field(default_factory=dict)
    directorates: list[DirectorateRow] = field(default_factory=list)
    longest_open: list[OpenCase] = field(default_factory=list)
    # how the pages print channel and kind values (the flow's `desk: titles`)
    desk: schema.DeskDoc = field(default_factory=schema.DeskDoc)

    def as_json(self) -> dict[str, Any]:
        """The figures; values as stored, not their printed titles."""
        figures = asdict(self)
        del figures["desk"]
        return figures

    def channel_title(self, value: str) -> str:
        return self.desk.title(self.desk.channel, value)

    def kind_title(self, value: str) -> str:
        return self.desk.title(self.desk.kind, value)


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 1)


def desk_report(
    engine: Engine, start: date, end: date, flow: str = "bizim_masa", longest: int = 10
) -> DeskReport:
    """The report of requests started from ``start`` to ``end`` (both days included)."""
    if end < start:
        raise InvalidData({"to": f"the period ends ({end}) before it starts ({start})"})
    definition = engine.definition(flow)
    desk = definition.doc.desk
    if desk is None:
        raise ConfigurationError(
            f"flow '{flow}' has no 'desk:' section, so the report cannot tell which fields "
            "hold the channel, kind, place and directorate; add one "
            "(e.g. desk: {channel: kanal, directorate: mudurluk}, docs/flow-language.md)"
        )
    dimensions = [
        (key, name) for key, name in (("channel", desk.channel), ("type", desk.kind)) if name
    ]
    finals = sorted(
        {
            eid
            for name in definition.states
            for eid, event in definition.events(name).items()
            if event.reply == "final"
        }
    )
    if not finals:
        raise InvalidData(
            {"flow": f"'{flow}' marks no event 'reply: final'; nothing says when it answers"}
        )
    # the period is in the municipality's days, not UTC's
    zone = ZoneInfo(engine.timezone)
    since = datetime.combine(start, time(), tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone)
    now = engine.clock()
    titles = engine.organization.directorates if engine.organization else {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    per_directorate: dict[str, list[float]] = defaultdict(list)
    due: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    all_days: list[float] = []
    opened: list[OpenCase] = []
    with engine.case_rows() as unit:
        # a merged duplicate is answered with its original's reply
        replies = unit.first_events(flow, [*finals, runtime.MERGED_REPLY], since, until)
        for case in unit.cases_started(flow, since, until):
            data = case["data"]
            directorate = str(data.get(desk.directorate) or OUTSIDE) if desk.directorate else ""
            for key, name in dimensions:
                counts[key][str(data.get(name))] += 1
            if desk.place:
                counts["neighbourhood"][str(data.get(desk.place) or "belirtilmemiş")] += 1
            created: datetime = case["created_at"]
            local = created.astimezone(zone)
            counts["month"][f"{local.year}-{local.month:02d}"] += 1
            requests[directorate] += 1
            replied = replies.get(case["id"])
            clock = case["clock"]  # the statutory deadline outlives the reply; due_at not
            deadline: datetime | None = (
                datetime.fromisoformat(clock["deadline"]) if clock else case["due_at"]
            )
            if replied is not None:
                days = (replied - created).total_seconds() / 86400
                all_days.append(days)
                per_directorate[directorate].append(days)
                if deadline is not None:
                    due[directorate] += 1
                    on_time[directorate] += replied <= deadline
            else:
                running = case["status"] == "active" and not (clock and clock.get("paused_at"))
                if running and deadline is not None and deadline < now:
                    due[directorate] += 1  # open, its clock running, and late
                if case["status"] == "active":
                    opened.append(
                        OpenCase(
                            case["reference"],
                            str(data.get(desk.subject) or "") if desk.subject else "",
                            str(data.get(desk.place) or "") if desk.place else "",
                            directorate,
                            " | ".join(case["states"]),
                            round((now - created).total_seconds() / 86400, 1),
                        )
                    )
    rows = [
        DirectorateRow(
            directorate=name,
            title=titles[name].title if name in titles else "Kurum dışı",
            requests=requests[name],
            answered=len(per_directorate[name]),
            median_days=(
                round(statistics.median(per_directorate[name]), 1)
                if per_directorate[name]
                else None
            ),
            p90_days=_percentile(per_directorate[name], 0.9),
            within_deadline=round(on_time[name] / due[name], 3) if due[name] else None,
        )
        for name in sorted(requests, key=lambda n: (-requests[n], n))
        if desk.directorate  # a flow without one has no rows, only the totals
    ]
    total_due = sum(due.values())
    opened.sort(key=lambda c: -c.days_open)
    return DeskReport(
        flow=flow,
        title=definition.title,
        period_from=start.isoformat(),
        period_to=end.isoformat(),
        generated_at=now.isoformat(timespec="seconds"),
        requests=sum(requests.values()),
        answered=len(all_days),
        open=len(opened),
        median_days=round(statistics.median(all_days), 1) if all_days else None,
        p90_days=_percentile(all_days, 0.9),
        within_deadline=round(sum(on_time.values()) / total_due, 3) if total_due else None,
        by_channel=dict(counts["channel"].most_common()),
        by_type=dict(counts["type"].most_common()),
        by_neighbourhood=dict(counts["neighbourhood"].most_common()),
        by_month=dict(sorted(counts["month"].items())),
        directorates=rows,
        longest_open=opened[:longest],
        desk=desk,
    )


# -- HTML ---------------------------------------------------------------------------


def _number(value: float) -> str:
    """Turkish digits: 12.345 and 3,5."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _share(value: float | None) -> str:
    return "—" if value is None else "%" + _number(round(value * 100, 1))


def _days(value: float | None) -> str:
    return "—" if value is None else f"{_number(value)} gün"


def _date_tr(iso: str) -> str:
    day = date.fromisoformat(iso[:10])
    return f"{day.day} {MONTHS_TR[day.month - 1]} {day.year}"


def _bars(items: list[tuple[str, int]], width: int = 560) -> str:
    """Horizontal bars, one row per item, the value at the end of each bar."""
    if not items:
        return "<p>Veri yok.</p>"
    most = max(value for _, value in items) or 1
    row, label_width = 22, 170
    height = row * len(items) + 4
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = i * row + 2
        length = max(1, int((width - label_width - 60) * value / most))
        name = html.escape(label)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{name}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="{row - 6}" rx="2"/>'
            f'<text x="{label_width + length + 6}" y="{y + 15}">{_number(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _columns(items: list[tuple[str, int]], width: int = 720, height: int = 220) -> str:
    """Vertical bars over time (one per month), labels under them."""
    if not items:
        return "<p>Veri yok.</p>"
    most = max(value for _, value in items) or 1
    slot = width / len(items)
    parts = [f'<svg viewBox="0 0 {width} {height + 40}" width="{width}" role="img">']
    for i, (label, value) in enumerate(items):
        bar = (height - 20) * value / most
        x = i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bar:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar:.1f}" rx="2"/>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - bar - 4:.1f}" '
            f'text-anchor="middle" class="small">{_number(value)}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height + 16}" text-anchor="middle" '
            f'class="small">{html.escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS_TR[int(month) - 1][:3]} {year[2:]}"


def to_html(report: DeskReport) -> str:
    """The report as one printable HTML page, in Turkish."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(r.title)}</td><td>{_number(r.requests)}</td><td>{_number(r.answered)}</td>"
        f"<td>{_days(r.median_days)}</td><td>{_days(r.p90_days)}</td>"
        f'<td class="{_grade(r.within_deadline)}">{_share(r.within_deadline)}</td></tr>'
        for r in report.directorates
    )
    longest = "".join(
        f"<tr><td>{e(c.reference)}</td><td>{e(c.subject)}</td><td>{e(c.neighbourhood)}</td>"
        f"<td>{e(c.directorate)}</td><td>{e(c.state)}</td><td>{_days(c.days_open)}</td></tr>"
        for c in report.longest_open
    )
    channels = [(report.channel_title(k), v) for k, v in report.by_channel.items()]
    types = [(report.kind_title(k), v) for k, v in report.by_type.items()]
    places = list(report.by_neighbourhood.items())[:12]
    months = [(_month_label(k), v) for k, v in report.by_month.items()]
    return f"""<!doctype html>
<html lang="tr"><head><meta charset="utf-8">
<title>{e(report.title)} raporu</title>
<style>
 body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #1b1b1b; }}
 h1 {{ font-size: 1.5em; margin-bottom: 0; }} h2 {{ font-size: 1.15em; margin-top: 2em; }}
 .period {{ color: #555; }}
 .figures {{ display: flex; gap: 1.5em; flex-wrap: wrap; margin: 1.5em 0; }}
 .figure {{ border: 1px solid #ccd; border-radius: 6px; padding: .6em 1em; min-width: 9em; }}
 .figure b {{ display: block; font-size: 1.6em; }}
 svg text {{ font-size: 12px; fill: #1b1b1b; }} svg text.small {{ font-size: 10px; }}
 svg rect {{ fill: #2f6db5; }}
 table {{ border-collapse: collapse; width: 100%; }}
 th, td {{ border-bottom: 1px solid #dde; padding: .35em .5em; text-align: left; }}
 td.good {{ color: #1d7a32; font-weight: bold; }} td.fair {{ color: #9a6a00; }}
 td.poor {{ color: #b3261e; font-weight: bold; }}
 .two {{ display: flex; gap: 2em; flex-wrap: wrap; }}
 @media print {{ body {{ margin: 0; }} h2 {{ break-after: avoid; }} }}
</style></head><body>
<h1>{e(report.title)} — başvuru raporu</h1>
<p class="period">{_date_tr(report.period_from)} – {_date_tr(report.period_to)} arasında
alınan başvurular; {_date_tr(report.generated_at)} tarihinde hazırlandı.</p>
<div class="figures">
 <div class="figure"><b>{_number(report.requests)}</b>başvuru</div>
 <div class="figure"><b>{_number(report.answered)}</b>cevaplandı</div>
 <div class="figure"><b>{_number(report.open)}</b>açık</div>
 <div class="figure"><b>{_days(report.median_days)}</b>cevap süresi (ortanca)</div>
 <div class="figure"><b>{_days(report.p90_days)}</b>cevap süresi (%90)</div>
 <div class="figure"><b>{_share(report.within_deadline)}</b>yasal sürede cevap</div>
</div>
<h2>Aylara göre başvurular</h2>
{_columns(months)}
<div class="two">
 <div><h2>Kanallara göre</h2>{_bars(channels, 460)}</div>
 <div><h2>Başvuru türüne göre</h2>{_bars(types, 460)}</div>
</div>
<h2>Mahallelere göre (ilk 12)</h2>
{_bars(places)}
<h2>Müdürlüklere göre cevap süresi ve yasal süreye uyum</h2>
<table><thead><tr><th>Müdürlük</th><th>Başvuru</th><th>Cevaplanan</th><th>Ortanca</th>
<th>%90</th><th>Yasal sürede</th></tr></thead><tbody>{rows}</tbody></table>
<h2>En uzun süredir açık başvurular</h2>
<table><thead><tr><th>Referans</th><th>Konu</th><th>Mahalle</th><th>Müdürlük</th>
<th>Adım</th><th>Açık</th></tr></thead><tbody>{longest}</tbody></table>
</body></html>
"""


def _grade(share: float | None) -> str:
    if share is None:
        return ""
    return "good" if share >= 0.95 else "fair" if share >= 0.8 else "poor"


# -- PDF ----------------------------------------------------------------------------

# A TrueType font with the Turkish letters (fpdf2's built-in fonts are Latin-1).
PDF_FONT_ENV = "FLOWENGINE_PDF_FONT"
PDF_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)


def _pdf_font() -> str:
    import os
    from pathlib import Path

    chosen = os.environ.get(PDF_FONT_ENV)
    for candidate in ([chosen] if chosen else []) + list(PDF_FONTS):
        if Path(candidate).is_file():
            return candidate
    raise ConfigurationError(
        "a PDF needs a TrueType font with Turkish letters: install DejaVu Sans "
        f"(Debian: fonts-dejavu-core) or set {PDF_FONT_ENV} to a .ttf file"
    )


def to_pdf(report: DeskReport) -> bytes:
    """The report as an A4 PDF: the figures, the charts drawn as bars, the tables."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", _pdf_font())
    pdf.add_page()
    pdf.set_title(f"{report.title} raporu")
    pdf.set_font("DejaVu", size=15)
    pdf.cell(0, 8, f"{report.title} — başvuru raporu", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    pdf.cell(
        0,
        6,
        f"{_date_tr(report.period_from)} – {_date_tr(report.period_to)} arasında alınan "
        f"başvurular; {_date_tr(report.generated_at)} tarihinde hazırlandı.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    figures = [
        (_number(report.requests), "başvuru"),
        (_number(report.answered), "cevaplandı"),
        (_number(report.open), "açık"),
        (_days(report.median_days), "cevap süresi (ortanca)"),
        (_days(report.p90_days), "cevap süresi (%90)"),
        (_share(report.within_deadline), "yasal sürede cevap"),
    ]
    for value, label in figures:
        pdf.set_font("DejaVu", size=12)
        pdf.cell(30, 7, value)
        pdf.set_font("DejaVu", size=9)
        pdf.cell(0, 7, label, new_x="LMARGIN", new_y="NEXT")
    months = [(_month_label(k), v) for k, v in report.by_month.items()]
    _pdf_heading(pdf, "Aylara göre başvurular")
    _pdf_bars(pdf, months)
    _pdf_heading(pdf, "Kanallara göre")
    _pdf_bars(pdf, [(report.channel_title(k), v) for k, v in report.by_channel.items()])
    _pdf_heading(pdf, "Başvuru türüne göre")
    _pdf_bars(pdf, [(report.kind_title(k), v) for k, v in report.by_type.items()])
    _pdf_heading(pdf, "Mahallelere göre (ilk 12)")
    _pdf_bars(pdf, list(report.by_neighbourhood.items())[:12])
    _pdf_heading(pdf, "Müdürlüklere göre cevap süresi ve yasal süreye uyum")
    _pdf_table(
        pdf,
        ("Müdürlük", "Başvuru", "Cevaplanan", "Ortanca", "%90", "Yasal sürede"),
        (62, 22, 24, 24, 24, 26),
        [
            (r.title, _number(r.requests), _number(r.answered), _days(r.median_days),
             _days(r.p90_days), _share(r.within_deadline))
            for r in report.directorates
        ],
    )  # fmt: skip
    _pdf_heading(pdf, "En uzun süredir açık başvurular")
    _pdf_table(
        pdf,
        ("Referans", "Konu", "Mahalle", "Adım", "Açık"),
        (32, 58, 34, 40, 18),
        [
            (c.reference, c.subject[:34], c.neighbourhood[:20], c.state[:24], _days(c.days_open))
            for c in report.longest_open
        ],
    )
    return bytes(pdf.output())


def _pdf_heading(pdf: Any, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("DejaVu", size=11)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=8)


def _pdf_bars(pdf: Any, items: list[tuple[str, int]]) -> None:
    """One horizontal bar per item, its value at its end."""
    most = max((value for _, value in items), default=0) or 1
    width = 120.0
    for label, value in items:
        if pdf.get_y() + 5 > pdf.page_break_trigger:  # label, bar and value on one page
            pdf.add_page()
        x, y = pdf.l_margin, pdf.get_y()
        pdf.cell(45, 5, label[:28])
        length = max(0.5, width * value / most)
        pdf.set_fill_color(47, 109, 181)
        pdf.rect(x + 46, y + 1, length, 3.2, style="F")
        pdf.set_xy(x + 48 + length, y)
        pdf.cell(20, 5, _number(value), new_x="LMARGIN", new_y="NEXT")


def _pdf_table(
    pdf: Any, head: tuple[str, ...], widths: tuple[int, ...], rows: list[tuple[str, ...]]
) -> None:
    pdf.set_font("DejaVu", size=8)
    for text, width in zip(head, widths, strict=True):
        pdf.cell(width, 6, text, border="B")
    pdf.ln()
    for row in rows:
        for text, width in zip(row, widths, strict=True):
            pdf.cell(width, 5, text)
        pdf.ln()

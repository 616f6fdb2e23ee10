"""The receipt (alındı belgesi) a citizen gets for a request: printable, and as text.

``flowengine receipt REF --as PERSON [-o alindi.html | --text]``. It names the
municipality, the reference number, when the request was received and by which
channel, its subject, the law it falls under and the date by which it must be
answered (the statutory deadline of ``clocks.py``, else the flow's own). The
citizen's name is printed only for a viewer entitled to personal data (the
desk that hands the receipt over); for anyone else it is masked.

The receipt's content and text live in ``receipt_text.py``, below the engine
(which sends the text as the citizen's first e-mail); this module sits above it.
The fields printed are the flow's ``desk:`` (applicant, channel, subject).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from flowengine.desk import desk_fields
from flowengine.receipt_text import Receipt, build, day_tr, moment_tr

if TYPE_CHECKING:
    from flowengine.engine import Engine

__all__ = ["Receipt", "build", "receipt", "to_html"]


def receipt(engine: Engine, ref: str, viewer: str) -> Receipt:
    """The receipt of ``ref`` as ``viewer`` may print it (scoped and masked by role)."""
    view = engine.view(ref, viewer)
    definition = engine.definition(view.instance.flow, view.instance.version)
    return build(
        view.instance,
        view.data,
        definition,
        engine.organization,
        with_status_code=view.personal_visible,
        desk=desk_fields(engine, definition),
        timezone=engine.timezone,
    )


def to_html(receipt: Receipt) -> str:
    """One A5-sized page to print and hand over; a field the flow's ``desk:`` does
    not name (no channel, no applicant) is left off."""
    e = html.escape
    rows = [
        ("Referans numarası", receipt.reference),
        ("Alındığı tarih", moment_tr(receipt.received_at, receipt.timezone)),
        ("Başvuru kanalı", receipt.channel),
        ("Başvuru sahibi", receipt.applicant),
        ("Konu", receipt.subject),
    ]
    rows = [(label, value) for label, value in rows if value]
    if receipt.law:
        rows.append(("Yasal dayanak", receipt.law))
    if receipt.answer_by is not None:
        rows.append(("En geç cevap tarihi", day_tr(receipt.answer_by, receipt.timezone)))
    if receipt.status_code:
        rows.append(("Durum sorgulama kodu", receipt.status_code))
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f"""<!doctype html>
<html lang="tr"><head><meta charset="utf-8"><title>Alındı belgesi {e(receipt.reference)}</title>
<style>
 @page {{ size: A5; margin: 14mm; }}
 body {{ font-family: "DejaVu Sans", Arial, sans-serif; color: #111; }}
 h1 {{ font-size: 1.2em; text-align: center; margin: 0; }}
 h2 {{ font-size: 1em; text-align: center; font-weight: normal; margin: .2em 0 1.2em; }}
 table {{ width: 100%; border-collapse: collapse; }}
 th {{ text-align: left; width: 40%; vertical-align: top; padding: .3em; color: #444; }}
 td {{ padding: .3em; border-bottom: 1px solid #ccc; }}
 p {{ font-size: .9em; margin-top: 1.5em; }}
</style></head><body>
<h1>{e(receipt.municipality)}</h1>
<h2>{e(receipt.desk)} — ALINDI BELGESİ</h2>
<table>{body}</table>
<p>Başvurunuzun durumunu referans numarasıyla sorabilirsiniz.</p>
</body></html>
"""

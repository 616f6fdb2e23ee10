"""The receipt (alındı belgesi) a citizen gets for a request: printable, and as text.

``flowengine receipt REF --as PERSON [-o alindi.html | --text]``. It names the
municipality, the reference number, when the request was received and by which
channel, its subject, the law it falls under and the date by which it must be
answered (the statutory deadline of ``clocks.py``, else the flow's own). The
citizen's name is printed only for a viewer entitled to personal data (the
desk that hands the receipt over); for anyone else it is masked.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flowengine import schema
from flowengine.definition import FlowDefinition
from flowengine.instance import Instance
from flowengine.reports import CHANNELS_TR, MONTHS_TR

if TYPE_CHECKING:
    from flowengine.engine import Engine


@dataclass(frozen=True)
class Receipt:
    municipality: str
    desk: str
    reference: str
    received_at: datetime
    channel: str
    subject: str
    applicant: str
    law: str | None
    answer_by: datetime | None
    status_code: str | None = None  # the citizen's second factor on /durum

    def text(self) -> str:
        """The receipt as the first message to the citizen (SMS or e-mail body)."""
        lines = [
            f"{self.municipality} — {self.desk}",
            f"Başvurunuz {_when(self.received_at)} tarihinde {self.reference} numarasıyla "
            f"alınmıştır ({self.channel}).",
            f"Konu: {self.subject}",
        ]
        if self.answer_by is not None:
            law = f"{self.law} uyarınca " if self.law else ""
            lines.append(f"{law}en geç {_day(self.answer_by)} tarihine kadar cevaplanacaktır.")
        if self.status_code:
            lines.append(
                f"Başvurunuzun durumunu {self.reference} numarası ve {self.status_code} "
                "durum sorgulama koduyla /durum sayfasından sorabilirsiniz."
            )
        else:
            lines.append(f"Başvurunuzun durumunu {self.reference} numarasıyla sorabilirsiniz.")
        return "\n".join(lines)


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
    )


def build(
    instance: Instance,
    data: Mapping[str, Any],
    definition: FlowDefinition,
    organization: schema.OrganizationDoc | None,
    with_status_code: bool = False,
) -> Receipt:
    """The receipt of ``instance`` showing ``data`` (masked or not, as the caller saw it).

    ``with_status_code``: print the citizen's status code (only for the citizen,
    or the desk that hands the receipt over).
    """
    from flowengine.citizen import status_code

    law = None
    answer_by = instance.due_at
    if instance.clock:
        law = definition.doc.legal_bases[instance.clock["basis"]].title
        answer_by = datetime.fromisoformat(instance.clock["deadline"])
    desk = definition.doc.unit
    if organization and definition.doc.directorate in organization.directorates:
        units = organization.directorates[definition.doc.directorate].units
        desk = units[desk].title if desk in units else desk
    return Receipt(
        municipality=(organization.municipality if organization else None) or "Belediye",
        desk=desk,
        reference=instance.reference,
        received_at=instance.created_at,
        channel=CHANNELS_TR.get(str(data.get("kanal")), str(data.get("kanal") or "")),
        subject=str(data.get("konu") or definition.title),
        applicant=str(data.get("ad_soyad") or ""),
        law=law,
        answer_by=answer_by,
        status_code=status_code(instance) if with_status_code else None,
    )


def to_html(receipt: Receipt) -> str:
    """One A5-sized page to print and hand over."""
    e = html.escape
    rows = [
        ("Referans numarası", receipt.reference),
        ("Alındığı tarih", _when(receipt.received_at)),
        ("Başvuru kanalı", receipt.channel),
        ("Başvuru sahibi", receipt.applicant),
        ("Konu", receipt.subject),
    ]
    if receipt.law:
        rows.append(("Yasal dayanak", receipt.law))
    if receipt.answer_by is not None:
        rows.append(("En geç cevap tarihi", _day(receipt.answer_by)))
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


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("Europe/Istanbul"))


def _day(moment: datetime) -> str:
    local = _local(moment)
    return f"{local.day} {MONTHS_TR[local.month - 1]} {local.year}"


def _when(moment: datetime) -> str:
    return f"{_day(moment)} {_local(moment):%H:%M}"

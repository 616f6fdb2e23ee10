"""A receipt's content and text: what the engine sends as the citizen's first e-mail.

The engine builds the receipt of a new request from the instance, its data,
its definition and the organisation, and sends :meth:`Receipt.text`; the
citizen's status code (their second factor on ``/durum``) is derived here from
the instance's own salt. Printing the receipt (``receipts.py``), the desk report
and the status lookup sit above the engine and import this module.

Which fields hold the applicant, the channel and the subject is the flow's
``desk:`` section; a flow without one prints none of them. Dates are printed
in the municipality's time zone (``Engine.timezone``).

Imports only definition-, instance- and schema-level modules: the engine
imports it, so anything above the engine here would be an import cycle.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import schema
from flowengine.definition import FlowDefinition
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.instance import Instance

MONTHS_TR = (
    "Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran",
    "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık",
)  # fmt: skip


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
    timezone: str = DEFAULT_TIMEZONE  # the municipality's: dates are printed in it

    def text(self) -> str:
        """The receipt as the first message to the citizen (SMS or e-mail body)."""
        received = moment_tr(self.received_at, self.timezone)
        channel = f" ({self.channel})" if self.channel else ""
        lines = [
            f"{self.municipality} — {self.desk}",
            f"Başvurunuz {received} tarihinde {self.reference} numarasıyla alınmıştır{channel}.",
            f"Konu: {self.subject}",
        ]
        if self.answer_by is not None:
            law = f"{self.law} uyarınca " if self.law else ""
            by = day_tr(self.answer_by, self.timezone)
            lines.append(f"{law}en geç {by} tarihine kadar cevaplanacaktır.")
        if self.status_code:
            lines.append(
                f"Başvurunuzun durumunu {self.reference} numarası ve {self.status_code} "
                "durum sorgulama koduyla /durum sayfasından sorabilirsiniz."
            )
        else:
            lines.append(f"Başvurunuzun durumunu {self.reference} numarasıyla sorabilirsiniz.")
        return "\n".join(lines)


def status_code(instance: Instance) -> str | None:
    """The 8-character code printed on the receipt; None for instances without a salt."""
    if not instance.audit_salt:
        return None
    digest = hmac.new(
        instance.audit_salt.encode(), f"durum:{instance.id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest).decode()[:8]


def build(
    instance: Instance,
    data: Mapping[str, Any],
    definition: FlowDefinition,
    organization: schema.OrganizationDoc | None,
    with_status_code: bool = False,
    *,
    desk: schema.DeskDoc | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Receipt:
    """The receipt of ``instance`` showing ``data`` (masked or not, as the caller saw it).

    ``with_status_code``: print the citizen's status code (only for the citizen,
    or the desk that hands the receipt over). ``desk``: which fields to print,
    ``definition``'s own ``desk:`` when not given (a request started on an older
    version is printed by the newest file's); a flow without one prints only
    the reference, the dates and the law.
    """
    spec = desk or definition.doc.desk or schema.DeskDoc()
    law = None
    answer_by = instance.due_at
    if instance.clock:
        law = definition.doc.legal_bases[instance.clock["basis"]].title
        answer_by = datetime.fromisoformat(instance.clock["deadline"])
    unit = definition.doc.unit
    if organization and definition.doc.directorate in organization.directorates:
        units = organization.directorates[definition.doc.directorate].units
        unit = units[unit].title if unit in units else unit
    return Receipt(
        municipality=(organization.municipality if organization else None) or "Belediye",
        desk=unit,
        reference=instance.reference,
        received_at=instance.created_at,
        channel=spec.title(spec.channel, _value(data, spec.channel)),
        subject=str(_value(data, spec.subject) or definition.title),
        applicant=str(_value(data, spec.applicant) or ""),
        law=law,
        answer_by=answer_by,
        status_code=status_code(instance) if with_status_code else None,
        timezone=timezone,
    )


def _value(data: Mapping[str, Any], name: str | None) -> Any:
    return data.get(name) if name else None


def day_tr(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """``5 Aralık 2026``, in the municipality's time zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {MONTHS_TR[local.month - 1]} {local.year}"


def moment_tr(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """``5 Aralık 2026 14:30``, in the municipality's time zone."""
    return f"{day_tr(moment, timezone)} {moment.astimezone(ZoneInfo(timezone)):%H:%M}"

"""What a citizen may learn about their own request, and how they prove it is theirs.

The status page (``/durum``) asks for the reference number and a second
factor: the last four digits of the phone number given with the request (the
field the flow's ``desk: phone`` names), or the status code printed on the
receipt. The code is derived from the
instance's own random salt, so it needs no column and cannot be guessed from
the reference. Failed lookups are throttled per client and per reference.

A citizen sees where the request stands, the answer deadline and the replies
addressed to them (events marked ``reply:``), never the request's personal
data, internal notes or anyone else's request.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flowengine import runtime
from flowengine.accounts import Accounts, Throttle
from flowengine.desk import desk_fields
from flowengine.duplicates import phone_digits
from flowengine.errors import NotFound, UnknownInstance
from flowengine.instance import Instance
from flowengine.receipt_text import status_code as status_code  # re-exported: web uses it

if TYPE_CHECKING:
    from flowengine.engine import Engine

STATUS_THROTTLE = Throttle("status lookup", limit=5, window=timedelta(minutes=15))
_NO_MATCH = "no request with that reference number and code; check both and try again"


@dataclass(frozen=True)
class PublicReply:
    at: datetime
    title: str
    text: str
    final: bool


@dataclass(frozen=True)
class PublicStatus:
    reference: str
    flow_title: str
    received_at: datetime
    status: str  # active, completed, cancelled, merged
    step: str  # the title of the current step, or of the end reached
    answer_by: datetime | None
    replies: tuple[PublicReply, ...]


def _matches(instance: Instance, factor: str, phone_field: str | None) -> bool:
    given = factor.strip().replace(" ", "").upper()
    if not given:
        return False
    code = status_code(instance)
    if code is not None and hmac.compare_digest(given.encode(), code.encode()):
        return True
    if phone_field is None or re.fullmatch("[0-9]{4}", given) is None:
        return False
    phone = phone_digits(instance.data.get(phone_field))
    return phone is not None and hmac.compare_digest(phone[-4:].encode(), given.encode())


def lookup(engine: Engine, reference: str, factor: str, client: str) -> PublicStatus:
    """The public status of ``reference`` if ``factor`` proves it is the asker's.

    Every failure is the same :class:`NotFound` (an unknown reference must not
    be told apart from a wrong code) and counts towards the throttle.
    """
    accounts = Accounts(engine)
    reference = reference.strip().upper()
    keys = (f"durum:client:{client[:100]}", f"durum:ref:{reference[:100]}")
    accounts.check(STATUS_THROTTLE, keys)
    try:
        instance = engine.get(reference)
    except UnknownInstance:
        instance = None
    if (
        instance is None
        or instance.reference != reference
        or not _matches(instance, factor, _phone_field(engine, instance))
    ):
        accounts.fail(STATUS_THROTTLE, keys)
        raise NotFound(_NO_MATCH)
    return public_status(engine, instance)


def _phone_field(engine: Engine, instance: Instance) -> str | None:
    """The field whose last four digits prove the request (``desk: phone``), if any."""
    desk = desk_fields(engine, engine.definition(instance.flow, instance.version))
    return desk.phone if desk is not None else None


def public_status(engine: Engine, instance: Instance) -> PublicStatus:
    definition = engine.definition(instance.flow, instance.version)
    states = [s for s in instance.states if s in definition.states]
    step = " / ".join(definition.states[s].title for s in states) or instance.status
    answer_by = instance.due_at
    if instance.clock and instance.clock.get("deadline"):
        answer_by = datetime.fromisoformat(instance.clock["deadline"])
    replies: list[PublicReply] = []
    for entry in engine.history(instance.reference):
        if entry.event == runtime.MERGED_REPLY:  # the reply of the request this one was merged into
            texts = [_public_text(definition.fields, n, v) for n, v in entry.changes.items()]
            shown = [t for t in texts if t]
            if shown:
                replies.append(PublicReply(entry.at, "Cevap", "\n\n".join(shown), True))
            continue
        if entry.from_state not in definition.states:
            continue
        event = definition.events(entry.from_state).get(entry.event)
        if event is None or event.reply is None:
            continue
        texts = [
            _public_text(definition.fields, name, value) for name, value in entry.changes.items()
        ]
        shown = [t for t in texts if t]
        if event.reply == "interim" and entry.comment:
            shown.append(entry.comment)
        replies.append(
            PublicReply(
                entry.at, event.title or entry.event, "\n\n".join(shown), event.reply == "final"
            )
        )
    return PublicStatus(
        reference=instance.reference,
        flow_title=definition.title,
        received_at=instance.created_at,
        status=instance.status,
        step=step,
        answer_by=answer_by if instance.status == "active" else None,
        replies=tuple(replies),
    )


def _public_text(fields: dict[str, Any], name: str, change: Any) -> str | None:
    """A reply's text: the new value of a non-personal text field set by a reply event."""
    field = fields.get(name)
    if field is None or field.personal or field.type != "text":
        return None
    value = change[1] if isinstance(change, (list, tuple)) and len(change) == 2 else change
    return str(value) if value else None

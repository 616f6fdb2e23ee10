"""Statutory clocks: the legal deadline of a request, paused, resumed, extended, stopped.

A flow declares its ``legal_bases`` (each a ``limit`` and, where the law
allows one, an ``extended_limit``) and the enum field, ``legal_basis``, that
says which applies to an instance. The clock starts with the instance:

* ``clock: pause`` on an event stops it (waiting for a fee or for information
  the citizen must give); the instance has no deadline meanwhile;
* ``clock: resume`` starts it again; the deadline moves by the time it stood;
* ``clock: extend`` moves the deadline to ``extended_limit`` from the start
  (plus the time paused), once, and only before the first deadline has
  passed (Law 4982 art. 11: the extension and its reason are notified within
  the first period, so the event must also be ``reply: interim``);
* the first event marked ``reply: final`` stops it for good.

Pure functions over a small dict kept on the instance (``Instance.clock``);
times are ISO 8601 strings there so that the dict is plain JSON.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import schema
from flowengine.durations import DEFAULT_TIMEZONE, parse_duration
from flowengine.errors import InvalidData

Clock = dict[str, Any]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def start(
    doc: schema.FlowDoc, data: dict[str, Any], now: datetime, timezone: str = DEFAULT_TIMEZONE
) -> Clock | None:
    """The clock of a new instance, or None when the flow has no legal bases."""
    if not doc.legal_bases or doc.legal_basis is None:
        return None
    basis = data.get(doc.legal_basis)
    if basis is None:
        return None
    spec = doc.legal_bases[str(basis)]
    deadline = parse_duration(spec.limit).add_to(now, timezone)
    return {
        "basis": basis,
        "started_at": now.isoformat(),
        "deadline": deadline.isoformat(),
        "paused_at": None,
        "paused_seconds": 0.0,
        "extended": False,
        "replied_at": None,
    }


def deadline(clock: Clock | None) -> datetime | None:
    """When the instance must be answered: None when paused, answered or unclocked."""
    if not clock or clock.get("paused_at") or clock.get("replied_at"):
        return None
    return _at(clock["deadline"])


def apply(
    doc: schema.FlowDoc,
    clock: Clock | None,
    action: str,
    now: datetime,
    reference: str,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[Clock, str]:
    """Apply ``pause``, ``resume``, ``extend`` or ``reply``; (new clock, note for history)."""
    if clock is None:
        raise InvalidData(
            {"clock": "this case has no legal basis, so no clock to change"}, reference
        )
    if clock.get("replied_at"):
        if action == "reply":
            return clock, ""
        raise InvalidData(
            {"clock": "the citizen has had the final reply; the clock stopped"}, reference
        )
    clock = dict(clock)
    if action == "pause":
        if clock["paused_at"]:
            raise InvalidData({"clock": "the clock is already paused"}, reference)
        clock["paused_at"] = now.isoformat()
        return clock, "yasal süre durduruldu"
    if action == "resume":
        if not clock["paused_at"]:
            raise InvalidData({"clock": "the clock is not paused"}, reference)
        stood = now - _at(clock["paused_at"])
        clock["paused_seconds"] += stood.total_seconds()
        clock["deadline"] = (_at(clock["deadline"]) + stood).isoformat()
        clock["paused_at"] = None
        return clock, f"yasal süre yeniden başladı; yeni son gün {_day(clock['deadline'])}"
    if action == "extend":
        spec = doc.legal_bases[clock["basis"]]
        if spec.extended_limit is None:
            raise InvalidData(
                {"clock": f"the legal basis {clock['basis']} allows no extension"}, reference
            )
        if clock["extended"]:
            raise InvalidData({"clock": "the deadline was extended once already"}, reference)
        if clock["paused_at"] or now > _at(clock["deadline"]):
            raise InvalidData(
                {
                    "clock": "an extension must be notified before the first period ends "
                    f"({_day(clock['deadline'])}) while the clock runs"
                },
                reference,
            )
        started = _at(clock["started_at"])
        extended = parse_duration(spec.extended_limit).add_to(started, timezone)
        clock["deadline"] = (extended + timedelta(seconds=clock["paused_seconds"])).isoformat()
        clock["extended"] = True
        return clock, f"yasal süre uzatıldı; yeni son gün {_day(clock['deadline'])}"
    if action == "reply":
        if clock["paused_at"]:  # a final reply while paused stops the pause too
            clock["paused_seconds"] += (now - _at(clock["paused_at"])).total_seconds()
            clock["paused_at"] = None
        clock["replied_at"] = now.isoformat()
        on_time = now <= _at(clock["deadline"])
        return clock, "son cevap verildi, " + ("yasal sürede" if on_time else "yasal süre geçmişti")
    raise ValueError(f"unknown clock action {action!r}")


def _day(iso: str) -> str:
    return _at(iso).astimezone(ZoneInfo(DEFAULT_TIMEZONE)).strftime("%d.%m.%Y %H:%M")

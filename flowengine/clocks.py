"""Statutory clocks: the legal deadline of a request, paused, resumed, extended, stopped.

A flow declares its ``legal_bases`` (each a ``limit`` and, where the law
allows one, an ``extended_limit``) and the enum field, ``legal_basis``, that
says which applies to an instance. The law counts days, in Istanbul: a
deadline is the *end* of its last day, and a last day that is a weekend or
public holiday moves to the next working day. The clock starts with the
instance:

* ``clock: pause`` on an event stops it (waiting for a fee or for information
  the citizen must give); the instance has no deadline meanwhile;
* ``clock: resume`` starts it again; the deadline moves by the days it stood —
  calendar days for a limit in days, working days for one in working days;
* ``clock: extend`` moves the deadline to ``extended_limit`` from the start
  (plus the days paused), once, and only before the first deadline has passed
  (Law 4982 art. 11: the extension and its reason are notified within the
  first period, so the event must also be ``reply: interim``);
* the first event marked ``reply: final`` stops it for good (a paused clock
  resumes first, so the reply is judged against the moved deadline).

Pure functions over a small dict kept on the instance (``Instance.clock``);
times are ISO 8601 strings there so that the dict is plain JSON.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import schema
from flowengine.durations import (
    DEFAULT_TIMEZONE,
    Duration,
    add_working_days,
    is_working_day,
    parse_duration,
)
from flowengine.errors import InvalidData

Clock = dict[str, Any]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _end_of(day: date, timezone: str) -> datetime:
    """The last moment of ``day`` in ``timezone``, moved to the next working day first."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(timezone))


def _counts_working_days(limit: str) -> bool:
    return parse_duration(limit).working_days > 0


def _add(limit: Duration, day: date, timezone: str) -> date:
    noon = datetime.combine(day, time(12), tzinfo=ZoneInfo(timezone))
    return _local_day(limit.add_to(noon, timezone), timezone)


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
    first = _local_day(now, timezone)
    last = _add(parse_duration(spec.limit), first, timezone)
    return {
        "basis": basis,
        "started_at": now.isoformat(),
        "deadline": _end_of(last, timezone).isoformat(),
        "paused_at": None,
        "paused_days": 0,  # in the unit of the limit: calendar or working days
        "extended": False,
        "replied_at": None,
    }


def deadline(clock: Clock | None) -> datetime | None:
    """When the instance must be answered: None when paused, answered or unclocked."""
    if not clock or clock.get("paused_at") or clock.get("replied_at"):
        return None
    return _at(clock["deadline"])


def _stood(clock: Clock, doc: schema.FlowDoc, now: datetime, timezone: str) -> int:
    """Days the clock stood from its pause to ``now``, in its limit's unit."""
    paused, resumed = _local_day(_at(clock["paused_at"]), timezone), _local_day(now, timezone)
    if not _counts_working_days(doc.legal_bases[clock["basis"]].limit):
        return (resumed - paused).days
    return sum(is_working_day(paused + timedelta(days=i)) for i in range((resumed - paused).days))


def _shift(clock: Clock, doc: schema.FlowDoc, days: int, timezone: str) -> str:
    last = _local_day(_at(clock["deadline"]), timezone)
    if _counts_working_days(doc.legal_bases[clock["basis"]].limit):
        noon = datetime.combine(last, time(12), tzinfo=ZoneInfo(timezone))
        last = add_working_days(noon, days).date()
    else:
        last += timedelta(days=days)
    return _end_of(last, timezone).isoformat()


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
        problem = "this case has no legal basis, so no clock to change"
        raise InvalidData({"clock": problem}, reference)
    if clock.get("replied_at"):
        if action == "reply":
            return clock, ""
        problem = "the citizen has had the final reply; the clock stopped"
        raise InvalidData({"clock": problem}, reference)
    clock = dict(clock)
    if action == "pause":
        if clock["paused_at"]:
            raise InvalidData({"clock": "the clock is already paused"}, reference)
        clock["paused_at"] = now.isoformat()
        return clock, "yasal süre durduruldu"
    if action == "resume":
        if not clock["paused_at"]:
            raise InvalidData({"clock": "the clock is not paused"}, reference)
        _resume(clock, doc, now, timezone)
        return clock, f"yasal süre yeniden başladı; son gün {_day(clock['deadline'], timezone)}"
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
                    f"({_day(clock['deadline'], timezone)}) while the clock runs"
                },
                reference,
            )
        first = _local_day(_at(clock["started_at"]), timezone)
        last = _add(parse_duration(spec.extended_limit), first, timezone)
        clock["deadline"] = _end_of(last, timezone).isoformat()
        clock["deadline"] = _shift(clock, doc, clock["paused_days"], timezone)
        clock["extended"] = True
        return clock, f"yasal süre uzatıldı; son gün {_day(clock['deadline'], timezone)}"
    if action == "reply":
        if clock["paused_at"]:  # answered while it stood: the pause ends first
            _resume(clock, doc, now, timezone)
        clock["replied_at"] = now.isoformat()
        on_time = now <= _at(clock["deadline"])
        return clock, "son cevap verildi, " + ("yasal sürede" if on_time else "yasal süre geçmişti")
    raise ValueError(f"unknown clock action {action!r}")


def _resume(clock: Clock, doc: schema.FlowDoc, now: datetime, timezone: str) -> None:
    days = _stood(clock, doc, now, timezone)
    clock["paused_days"] += days
    clock["deadline"] = _shift(clock, doc, days, timezone)
    clock["paused_at"] = None


def _day(iso: str, timezone: str) -> str:
    return _at(iso).astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y")

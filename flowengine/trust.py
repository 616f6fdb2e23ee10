"""Trust operations over an :class:`~flowengine.engine.Engine`'s database.

- ``verify``: every instance's hash chain is intact (first broken row named);
- ``checkpoint`` / ``verify_checkpoint``: heads kept outside the database catch a
  truncated tail or a chain rewritten from scratch;
- ``replay``: state and data rebuilt from history alone equal what is stored;
- ``erase`` / ``export`` / ``purge``: KVKK erasure, the right of access, and
  retention (``privacy.retention`` after an instance ends).

Each erasure is one transaction: personal values in the instance and in its
history become :data:`~flowengine.audit.ERASED`, the salt that keyed their
digests is dropped, and a ``personal_data_erased`` row (who, why, which fields)
is appended to the chain, which still verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowengine import audit, duplicates, privacy
from flowengine.definition import FlowDefinition
from flowengine.durations import parse_duration
from flowengine.engine import CaseRows, Engine
from flowengine.errors import (
    InvalidData,
    PermissionDenied,
    UnknownInstance,
    UnknownPerson,
)
from flowengine.instance import HistoryEntry, Instance

SYSTEM = "system"


@dataclass(frozen=True)
class Finding:
    """One instance's problem (or None when it is sound)."""

    reference: str
    problem: str | None


def _instances(unit: CaseRows, ref: str | None) -> list[Instance]:
    if ref is None:
        return [i for i in (unit.load_instance(x) for x in unit.instance_ids()) if i is not None]
    instance = unit.load_instance(ref)
    if instance is None:
        raise UnknownInstance(ref)
    return [instance]


def _check_chain(engine: Engine, unit: CaseRows, instance: Instance) -> str | None:
    rows = unit.audit_rows(instance.id)
    if any(row is None for row in rows):
        return "has rows written before the audit chain (schema 0003); they are not protected"
    definition = engine.definition(instance.flow, instance.version, unit)
    sealed = [row for row in rows if row is not None]
    return audit.verify(
        sealed, instance.history_head, instance.audit_salt, definition.personal_fields
    )


def verify(engine: Engine, ref: str | None = None) -> list[Finding]:
    """Check the hash chain of one instance or all; a finding per instance."""
    with engine.case_rows() as unit:
        return [Finding(i.reference, _check_chain(engine, unit, i)) for i in _instances(unit, ref)]


def checkpoint(engine: Engine) -> dict[str, Any]:
    """Every chain's head (reference → [rows, head hash]) and one digest over them all."""
    with engine.case_rows() as unit:
        heads = {
            i.reference: [i.row_version, i.history_head or audit.GENESIS]
            for i in _instances(unit, None)
        }
    summary = hashlib.sha256(audit.canonical(heads)).hexdigest()
    return {"taken_at": datetime.now(UTC).isoformat(), "digest": summary, "heads": heads}


def verify_checkpoint(engine: Engine, saved: dict[str, Any]) -> list[Finding]:
    """Each head of a saved checkpoint must still stand at its row in the chain."""
    heads = saved.get("heads")
    if not isinstance(heads, dict):
        raise InvalidData(
            {"checkpoint": "has no 'heads' mapping; use 'flowengine audit checkpoint'"}
        )
    findings = []
    with engine.case_rows() as unit:
        for reference, (rows, head) in sorted(heads.items()):
            instance = unit.load_instance(reference)
            if instance is None:
                findings.append(
                    Finding(reference, "is in the checkpoint but gone from the database")
                )
                continue
            stored = unit.audit_rows(instance.id)
            if len(stored) < rows:
                findings.append(
                    Finding(reference, f"had {rows} rows at the checkpoint, now {len(stored)}")
                )
                continue
            row = stored[rows - 1] if rows else None
            now_head = row.hash if row is not None else audit.GENESIS
            if rows and now_head != head:
                findings.append(Finding(reference, f"row {rows} differs from the checkpoint"))
                continue
            findings.append(Finding(reference, None))
    return findings


def replay(engine: Engine, ref: str | None = None) -> list[Finding]:
    """Rebuild each instance from its history alone and compare with what is stored."""
    findings = []
    with engine.case_rows() as unit:
        for instance in _instances(unit, ref):
            entries = unit.history(instance.id)
            rebuilt = audit.replay(entries)
            problem = None
            if sorted(rebuilt.states) != sorted(instance.states):
                problem = (
                    f"history leads to {', '.join(rebuilt.states) or 'nothing'}, "
                    f"stored state is {instance.state}"
                )
            elif rebuilt.data != instance.data:
                differing = sorted(
                    k
                    for k in set(rebuilt.data) | set(instance.data)
                    if rebuilt.data.get(k) != instance.data.get(k)
                )
                problem = f"history and stored data differ in: {', '.join(differing)}"
            elif instance.row_version != len(entries):
                problem = f"row version {instance.row_version} but {len(entries)} history rows"
            findings.append(Finding(instance.reference, problem))
    return findings


def _entitled_person(
    engine: Engine,
    unit: CaseRows,
    definition: FlowDefinition,
    actor: str,
    action: str,
    instance: Instance,
) -> None:
    person = unit.person(actor)
    if person is None:
        raise UnknownPerson(actor)
    if not privacy.entitled(definition, person):
        roles = ", ".join(definition.personal_access) or "none"
        raise PermissionDenied(
            f"{actor} may not {action} the personal data of {instance.reference}: "
            f"it needs one of the roles {roles}"
        )


def _erase_in(
    engine: Engine, unit: CaseRows, instance: Instance, actor: str, reason: str
) -> list[str]:
    definition = engine.definition(instance.flow, instance.version, unit)
    personal = sorted(definition.personal_fields)
    held = [n for n in personal if instance.data.get(n) is not None]
    now = engine.clock()
    for entry in unit.history(instance.id):
        if any(n in entry.changes for n in personal):
            unit.rewrite_history_values(
                instance.id, entry.seq, audit.erase_values(entry.changes, personal)
            )
    data = {k: (audit.ERASED if k in held else v) for k, v in instance.data.items()}
    unit.scrub_texts(instance.id, [str(instance.data[n]) for n in held])
    record = HistoryEntry(
        instance_id=instance.id,
        seq=instance.row_version + 1,
        event=audit.ERASURE_EVENT,
        from_state=None,
        to_state=None,
        actor=actor,
        at=now,
        changes={},
        comment=f"{reason} — silinen alanlar: {', '.join(held) or 'yok'}",
    )
    [sealed] = audit.seal([record], instance.history_head, None, definition.personal_fields)
    unit.insert_history([sealed])
    erased = instance.evolve(
        data=data,
        row_version=record.seq,
        updated_at=now,
        updated_by=actor,
        audit_salt=None,
        history_head=sealed.hash,
    )
    unit.update_instance(erased, instance.row_version)
    return held


def erase(engine: Engine, ref: str, actor: str, reason: str) -> list[str]:
    """Erase the personal data of ``ref`` (KVKK art. 7); return the fields erased."""
    if not reason.strip():
        raise InvalidData({"reason": "give the reason for the erasure with --reason"})
    try:
        with engine.case_rows(writes=True) as unit:
            instance = unit.load_instance(ref, lock=True)
            if instance is None:
                raise UnknownInstance(ref)
            definition = engine.definition(instance.flow, instance.version, unit)
            _entitled_person(engine, unit, definition, actor, "erase", instance)
            return _erase_in(engine, unit, instance, actor, reason)
    except PermissionDenied as exc:
        engine.audit_refusal(ref, actor, "personal_data_erase", str(exc))
        raise


def export(engine: Engine, ref: str, actor: str) -> dict[str, Any]:
    """The data subject's data (KVKK art. 11, right of access) as a JSON-ready dict."""
    try:
        with engine.case_rows() as unit:
            instance = unit.load_instance(ref)
            if instance is None:
                raise UnknownInstance(ref)
            definition = engine.definition(instance.flow, instance.version, unit)
            _entitled_person(engine, unit, definition, actor, "export", instance)
            entries = unit.history(instance.id)
    except PermissionDenied as exc:
        engine.audit_refusal(ref, actor, "personal_data_export", str(exc))
        raise
    personal = definition.personal_fields
    return {
        "reference": instance.reference,
        "flow": instance.flow,
        "title": definition.title,
        "status": instance.outcome or instance.status,
        "started_at": instance.created_at.isoformat(),
        "personal_data": {k: v for k, v in instance.data.items() if k in personal},
        "data": instance.data,
        "processing": [
            {
                "at": e.at.isoformat(),
                "event": e.event,
                "by": e.actor,
                "fields": sorted(e.changes),
            }
            for e in entries
        ],
    }


@dataclass(frozen=True)
class Holding:
    """An instance that holds a data subject's personal data."""

    reference: str
    flow: str
    status: str
    started_at: str
    fields: tuple[str, ...]


def _contact_matcher(contact: str) -> Callable[[Any], bool]:
    """Match a phone number, an e-mail address or a name as people write them.

    A phone (7 or more digits) matches a phone field however it was written,
    with or without +90 or the leading 0; an e-mail address matches the whole
    value; a name matches values holding each of its words. Text compares
    without regard to case or to Turkish İ/I/ı/i (``duplicates.fold``).
    """
    phone = duplicates.phone_digits(contact)
    if phone is None and sum(c.isdigit() for c in contact) >= len(contact.strip()) * 0.7:
        raise InvalidData({"contact": "give at least 7 digits of a phone number"})
    wanted = duplicates.fold(contact)
    words = wanted.split()

    def matches(value: Any) -> bool:
        if not isinstance(value, str) or not value:
            return False
        if phone is not None:
            stored = duplicates.phone_digits(value)
            return stored is not None and duplicates.same_phone(phone, stored)
        folded = duplicates.fold(value)
        if "@" in wanted:
            return folded == wanted
        held = folded.split()
        return all(word in held for word in words)

    return matches


def find(engine: Engine, contact: str, actor: str) -> tuple[list[Holding], list[str]]:
    """Every instance whose personal fields hold ``contact`` (KVKK art. 11 and 13).

    Searches the flows whose personal data ``actor`` may see; returns the
    holdings and the flows it could not search for lack of that role.
    """
    if len(contact.strip()) < 3:
        raise InvalidData({"contact": "give at least 3 characters (a name, e-mail or phone)"})
    matches = _contact_matcher(contact.strip())
    found: list[Holding] = []
    skipped: list[str] = []
    with engine.case_rows() as unit:
        person = unit.person(actor)
        if person is None:
            raise UnknownPerson(actor)
        for flow, current in sorted(engine.current.items()):
            personal = current.personal_fields
            if not personal:
                continue
            if not privacy.entitled(current, person):
                skipped.append(flow)
                continue
            for reference, _version, status, created, data in unit.data_of_flow(flow):
                hits = tuple(sorted(f for f in personal if matches(data.get(f))))
                if hits:
                    found.append(
                        Holding(
                            reference, flow, status, created.isoformat(timespec="seconds"), hits
                        )
                    )
    return found, skipped


def purge(engine: Engine) -> list[Finding]:
    """Erase personal data kept past each flow's ``privacy.retention`` after the end."""
    now = engine.clock()
    done = []
    for flow, definition in sorted(engine.current.items()):
        retention = definition.doc.privacy.retention if definition.doc.privacy else None
        if not retention:
            continue
        period = parse_duration(retention)
        # ended before `now - retention`: compare by adding the period to the end time
        with engine.case_rows(writes=True) as unit:
            for instance_id in unit.instance_ids(flow=flow, ended_before=now):
                instance = unit.load_instance(instance_id, lock=True)
                if instance is None or instance.audit_salt is None:
                    continue  # erased already
                if period.add_to(instance.updated_at, engine.timezone) > now:
                    continue
                fields = _erase_in(
                    engine, unit, instance, SYSTEM, f"saklama süresi ({retention}) doldu"
                )
                done.append(Finding(instance.reference, ", ".join(fields) or None))
    return done

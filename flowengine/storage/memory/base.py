"""Rows of the in-memory tables as domain records, shared by the port modules.

The records are built afresh on every read, as the SQL store builds them from
rows, so a caller changing what it got changes nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from flowengine.audit import SealedEntry
from flowengine.instance import HistoryEntry, Instance, OutboxItem, Timer, WorkItem
from flowengine.storage.memory.tables import Row, Transaction, loads

T = TypeVar("T")


class UnitBase:
    """What every port of the in-memory unit shares: its transaction."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _instance_row(self, ref: str) -> Row | None:
        """The instance row by reference or id (as the SQL store matches either)."""
        return self._tx.find_unique("instances", ("reference",), ref) or self._tx.get(
            "instances", ref
        )

    def _reference(self, instance_id: str) -> str:
        row = self._tx.get("instances", instance_id)
        return str(row["reference"]) if row else ""


def page(rows: Iterable[T], limit: int, offset: int = 0) -> list[T]:
    """LIMIT/OFFSET of an ordered listing."""
    return list(rows)[offset : offset + limit]


def instance(row: Row) -> Instance:
    return Instance(
        id=row["id"],
        reference=row["reference"],
        flow=row["flow"],
        version=row["version"],
        states=tuple(loads(row["states"])),
        status=row["status"],
        data=dict(loads(row["data"])),
        row_version=row["row_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        outcome=row["outcome"],
        due_at=row["due_at"],
        parent_id=row["parent_id"],
        parent_state=row["parent_state"],
        audit_salt=row["audit_salt"],
        history_head=row["history_head"],
        signals=tuple(loads(row["signals"]) or ()),
        locks=dict(loads(row["locks"]) or {}),
        clock=dict(c) if (c := loads(row["clock"])) else None,
        merged_into=row["merged_into"],
    )


def history_entry(row: Row) -> HistoryEntry:
    return HistoryEntry(
        instance_id=row["instance_id"],
        seq=row["seq"],
        event=row["event"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        actor=row["actor"],
        at=row["at"],
        changes=dict(loads(row["changes"])),
        comment=row["comment"],
        acting_for=row["acting_for"],
    )


def work_item(row: Row, reference: str = "", flow: str = "") -> WorkItem:
    return WorkItem(
        instance_id=row["instance_id"],
        state=row["state"],
        role=row["role"],
        assignee=row["assignee"],
        opened_at=row["opened_at"],
        due_at=row["due_at"],
        reference=reference,
        flow=flow,
        title=row["title"],
    )


def outbox_item(row: Row, reference: str) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        instance_id=row["instance_id"],
        state=row["state"],
        kind=row["kind"],
        payload=dict(loads(row["payload"])),
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        reference=reference,
    )


def timer(row: Row) -> Timer:
    return Timer(
        instance_id=row["instance_id"],
        state=row["state"],
        index=row["timer_index"],
        after=row["after"],
        due_at=row["due_at"],
        id=row["id"],
    )


def history_values(sealed: SealedEntry) -> dict[str, Any]:
    e = sealed.entry
    return {
        "instance_id": e.instance_id,
        "seq": e.seq,
        "event": e.event,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor,
        "at": e.at,
        "changes": e.changes,
        "comment": e.comment,
        "acting_for": e.acting_for,
        "digests": sealed.digests,
        "prev_hash": sealed.prev_hash,
        "hash": sealed.hash,
    }


def work_values(item: WorkItem) -> dict[str, Any]:
    return {
        "instance_id": item.instance_id,
        "state": item.state,
        "role": item.role,
        "assignee": item.assignee,
        "title": item.title,
        "opened_at": item.opened_at,
        "due_at": item.due_at,
    }


def insert_all(tx: Transaction, table: str, rows: Sequence[dict[str, Any]]) -> None:
    for values in rows:
        tx.insert(table, values)


def aware(value: datetime) -> datetime:
    """A time compared with stored ones: they are aware UTC, so it must be aware."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use an aware UTC time")
    return value

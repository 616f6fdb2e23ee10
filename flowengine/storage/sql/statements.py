"""Statements of every step, built once, and the rows and records they trade in.

Building a statement (``.values(...)``, ``.where(...)``) costs SQLAlchemy more
than running an already compiled one, and it happened about ten times a step
(benchmarks/bench_steps.py, docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)

from flowengine.audit import SealedEntry
from flowengine.instance import HistoryEntry, Instance, OutboxItem, Timer, WorkItem
from flowengine.storage import tables as t

_UPDATED_COLUMNS = (
    "version", "states", "status", "outcome", "row_version", "updated_at", "updated_by",
    "due_at", "audit_salt", "history_head", "signals", "locks", "clock", "merged_into",
)  # fmt: skip


def _update_instance_statement(columns: Sequence[str]) -> Any:
    return (
        update(t.instances)
        .where(
            t.instances.c.id == bindparam("b_id"),
            t.instances.c.row_version == bindparam("b_row_version"),
        )
        .values({name: bindparam(name) for name in columns})
    )


_UPDATE_INSTANCE = _update_instance_statement(_UPDATED_COLUMNS)
_UPDATE_INSTANCE_AND_DATA = _update_instance_statement((*_UPDATED_COLUMNS, "data"))
_INSTANCE_BY_REF = select(t.instances).where(
    or_(t.instances.c.reference == bindparam("ref"), t.instances.c.id == bindparam("ref"))
)
_INSTANCE_BY_REF_LOCKED = _INSTANCE_BY_REF.with_for_update()
_WORK_COLUMNS = ("state", "role", "assignee", "title", "opened_at", "due_at")
_OPEN_ITEMS = select(*(t.work_items.c[c].label(f"w_{c}") for c in _WORK_COLUMNS)).where(
    t.work_items.c.instance_id == bindparam("b_id"), t.work_items.c.closed_at.is_(None)
)
# The instance with its open work items (one row each, or one row of NULLs): the
# two reads of every command in one round trip. Only the instance row is locked.
_INSTANCE_WITH_WORK = (
    select(t.instances, *(t.work_items.c[c].label(f"w_{c}") for c in _WORK_COLUMNS))
    .outerjoin(
        t.work_items,
        and_(t.work_items.c.instance_id == t.instances.c.id, t.work_items.c.closed_at.is_(None)),
    )
    .where(or_(t.instances.c.reference == bindparam("ref"), t.instances.c.id == bindparam("ref")))
)
_INSTANCE_WITH_WORK_LOCKED = _INSTANCE_WITH_WORK.with_for_update(of=t.instances)

_CLOSE_WORK = (
    update(t.work_items)
    .where(
        t.work_items.c.instance_id == bindparam("b_id"),
        t.work_items.c.state.in_(bindparam("b_states", expanding=True)),
        t.work_items.c.closed_at.is_(None),
    )
    .values(closed_at=bindparam("closed_at"), closed_by=bindparam("closed_by"))
)
_CANCEL_TIMERS = (
    update(t.timers)
    .where(t.timers.c.instance_id == bindparam("b_id"), t.timers.c.status == "pending")
    .values(status="cancelled", closed_at=bindparam("closed_at"))
)
_CANCEL_STATE_TIMERS = _CANCEL_TIMERS.where(
    t.timers.c.state.in_(bindparam("b_states", expanding=True))
)
_EVENT_COUNTS = (
    select(t.history.c.from_state, func.count())
    .where(t.history.c.instance_id == bindparam("b_id"), t.history.c.event == bindparam("b_event"))
    .group_by(t.history.c.from_state)
)


def _person_statement(delegated: bool) -> Any:
    """A person, their roles and (``delegated``) roles delegated to them, in one query.

    Rows are ``(kind, sort, a, b, c)``: kind 0 is the person (a = name), 1 a role
    (a = role, b = directorate), 2 a delegation in force (c = from whom).
    """
    person_id: Any = bindparam("person_id")
    parts = [
        select(
            literal_column("0").label("kind"),
            literal_column("0").label("sort"),
            t.people.c.name.label("a"),
            null().label("b"),
            null().label("c"),
        ).where(t.people.c.id == person_id),
        select(
            literal_column("1"),
            literal_column("0"),
            t.person_roles.c.role,
            t.person_roles.c.directorate,
            null(),
        ).where(t.person_roles.c.person_id == person_id),
    ]
    if delegated:
        d = t.delegations
        on: Any = bindparam("on")
        parts.append(
            select(literal_column("2"), d.c.id, d.c.role, d.c.directorate, d.c.from_person).where(
                d.c.to_person == person_id, d.c.starts_on <= on, d.c.ends_on >= on
            )
        )
    union = union_all(*parts).subquery()
    return select(union).order_by(union.c.kind, union.c.sort, union.c.a, union.c.b)


_PERSON = _person_statement(delegated=False)
_PERSON_ON = _person_statement(delegated=True)


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id,
        reference=row.reference,
        flow=row.flow,
        version=row.version,
        states=tuple(row.states),
        status=row.status,
        data=dict(row.data),
        row_version=row.row_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        outcome=row.outcome,
        due_at=row.due_at,
        parent_id=row.parent_id,
        parent_state=row.parent_state,
        audit_salt=row.audit_salt,
        history_head=row.history_head,
        signals=tuple(row.signals or ()),
        locks=dict(row.locks or {}),
        clock=dict(row.clock) if row.clock else None,
        merged_into=row.merged_into,
    )


def _open_item(instance_id: str, row: Any) -> WorkItem:
    """A work item from ``w_``-labelled columns (_OPEN_ITEMS, _INSTANCE_WITH_WORK)."""
    return WorkItem(
        instance_id=instance_id,
        state=row.w_state,
        role=row.w_role,
        assignee=row.w_assignee,
        opened_at=row.w_opened_at,
        due_at=row.w_due_at,
        title=row.w_title,
    )


def _history_entry(row: Any) -> HistoryEntry:
    return HistoryEntry(
        instance_id=row.instance_id,
        seq=row.seq,
        event=row.event,
        from_state=row.from_state,
        to_state=row.to_state,
        actor=row.actor,
        at=row.at,
        changes=dict(row.changes),
        comment=row.comment,
        acting_for=row.acting_for,
    )


def _outbox_item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        instance_id=row.instance_id,
        state=row.state,
        kind=row.kind,
        payload=dict(row.payload),
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        reference=row.reference,
    )


def _timer(row: Any) -> Timer:
    return Timer(
        instance_id=row.instance_id,
        state=row.state,
        index=row.timer_index,
        after=row.after,
        due_at=row.due_at,
        id=row.id,
    )


# The columns a step inserts into each table, in the order the row builders give them.
_STEP_COLUMNS = {
    "h": (
        "instance_id", "seq", "event", "from_state", "to_state", "actor", "at", "changes",
        "comment", "acting_for", "digests", "prev_hash", "hash",
    ),
    "wo": ("instance_id", "state", "role", "assignee", "title", "opened_at", "due_at"),
    "tn": ("instance_id", "state", "timer_index", "after", "due_at", "status", "created_at"),
    "o": ("instance_id", "state", "kind", "payload", "status", "created_at"),
}  # fmt: skip


def _history_rows(sealed: Sequence[SealedEntry]) -> list[dict[str, Any]]:
    return [
        dict(zip(_STEP_COLUMNS["h"], (
            s.entry.instance_id, s.entry.seq, s.entry.event, s.entry.from_state,
            s.entry.to_state, s.entry.actor, s.entry.at, s.entry.changes, s.entry.comment,
            s.entry.acting_for, s.digests, s.prev_hash, s.hash,
        ), strict=True))
        for s in sealed
    ]  # fmt: skip


def _work_rows(items: Sequence[WorkItem]) -> list[dict[str, Any]]:
    return [
        dict(zip(_STEP_COLUMNS["wo"], (
            w.instance_id, w.state, w.role, w.assignee, w.title, w.opened_at, w.due_at,
        ), strict=True))
        for w in items
    ]  # fmt: skip


def _timer_rows(timers: Sequence[Timer], now: datetime) -> list[dict[str, Any]]:
    return [
        dict(zip(_STEP_COLUMNS["tn"], (
            x.instance_id, x.state, x.index, x.after, x.due_at, "pending", now,
        ), strict=True))
        for x in timers
    ]  # fmt: skip


def _effect_rows(effects: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    return [
        dict(zip(_STEP_COLUMNS["o"], (
            e.instance_id, e.state, e.kind, e.payload, "pending", now,
        ), strict=True))
        for e in effects
    ]  # fmt: skip


# PostgreSQL writes a step as one statement (Unit.write_step). Its shape depends
# on how many rows of each kind a step writes, so statements are built once per
# shape; one single-row INSERT per CTE, because SQLAlchemy cannot cache a
# multi-row VALUES and would compile it again on every step.
_STEP_INSERTS = {"h": t.history, "wo": t.work_items, "tn": t.timers, "o": t.outbox}


@functools.lru_cache(maxsize=512)
def _step_statement(
    new: bool, data_changed: bool, counts: tuple[int, ...], close: bool, cancel: str
) -> Any:
    """The step as one statement; for an update, a SELECT of how many rows it changed.

    Every other write selects FROM the instance's UPDATE, so a stale version
    (0 rows) writes nothing else: the caller raises ConcurrentUpdate, exactly as
    when the writes run one by one.
    """
    guard: Any = None
    if new:
        main: Any = insert(t.instances).values(
            {c.name: bindparam(f"i_{c.name}") for c in t.instances.columns}
        )
    else:
        columns = (*_UPDATED_COLUMNS, "data") if data_changed else _UPDATED_COLUMNS
        guard = (
            update(t.instances)
            .where(
                t.instances.c.id == bindparam("b_id"),
                t.instances.c.row_version == bindparam("b_row_version"),
            )
            .values({c: bindparam(f"i_{c}") for c in columns})
            .returning(t.instances.c.id)
            .cte("u")
        )
        main = select(func.count()).select_from(guard)
    ctes: list[Any] = []
    for (prefix, table), count in zip(_STEP_INSERTS.items(), counts, strict=True):
        for index in range(count):
            names = _STEP_COLUMNS[prefix]
            params = [bindparam(f"{prefix}{index}_{c}", type_=table.c[c].type) for c in names]
            if guard is None:
                row: Any = insert(table).values(dict(zip(names, params, strict=True)))
            else:
                row = insert(table).from_select(list(names), select(*params).select_from(guard))
            ctes.append(row.cte(f"{prefix}{index}"))
    updates: list[Any] = []
    if close:
        updates.append(
            update(t.work_items)
            .where(
                t.work_items.c.state.in_(bindparam("b_closed", expanding=True)),
                t.work_items.c.closed_at.is_(None),
            )
            .values(closed_at=bindparam("b_now"), closed_by=bindparam("b_actor"))
        )
    if cancel:
        timers = update(t.timers).where(t.timers.c.status == "pending")
        if cancel == "states":
            timers = timers.where(t.timers.c.state.in_(bindparam("b_cancel", expanding=True)))
        updates.append(timers.values(status="cancelled", closed_at=bindparam("b_now")))
    for index, statement in enumerate(updates):
        table = statement.table
        owner = (
            table.c.instance_id == bindparam("b_id")
            if guard is None
            else table.c.instance_id.in_(select(guard.c.id))
        )
        ctes.append(statement.where(owner).cte(f"c{index}"))
    return main.add_cte(*ctes)

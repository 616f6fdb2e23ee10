"""The SQL repository: SQLite (embedded default) and PostgreSQL via SQLAlchemy Core.

Owns connections, transactions, the schema's migrations and every query.
Speaks domain records (``Instance``, ``HistoryEntry``, ``WorkItem``…), never
leaks rows. The engine opens one :meth:`SqlStore.unit` per command; everything
done through that unit commits together or not at all.

SQLite: WAL, ``synchronous=FULL`` (a reported success survives power loss),
foreign keys on, and ``BEGIN IMMEDIATE`` so a writer takes the lock up front and
waits for it (``busy_timeout``) instead of failing half-way with "database is
locked". PostgreSQL: the instance row is locked ``FOR UPDATE`` for a command,
so two commands on one instance serialize; the row version check stays as the
guard against a stale ``expected_version``.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from flowengine.audit import SealedEntry, StoredRow
from flowengine.errors import ConcurrentUpdate, ConfigurationError, DuplicateKey, StorageError
from flowengine.instance import (
    HistoryEntry,
    Instance,
    Notification,
    OutboxItem,
    Person,
    RoleGrant,
    Timer,
    WorkItem,
)
from flowengine.storage import tables as t
from flowengine.storage.ports import StepWrites

if TYPE_CHECKING:
    from flowengine.storage.ports import Store, UnitOfWork

# How long a writer waits for SQLite's lock before giving up with a clear error.
SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("FLOWENGINE_SQLITE_BUSY_TIMEOUT_MS", "10000"))
WRITE_OPTION = "flowengine_writes"
# The newest Alembic revision; tests/storage checks it against migrations/versions.
# Comparing with it spares every command the import of Alembic (~70 ms).
SCHEMA_HEAD = "0011"


def _describe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def create_db_engine(url: str) -> Engine:
    """An engine configured for flowengine's transaction rules."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"'{url}' is not a database URL; use sqlite:///flowengine.db or "
            "postgresql+psycopg://user@host/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # file:/path/db?mode=ro URIs (uri=true) name the file after "file:"
            name = parsed.database.removeprefix("file:").split("?", 1)[0]
            folder = Path(name).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigurationError(f"folder {folder} of the SQLite database does not exist")
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, future=True
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A writer takes the lock up front; a reader does not block writers.
            writes = connection.get_execution_options().get(WRITE_OPTION, True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, future=True)
    raise ConfigurationError(
        f"database '{backend}' is not supported; use sqlite:/// or postgresql+psycopg://"
    )


def storage_error(exc: DBAPIError, url: str) -> StorageError:
    """One clear line for a driver error; the original stays as ``__cause__``."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StorageError(
            f"the database {_describe_url(url)} stayed locked by another process for "
            f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s; nothing was changed, retry"
        )
    if "full" in lowered:
        return StorageError(
            f"the database {_describe_url(url)} is full (disk or size limit); "
            "nothing was changed; free space and retry"
        )
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return StorageError(
            f"the database file {_describe_url(url)} is damaged ({text}); "
            "nothing was changed; restore it from a backup"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StorageError(
            f"the database {_describe_url(url)} is read-only; nothing was changed; "
            "check the file's permissions"
        )
    if "connect" in lowered or "connection" in lowered:
        return StorageError(
            f"cannot connect to the database {_describe_url(url)}: {text}; "
            "check that it runs and the URL is right"
        )
    return StorageError(f"database error on {_describe_url(url)}: {text}")


# SQLSTATE 23505 (PostgreSQL) and SQLite's message both name a unique key taken;
# foreign keys and NOT NULL fail otherwise and stay a plain StorageError.
_UNIQUE_SIGNS = ("unique constraint", "duplicate key", "primary key")


def integrity_error(exc: IntegrityError) -> StorageError:
    """A refused row as a flowengine error: :class:`DuplicateKey` for a key taken."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    state = getattr(exc.orig, "sqlstate", None)
    if state == "23505" or (state is None and any(s in text.lower() for s in _UNIQUE_SIGNS)):
        return DuplicateKey(f"the database refused a duplicate row: {text}")
    return StorageError(f"the database refused a row: {text}")


# Statements of every step, built once. Building one (`.values(...)`, `.where(...)`)
# costs SQLAlchemy more than running an already compiled one, and it happened
# about ten times a step (benchmarks/bench_steps.py, docs/performance.md).
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


class Unit:
    """One transaction's worth of repository operations."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def _insert_rows(self, table: Any, rows: list[dict[str, Any]]) -> None:
        # One row goes as a plain execute: SQLAlchemy's executemany path costs
        # about 0.2 ms more per call, on every step.
        self.connection.execute(table.insert(), rows[0] if len(rows) == 1 else rows)

    def _insert(self, table: Any) -> Any:
        return pg_insert(table) if self.dialect == "postgresql" else sqlite_insert(table)

    # -- flow versions ----------------------------------------------------------

    def flow_version(self, flow: str, version: int) -> tuple[str, str] | None:
        row = self.connection.execute(
            select(t.flow_versions.c.content_hash, t.flow_versions.c.source).where(
                t.flow_versions.c.flow == flow, t.flow_versions.c.version == version
            )
        ).first()
        return (row.content_hash, row.source) if row else None

    def put_flow_version(
        self, flow: str, version: int, content_hash: str, source: str, now: datetime
    ) -> None:
        self.connection.execute(
            t.flow_versions.insert().values(
                flow=flow,
                version=version,
                content_hash=content_hash,
                source=source,
                deployed_at=now,
            )
        )

    def flow_versions(self, flow: str) -> list[tuple[int, datetime]]:
        rows = self.connection.execute(
            select(t.flow_versions.c.version, t.flow_versions.c.deployed_at)
            .where(t.flow_versions.c.flow == flow)
            .order_by(t.flow_versions.c.version)
        )
        return [(r.version, r.deployed_at) for r in rows]

    def latest_version(self, flow: str) -> int | None:
        value = self.connection.execute(
            select(func.max(t.flow_versions.c.version)).where(t.flow_versions.c.flow == flow)
        ).scalar()
        return int(value) if value is not None else None

    def count_instances(self, flow: str, version: int) -> int:
        return int(
            self.connection.execute(
                select(func.count())
                .select_from(t.instances)
                .where(t.instances.c.flow == flow, t.instances.c.version == version)
            ).scalar_one()
        )

    # -- instances --------------------------------------------------------------

    def next_sequence(self, flow: str, year: int) -> int:
        """The next reference number of ``flow`` in ``year`` (gaps allowed, never reused)."""
        statement = self._insert(t.reference_counters).values(flow=flow, year=year, last_seq=1)
        statement = statement.on_conflict_do_update(
            index_elements=["flow", "year"],
            set_={"last_seq": t.reference_counters.c.last_seq + 1},
        ).returning(t.reference_counters.c.last_seq)
        return int(self.connection.execute(statement).scalar_one())

    def reserve_sequence(self, flow: str, year: int, count: int) -> int:
        """Reserve ``count`` reference numbers of ``flow`` in ``year``; the first of them."""
        statement = self._insert(t.reference_counters).values(flow=flow, year=year, last_seq=count)
        statement = statement.on_conflict_do_update(
            index_elements=["flow", "year"],
            set_={"last_seq": t.reference_counters.c.last_seq + count},
        ).returning(t.reference_counters.c.last_seq)
        return int(self.connection.execute(statement).scalar_one()) - count + 1

    def insert_generated(
        self,
        cases: Sequence[tuple[Instance, Sequence[SealedEntry], Sequence[tuple[WorkItem, Any]]]],
    ) -> None:
        """Write whole generated cases (demo data) at once: instances, history, work."""
        self.connection.execute(t.instances.insert(), [case[0].as_dict() for case in cases])
        self.connection.execute(
            t.history.insert(), [row for case in cases for row in _history_rows(case[1])]
        )
        work = [
            {**row, "closed_at": closed, "closed_by": case[0].updated_by if closed else None}
            for case in cases
            for (item, closed), row in zip(
                case[2], _work_rows([w for w, _ in case[2]]), strict=True
            )
        ]
        if work:
            self.connection.execute(t.work_items.insert(), work)

    def write_step(self, writes: StepWrites) -> None:
        """Write one step: the instance (version-checked), history, work, timers, effects.

        On PostgreSQL it is one statement, the other writes riding along as
        data-modifying CTEs: round trips are what a PostgreSQL step costs
        (docs/performance.md). SQLite has none to save and runs them one by one.
        """
        w = writes
        instance, previous = w.instance, w.previous
        if self.dialect != "postgresql":
            if previous is None:
                self.insert_instance(instance)
            else:
                self.update_instance(
                    instance, previous.row_version, data_changed=instance.data != previous.data
                )
            self.insert_history(w.history)
            self.close_work(instance.id, w.closed, instance.updated_by, w.now)
            self.open_work(w.opened)
            self.cancel_timers(instance.id, w.cancel_timers, w.now)
            self.schedule_timers(w.timers, w.now)
            self.insert_effects(w.effects, w.now)
            return
        rows = {
            "h": _history_rows(w.history),
            "wo": _work_rows(w.opened),
            "tn": _timer_rows(w.timers, w.now),
            "o": _effect_rows(w.effects, w.now),
        }
        data_changed = previous is not None and instance.data != previous.data
        cancel = "all" if w.cancel_timers is None else "states" if w.cancel_timers else ""
        statement = _step_statement(
            previous is None,
            data_changed,
            tuple(len(rows[prefix]) for prefix in _STEP_INSERTS),
            bool(w.closed),
            cancel,
        )
        params: dict[str, Any] = {
            "b_id": instance.id,
            "b_closed": list(w.closed),
            "b_cancel": list(w.cancel_timers or ()),
            "b_actor": instance.updated_by,
            "b_now": w.now,
        }
        for prefix, prefix_rows in rows.items():
            for index, row in enumerate(prefix_rows):
                params.update({f"{prefix}{index}_{k}": v for k, v in row.items()})
        if previous is None:
            params.update({f"i_{k}": v for k, v in instance.as_dict().items()})
        else:
            params.update({f"i_{k}": getattr(instance, k) for k in _UPDATED_COLUMNS})
            params["i_states"] = list(instance.states)
            params["i_signals"] = list(instance.signals)
            params["i_data"] = instance.data
            params["b_row_version"] = previous.row_version
        result = self.connection.execute(statement, params)
        if previous is not None and result.scalar_one() != 1:
            self._raise_conflict(instance)

    def insert_instance(self, instance: Instance) -> None:
        self.connection.execute(t.instances.insert(), instance.as_dict())

    def load_instance(self, ref: str, *, lock: bool = False) -> Instance | None:
        locked = lock and self.dialect == "postgresql"
        query = _INSTANCE_BY_REF_LOCKED if locked else _INSTANCE_BY_REF
        row = self.connection.execute(query, {"ref": ref}).first()
        return _instance(row) if row else None

    def load_with_work(self, ref: str) -> tuple[Instance, dict[str, WorkItem]] | None:
        """The instance ``ref``, locked for the command, and its open work items by state."""
        locked = self.dialect == "postgresql"
        query = _INSTANCE_WITH_WORK_LOCKED if locked else _INSTANCE_WITH_WORK
        rows = self.connection.execute(query, {"ref": ref}).all()
        if not rows:
            return None
        instance = _instance(rows[0])
        work = {r.w_state: _open_item(instance.id, r) for r in rows if r.w_state is not None}
        return instance, work

    def update_instance(
        self, instance: Instance, expected_row_version: int, *, data_changed: bool = True
    ) -> None:
        """Write ``instance``; fail with ConcurrentUpdate if someone wrote first.

        Columns that never change after the start are not written, and ``data``
        (the largest) only when ``data_changed``.
        """
        values = {name: getattr(instance, name) for name in _UPDATED_COLUMNS}
        values["states"] = list(instance.states)
        values["signals"] = list(instance.signals)
        values["b_id"] = instance.id
        values["b_row_version"] = expected_row_version
        statement = _UPDATE_INSTANCE
        if data_changed:
            values["data"] = instance.data
            statement = _UPDATE_INSTANCE_AND_DATA
        result = self.connection.execute(statement, values)
        if result.rowcount != 1:
            self._raise_conflict(instance)

    def _raise_conflict(self, instance: Instance) -> None:
        """The update of ``instance`` found another version: say whose."""
        current = self.load_instance(instance.id)
        if current is None:
            raise StorageError(f"instance {instance.reference} disappeared during the update")
        raise ConcurrentUpdate(
            current.reference,
            current.row_version,
            current.updated_by,
            current.updated_at.isoformat(timespec="seconds"),
        )

    def list_instances(
        self,
        *,
        flow: str | None = None,
        state: str | None = None,
        status: str | None = None,
        overdue_at: datetime | None = None,
        due_between: tuple[datetime, datetime] | None = None,
        limit: int = 200,
        offset: int = 0,
        flows: Sequence[str] | None = None,
    ) -> list[Instance]:
        query = (
            select(t.instances)
            .order_by(t.instances.c.created_at.desc(), t.instances.c.id)
            .limit(limit)
            .offset(offset)
        )
        if flow:
            query = query.where(t.instances.c.flow == flow)
        if flows is not None:
            query = query.where(t.instances.c.flow.in_(list(flows)))
        if status:
            query = query.where(t.instances.c.status == status)
        if overdue_at is not None:
            # a literal, so both planners can use the partial index ix_instances_due
            active = t.instances.c.status == literal_column("'active'")
            query = query.where(active, t.instances.c.due_at < overdue_at)
        if due_between is not None:
            active = t.instances.c.status == literal_column("'active'")
            due = t.instances.c.due_at
            query = query.where(active, due >= due_between[0], due < due_between[1])
        rows = [_instance(r) for r in self.connection.execute(query)]
        if state:
            rows = [r for r in rows if state in r.states]
        return rows

    def merged_into(self, instance_id: str) -> list[Instance]:
        """Duplicates parked on ``instance_id``, waiting for its reply."""
        rows = self.connection.execute(
            select(t.instances).where(
                t.instances.c.merged_into == instance_id, t.instances.c.status == "merged"
            )
        )
        return [_instance(r) for r in rows]

    def open_of_flow(self, flow: str, since: datetime, until: datetime) -> list[Instance]:
        """Active instances of ``flow`` started in [since, until] (duplicate candidates)."""
        rows = self.connection.execute(
            select(t.instances).where(
                t.instances.c.flow == flow,
                t.instances.c.status == "active",
                t.instances.c.created_at >= since,
                t.instances.c.created_at <= until,
            )
        )
        return [_instance(r) for r in rows]

    def children(self, parent_id: str) -> list[Instance]:
        rows = self.connection.execute(
            select(t.instances).where(t.instances.c.parent_id == parent_id)
        )
        return [_instance(r) for r in rows]

    # -- history, work, outbox ---------------------------------------------------

    def insert_history(self, sealed: Sequence[SealedEntry]) -> None:
        if not sealed:
            return
        self._insert_rows(t.history, _history_rows(sealed))

    def audit_rows(self, instance_id: str) -> list[StoredRow | None]:
        """The history as stored, with digests and hashes (None for an unsealed row)."""
        rows = self.connection.execute(
            select(t.history)
            .where(t.history.c.instance_id == instance_id)
            .order_by(t.history.c.seq)
        )
        return [
            StoredRow(_history_entry(r), dict(r.digests), r.prev_hash, r.hash)
            if r.hash is not None
            else None
            for r in rows
        ]

    def rewrite_history_values(self, instance_id: str, seq: int, changes: dict[str, Any]) -> None:
        """Replace one row's change values (KVKK erasure only; digests and hashes stay)."""
        self.connection.execute(
            update(t.history)
            .where(t.history.c.instance_id == instance_id, t.history.c.seq == seq)
            .values(changes=changes)
        )

    def scrub_texts(self, instance_id: str, secrets: Sequence[str]) -> None:
        """Replace ``secrets`` in the instance's outbox payloads and notices by ``***``."""
        words = [s for s in secrets if s]
        if not words:
            return

        def scrub(value: Any) -> Any:
            if isinstance(value, str):
                for word in words:
                    value = value.replace(word, "***")
                return value
            if isinstance(value, list):
                return [scrub(v) for v in value]
            if isinstance(value, dict):
                return {k: scrub(v) for k, v in value.items()}
            return value

        outbox_rows = self.connection.execute(
            select(t.outbox.c.id, t.outbox.c.payload).where(t.outbox.c.instance_id == instance_id)
        ).all()
        for row in outbox_rows:
            cleaned = scrub(row.payload)
            if cleaned != row.payload:
                self.connection.execute(
                    update(t.outbox).where(t.outbox.c.id == row.id).values(payload=cleaned)
                )
        notice_rows = self.connection.execute(
            select(t.notifications.c.id, t.notifications.c.message).where(
                t.notifications.c.instance_id == instance_id
            )
        ).all()
        for row in notice_rows:
            cleaned = scrub(row.message)
            if cleaned != row.message:
                self.connection.execute(
                    update(t.notifications)
                    .where(t.notifications.c.id == row.id)
                    .values(message=cleaned)
                )

    def data_of_flow(self, flow: str) -> Iterator[tuple[str, str, str, datetime, dict[str, Any]]]:
        """(reference, version, status, created_at, data) of every instance of ``flow``,
        streamed (a data-subject search reads them all, once)."""
        query = (
            select(
                t.instances.c.reference,
                t.instances.c.version,
                t.instances.c.status,
                t.instances.c.created_at,
                t.instances.c.data,
            )
            .where(t.instances.c.flow == flow)
            .order_by(t.instances.c.created_at)
            .execution_options(yield_per=2000)
        )
        for row in self.connection.execute(query):
            yield row.reference, row.version, row.status, row.created_at, row.data

    def cases_started(
        self, flow: str, since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]:
        """Instances of ``flow`` started in [since, until), streamed, for reports."""
        i = t.instances
        query = (
            select(i.c.id, i.c.reference, i.c.created_at, i.c.status, i.c.states, i.c.data)
            .add_columns(i.c.due_at, i.c.clock)
            .where(i.c.flow == flow, i.c.created_at >= since, i.c.created_at < until)
            .execution_options(yield_per=5000)
        )
        for row in self.connection.execute(query):
            yield dict(row._mapping)

    def first_events(
        self, flow: str, events: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, datetime]:
        """When each instance of ``flow`` started in [since, until) first took one of
        ``events`` (e.g. its final reply): instance id → time."""
        i, h = t.instances, t.history
        query = (
            select(h.c.instance_id, func.min(h.c.at))
            .join(i, i.c.id == h.c.instance_id)
            .where(
                i.c.flow == flow,
                i.c.created_at >= since,
                i.c.created_at < until,
                h.c.event.in_(list(events)),
            )
            .group_by(h.c.instance_id)
        )
        # min() keeps the column's type, so the times come back aware, in UTC
        return {instance_id: at for instance_id, at in self.connection.execute(query)}

    def instance_ids(
        self, *, ended_before: datetime | None = None, flow: str | None = None
    ) -> list[str]:
        query = select(t.instances.c.id).order_by(t.instances.c.created_at)
        if flow:
            query = query.where(t.instances.c.flow == flow)
        if ended_before is not None:
            query = query.where(
                t.instances.c.status.in_(("completed", "cancelled")),
                t.instances.c.updated_at < ended_before,
            )
        return list(self.connection.execute(query).scalars())

    def started_by(self, instance_id: str) -> str | None:
        """Who started the instance (the actor of its first history entry)."""
        row = self.connection.execute(
            select(t.history.c.actor).where(
                t.history.c.instance_id == instance_id, t.history.c.seq == 1
            )
        ).first()
        return str(row.actor) if row else None

    def history(self, instance_id: str) -> list[HistoryEntry]:
        rows = self.connection.execute(
            select(t.history)
            .where(t.history.c.instance_id == instance_id)
            .order_by(t.history.c.seq)
        )
        return [_history_entry(r) for r in rows]

    def open_work(self, items: Sequence[WorkItem]) -> None:
        if not items:
            return
        self._insert_rows(t.work_items, _work_rows(items))

    def close_work(
        self, instance_id: str, states: Sequence[str], actor: str, now: datetime
    ) -> None:
        if not states:
            return
        self.connection.execute(
            _CLOSE_WORK,
            {"b_id": instance_id, "b_states": list(states), "closed_at": now, "closed_by": actor},
        )

    def event_counts(self, instance_id: str, event: str) -> dict[str, int]:
        """How often ``event`` left each state of the instance."""
        rows = self.connection.execute(_EVENT_COUNTS, {"b_id": instance_id, "b_event": event})
        return {state: int(n) for state, n in rows if state is not None}

    def open_items(self, instance_id: str) -> dict[str, WorkItem]:
        """The instance's open work items by state."""
        rows = self.connection.execute(_OPEN_ITEMS, {"b_id": instance_id})
        return {r.w_state: _open_item(instance_id, r) for r in rows}

    def reassign(self, instance_id: str, state: str, role: str, assignee: str | None) -> None:
        self.connection.execute(
            update(t.work_items)
            .where(
                t.work_items.c.instance_id == instance_id,
                t.work_items.c.state == state,
                t.work_items.c.closed_at.is_(None),
            )
            .values(role=role, assignee=assignee)
        )

    def assignees(self, instance_id: str) -> set[str]:
        """Every directorate or person the instance's work was ever assigned to."""
        rows = self.connection.execute(
            select(t.work_items.c.assignee)
            .where(t.work_items.c.instance_id == instance_id, t.work_items.c.assignee.is_not(None))
            .distinct()
        )
        return set(rows.scalars())

    def open_work_for(
        self, grants: Sequence[RoleGrant], person_id: str, limit: int = 500, offset: int = 0
    ) -> list[WorkItem]:
        """Open work items any of ``grants`` entitles to (scoped roles see their own)."""
        if not grants:
            return []
        conditions = []
        for grant in grants:
            if grant.directorate:
                conditions.append(
                    and_(
                        t.work_items.c.role == grant.role,
                        or_(
                            t.work_items.c.assignee.is_(None),
                            t.work_items.c.assignee == grant.directorate,
                            t.work_items.c.assignee == person_id,
                        ),
                    )
                )
            else:
                conditions.append(t.work_items.c.role == grant.role)
        conditions.append(t.work_items.c.assignee == person_id)  # reassigned to them by name
        query = (
            select(t.work_items, t.instances.c.reference, t.instances.c.flow)
            .join(t.instances, t.instances.c.id == t.work_items.c.instance_id)
            .where(t.work_items.c.closed_at.is_(None), or_(*conditions))
            .order_by(t.work_items.c.due_at.is_(None), t.work_items.c.due_at, t.work_items.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [
            WorkItem(
                instance_id=r.instance_id,
                state=r.state,
                role=r.role,
                assignee=r.assignee,
                opened_at=r.opened_at,
                due_at=r.due_at,
                reference=r.reference,
                flow=r.flow,
                title=r.title,
            )
            for r in self.connection.execute(query)
        ]

    def cancel_effects(self, instance_id: str, states: Sequence[str], now: datetime) -> None:
        """Drop the undelivered effects of withdrawn ``states`` (leased ones may still go)."""
        if not states:
            return
        self.connection.execute(
            update(t.outbox)
            .where(
                t.outbox.c.instance_id == instance_id,
                t.outbox.c.state.in_(list(states)),
                t.outbox.c.status.in_(("pending", "failed")),
                or_(t.outbox.c.lease_until.is_(None), t.outbox.c.lease_until < now),
            )
            .values(status="cancelled")
        )

    def insert_effects(self, effects: Sequence[Any], now: datetime) -> None:
        if not effects:
            return
        self._insert_rows(t.outbox, _effect_rows(effects, now))

    def outbox(
        self, instance_id: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[OutboxItem]:
        query = (
            select(t.outbox, t.instances.c.reference)
            .join(t.instances, t.instances.c.id == t.outbox.c.instance_id)
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        if instance_id:
            query = query.where(t.outbox.c.instance_id == instance_id)
        if status:
            query = query.where(t.outbox.c.status == status)
        return [_outbox_item(r) for r in self.connection.execute(query)]

    def outbox_item(self, item_id: int) -> OutboxItem | None:
        row = self.connection.execute(
            select(t.outbox, t.instances.c.reference)
            .join(t.instances, t.instances.c.id == t.outbox.c.instance_id)
            .where(t.outbox.c.id == item_id)
        ).first()
        return _outbox_item(row) if row else None

    def claim_outbox(
        self, now: datetime, worker: str, lease_until: datetime, limit: int
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` deliverable effects to ``worker`` (others skip them)."""
        due = (
            select(t.outbox.c.id)
            .where(
                t.outbox.c.status.in_(("pending", "failed")),
                or_(t.outbox.c.next_attempt_at.is_(None), t.outbox.c.next_attempt_at <= now),
                or_(t.outbox.c.lease_until.is_(None), t.outbox.c.lease_until < now),
            )
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(self.connection.execute(due).scalars())
        if not ids:
            return []
        self.connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id.in_(ids))
            .values(lease_until=lease_until, claimed_by=worker)
        )
        return [item for i in ids if (item := self.outbox_item(i)) is not None]

    def finish_delivery(
        self,
        item_id: int,
        worker: str,
        *,
        status: str,
        attempts: int,
        now: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> bool:
        """Record a delivery attempt if ``worker`` still holds the lease."""
        result = self.connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id == item_id, t.outbox.c.claimed_by == worker)
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                last_error=error,
                delivered_at=now if status == "delivered" else None,
                lease_until=None,
                claimed_by=None,
            )
        )
        return bool(result.rowcount)

    def retry_outbox(self, item_id: int, now: datetime) -> bool:
        """Put a dead or failed effect back in line, with a fresh count of attempts."""
        result = self.connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id == item_id, t.outbox.c.status.in_(("dead", "failed")))
            .values(
                status="pending", attempts=0, next_attempt_at=now, lease_until=None, claimed_by=None
            )
        )
        return bool(result.rowcount)

    # -- timers -------------------------------------------------------------------

    def schedule_timers(self, timers: Sequence[Timer], now: datetime) -> None:
        if not timers:
            return
        self._insert_rows(t.timers, _timer_rows(timers, now))

    def cancel_timers(self, instance_id: str, states: Sequence[str] | None, now: datetime) -> None:
        """Cancel pending timers of ``states`` (all of the instance's when None)."""
        if states is None:
            self.connection.execute(_CANCEL_TIMERS, {"b_id": instance_id, "closed_at": now})
        elif states:
            self.connection.execute(
                _CANCEL_STATE_TIMERS,
                {"b_id": instance_id, "b_states": list(states), "closed_at": now},
            )

    def claim_due_timer(self, now: datetime) -> Timer | None:
        """The next pending timer due at ``now``, locked with its instance (others skip it)."""
        query = (
            select(t.timers)
            .join(t.instances, t.instances.c.id == t.timers.c.instance_id)
            .where(t.timers.c.status == "pending", t.timers.c.due_at <= now)
            .order_by(t.timers.c.due_at, t.timers.c.id)
            .limit(1)
        )
        if self.dialect == "postgresql":
            # both rows or neither: a command holding the instance is skipped, not awaited
            query = query.with_for_update(skip_locked=True)
        row = self.connection.execute(query).first()
        return _timer(row) if row else None

    def close_timer(self, timer_id: int, status: str, now: datetime, worker: str) -> bool:
        result = self.connection.execute(
            update(t.timers)
            .where(t.timers.c.id == timer_id, t.timers.c.status == "pending")
            .values(status=status, closed_at=now, fired_by=worker)
        )
        return bool(result.rowcount)

    def timers(
        self, *, status: str | None = None, due_at: datetime | None = None, limit: int = 500
    ) -> list[tuple[Timer, str, str]]:
        """(timer, reference, status) rows, soonest first."""
        query = (
            select(t.timers, t.instances.c.reference)
            .join(t.instances, t.instances.c.id == t.timers.c.instance_id)
            .order_by(t.timers.c.due_at, t.timers.c.id)
            .limit(limit)
        )
        if status:
            query = query.where(t.timers.c.status == status)
        if due_at is not None:
            query = query.where(t.timers.c.due_at <= due_at)
        return [(_timer(r), r.reference, r.status) for r in self.connection.execute(query)]

    def database_now(self) -> datetime:
        """The database server's clock (PostgreSQL); SQLite shares this machine's."""
        if self.dialect == "postgresql":
            value = self.connection.execute(text("SELECT statement_timestamp()")).scalar_one()
            assert isinstance(value, datetime)  # noqa: S101 - timestamptz is a datetime
            return value.astimezone(UTC)
        return datetime.now(UTC)

    # -- notifications --------------------------------------------------------------

    def add_notifications(self, item: OutboxItem, now: datetime) -> None:
        """Store a `notify` effect for each of its roles, once (re-delivery is a no-op)."""
        roles = [str(r) for r in item.payload.get("roles", [])]
        if not roles:
            return
        statement = self._insert(t.notifications).values(
            [
                {
                    "outbox_id": item.id,
                    "instance_id": item.instance_id,
                    "role": role,
                    "directorate": item.payload.get("directorate"),
                    "message": str(item.payload.get("message", "")),
                    "created_at": now,
                }
                for role in roles
            ]
        )
        self.connection.execute(
            statement.on_conflict_do_nothing(index_elements=["outbox_id", "role"])
        )

    def notifications_for(
        self, grants: Sequence[RoleGrant], limit: int = 100, offset: int = 0
    ) -> list[Notification]:
        """Notices for ``grants``: a scoped role sees its directorate's and unscoped ones."""
        if not grants:
            return []
        n = t.notifications
        conditions = [
            and_(
                n.c.role == g.role,
                or_(n.c.directorate.is_(None), n.c.directorate == g.directorate),
            )
            if g.directorate
            else n.c.role == g.role
            for g in grants
        ]
        rows = self.connection.execute(
            select(t.notifications, t.instances.c.reference)
            .join(t.instances, t.instances.c.id == t.notifications.c.instance_id)
            .where(or_(*conditions))
            .order_by(t.notifications.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [
            Notification(r.id, r.instance_id, r.reference, r.role, r.message, r.created_at)
            for r in rows
        ]

    # -- idempotency --------------------------------------------------------------

    def idempotent_result(self, key: str) -> tuple[str, str, int] | None:
        row = self.connection.execute(
            select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
        ).first()
        return (row.request_hash, row.instance_id, row.row_version) if row else None

    def remember_idempotent(
        self, key: str, request_hash: str, instance_id: str, row_version: int, now: datetime
    ) -> None:
        self.connection.execute(
            t.idempotency_keys.insert().values(
                key=key,
                request_hash=request_hash,
                instance_id=instance_id,
                row_version=row_version,
                created_at=now,
            )
        )

    # -- people -------------------------------------------------------------------

    def person(self, person_id: str, on: date | None = None) -> Person | None:
        """A person with their roles, plus roles delegated to them that are in force ``on``."""
        if on is None:
            rows = self.connection.execute(_PERSON, {"person_id": person_id}).all()
        else:
            rows = self.connection.execute(_PERSON_ON, {"person_id": person_id, "on": on}).all()
        if not rows or rows[0].kind != 0:
            return None
        roles = [RoleGrant(r.a, r.b or None, r.c if r.kind == 2 else None) for r in rows if r.kind]
        return Person(id=person_id, name=rows[0].a, roles=tuple(roles))

    def add_delegation(
        self,
        from_person: str,
        to_person: str,
        grant: RoleGrant,
        starts_on: date,
        ends_on: date,
        reason: str,
        now: datetime,
    ) -> None:
        self.connection.execute(
            t.delegations.insert().values(
                from_person=from_person,
                to_person=to_person,
                role=grant.role,
                directorate=grant.directorate or "",
                starts_on=starts_on,
                ends_on=ends_on,
                reason=reason,
                created_at=now,
            )
        )

    def delegations(self, on_or_after: date) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(t.delegations)
            .where(t.delegations.c.ends_on >= on_or_after)
            .order_by(t.delegations.c.starts_on, t.delegations.c.id)
        )
        return [dict(r._mapping) for r in rows]

    def people(self) -> list[Person]:
        ids = self.connection.execute(select(t.people.c.id).order_by(t.people.c.id)).scalars()
        return [p for p in (self.person(i) for i in list(ids)) if p is not None]

    def save_person(self, person: Person, now: datetime) -> None:
        """Create or replace a person and their role grants."""
        exists = self.connection.execute(
            select(t.people.c.id).where(t.people.c.id == person.id)
        ).first()
        if exists:
            self.connection.execute(
                update(t.people).where(t.people.c.id == person.id).values(name=person.name)
            )
            self.connection.execute(
                t.person_roles.delete().where(t.person_roles.c.person_id == person.id)
            )
        else:
            self.connection.execute(
                t.people.insert().values(id=person.id, name=person.name, created_at=now)
            )
        if person.roles:
            self.connection.execute(
                t.person_roles.insert(),
                [
                    {"person_id": person.id, "role": g.role, "directorate": g.directorate or ""}
                    for g in person.roles
                ],
            )

    def record_refusal(
        self,
        instance_id: str | None,
        flow: str | None,
        actor: str,
        action: str,
        reason: str,
        now: datetime,
    ) -> None:
        self.connection.execute(
            t.refusals.insert().values(
                instance_id=instance_id,
                flow=flow,
                actor=actor,
                action=action,
                reason=reason,
                at=now,
            )
        )

    def refusals(self, instance_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(t.refusals)
            .where(t.refusals.c.instance_id == instance_id)
            .order_by(t.refusals.c.id)
        )
        return [dict(r._mapping) for r in rows]

    # -- accounts (the web layer) ---------------------------------------------------

    def password_hash(self, person_id: str) -> str | None:
        row = self.connection.execute(
            select(t.passwords.c.hash).where(t.passwords.c.person_id == person_id)
        ).first()
        return row.hash if row else None

    def password_set_at(self, person_id: str) -> datetime | None:
        return self.connection.execute(
            select(t.passwords.c.updated_at).where(t.passwords.c.person_id == person_id)
        ).scalar_one_or_none()

    def set_password_hash(self, person_id: str, hashed: str, now: datetime) -> None:
        statement = self._insert(t.passwords).values(
            person_id=person_id, hash=hashed, updated_at=now
        )
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[t.passwords.c.person_id],
                set_={"hash": hashed, "updated_at": now},
            )
        )

    def add_token(
        self, token_id: str, person_id: str, name: str, secret_hash: str, now: datetime
    ) -> None:
        self.connection.execute(
            t.api_tokens.insert().values(
                id=token_id, person_id=person_id, name=name, secret_hash=secret_hash, created_at=now
            )
        )

    def token(self, token_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(t.api_tokens).where(t.api_tokens.c.id == token_id)
        ).first()
        return dict(row._mapping) if row else None

    def tokens(self, person_id: str | None) -> list[dict[str, Any]]:
        query = select(t.api_tokens).order_by(t.api_tokens.c.created_at, t.api_tokens.c.id)
        if person_id is not None:
            query = query.where(t.api_tokens.c.person_id == person_id)
        return [dict(r._mapping) for r in self.connection.execute(query)]

    def revoke_token(self, token_id: str, now: datetime) -> bool:
        done = self.connection.execute(
            update(t.api_tokens)
            .where(t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(done.rowcount)

    def count_attempts(self, keys: Sequence[str], since: datetime) -> int:
        return int(
            self.connection.execute(
                select(func.count())
                .select_from(t.attempts)
                .where(t.attempts.c.key.in_(list(keys)), t.attempts.c.at >= since)
            ).scalar_one()
        )

    def add_attempts(self, keys: Sequence[str], now: datetime) -> None:
        self._insert_rows(t.attempts, [{"key": k, "at": now} for k in keys])

    def clear_attempts(self, keys: Sequence[str], before: datetime | None = None) -> None:
        """Forget attempts of ``keys`` (a success), or of every key before a time (pruning)."""
        condition: ColumnElement[bool] = t.attempts.c.key.in_(list(keys))
        if before is not None:
            condition = or_(condition, t.attempts.c.at < before)
        self.connection.execute(t.attempts.delete().where(condition))

    def secret(self, name: str, new_value: str) -> str:
        """The stored secret ``name``; ``new_value`` is stored first if there is none.

        Two processes starting together both insert; one wins, both read its value.
        """
        self.connection.execute(
            self._insert(t.secrets)
            .values(name=name, value=new_value)
            .on_conflict_do_nothing(index_elements=[t.secrets.c.name])
        )
        return str(
            self.connection.execute(
                select(t.secrets.c.value).where(t.secrets.c.name == name)
            ).scalar_one()
        )


class SqlStore:
    """Opens units of work on one database; upgrades its schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)

    @property
    def embedded(self) -> bool:
        """SQLite: a file of this machine, upgraded on open; PostgreSQL is upgraded by hand."""
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def unit(self, *, writes: bool = True) -> Iterator[Unit]:
        """One transaction: commit when the block ends, roll back on any error.

        ``writes=False`` is for queries: on SQLite it does not take the write lock.
        """
        try:
            with (
                self.engine.connect().execution_options(**{WRITE_OPTION: writes}) as connection,
                connection.begin(),
            ):
                yield Unit(connection)
        except IntegrityError as exc:
            raise integrity_error(exc) from exc
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from exc

    def schema_revision(self) -> str | None:
        """The schema's Alembic revision, or None for a database without one."""
        try:
            with self.unit(writes=False) as unit:
                connection = unit.connection
                if not connection.dialect.has_table(connection, "alembic_version"):
                    return None
                value = connection.execute(text("SELECT version_num FROM alembic_version"))
                return value.scalar()
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from exc

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; return (before, after)."""
        before = self.schema_revision()
        if before == SCHEMA_HEAD:
            return before, SCHEMA_HEAD
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        import flowengine.migrations

        config = Config()
        config.set_main_option("script_location", str(Path(flowengine.migrations.__file__).parent))
        head = ScriptDirectory.from_config(config).get_current_head() or ""
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DBAPIError as exc:
            raise storage_error(exc, self.url) from exc
        return before, head

    def dispose(self) -> None:
        self.engine.dispose()


if TYPE_CHECKING:

    def _honours_the_ports(unit: Unit, store: SqlStore) -> tuple[UnitOfWork, Store]:
        """Never called: mypy proves here that the SQL classes satisfy the protocols."""
        return unit, store


__all__ = ["OperationalError", "SqlStore", "StepWrites", "Unit", "create_db_engine"]

"""The SQL flow catalogue, instances and history (ports ``FlowCatalogue``, ``Instances``).

PostgreSQL locks an instance row ``FOR UPDATE`` for a command, so two commands
on one instance serialize; the row version check stays as the guard against a
stale ``expected_version``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, update

from flowengine.audit import SealedEntry, StoredRow
from flowengine.errors import ConcurrentUpdate, StorageError
from flowengine.instance import HistoryEntry, Instance, WorkItem
from flowengine.storage import tables as t
from flowengine.storage.sql.connection import UnitBase
from flowengine.storage.sql.statements import (
    _EVENT_COUNTS,
    _INSTANCE_BY_REF,
    _INSTANCE_BY_REF_LOCKED,
    _INSTANCE_WITH_WORK,
    _INSTANCE_WITH_WORK_LOCKED,
    _UPDATE_INSTANCE,
    _UPDATE_INSTANCE_AND_DATA,
    _UPDATED_COLUMNS,
    _history_entry,
    _history_rows,
    _instance,
    _open_item,
)


class CatalogueMixin(UnitBase):
    """Deployed flow versions."""

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


class InstancesMixin(UnitBase):
    """Instances, reference numbers and history."""

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

    def event_counts(self, instance_id: str, event: str) -> dict[str, int]:
        """How often ``event`` left each state of the instance."""
        rows = self.connection.execute(_EVENT_COUNTS, {"b_id": instance_id, "b_event": event})
        return {state: int(n) for state, n in rows if state is not None}

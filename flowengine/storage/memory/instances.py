"""The in-memory flow catalogue, instances and history (ports ``FlowCatalogue``, ``Instances``).

Orders and filters as the SQL store's queries do; rows without an ORDER BY
there come in insertion order here, as SQLite returns them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NoReturn

from flowengine.audit import SealedEntry, StoredRow
from flowengine.errors import ConcurrentUpdate, StorageError
from flowengine.instance import HistoryEntry, Instance, WorkItem
from flowengine.storage.memory.base import (
    UnitBase,
    aware,
    history_entry,
    history_values,
    insert_all,
    instance,
    page,
    work_item,
)
from flowengine.storage.memory.tables import Row, loads

# The columns a step may change; the others are fixed at the start (as in sql.py).
_UPDATED_COLUMNS = (
    "version", "states", "status", "outcome", "row_version", "updated_at", "updated_by",
    "due_at", "audit_salt", "history_head", "signals", "locks", "clock", "merged_into",
)  # fmt: skip


class CatalogueMixin(UnitBase):
    def flow_version(self, flow: str, version: int) -> tuple[str, str] | None:
        row = self._tx.get("flow_versions", (flow, version))
        return (row["content_hash"], row["source"]) if row else None

    def put_flow_version(
        self, flow: str, version: int, content_hash: str, source: str, now: datetime
    ) -> None:
        self._tx.insert(
            "flow_versions",
            {
                "flow": flow,
                "version": version,
                "content_hash": content_hash,
                "source": source,
                "deployed_at": now,
            },
        )

    def flow_versions(self, flow: str) -> list[tuple[int, datetime]]:
        rows = [r for r in self._tx.values("flow_versions") if r["flow"] == flow]
        return [(r["version"], r["deployed_at"]) for r in sorted(rows, key=lambda r: r["version"])]

    def latest_version(self, flow: str) -> int | None:
        versions = [r["version"] for r in self._tx.values("flow_versions") if r["flow"] == flow]
        return max(versions) if versions else None

    def count_instances(self, flow: str, version: int) -> int:
        return sum(
            1 for r in self._tx.values("instances") if r["flow"] == flow and r["version"] == version
        )


class InstancesMixin(UnitBase):
    def _advance(self, flow: str, year: int, count: int) -> int:
        row = self._tx.get("reference_counters", (flow, year))
        if row is None:
            self._tx.insert("reference_counters", {"flow": flow, "year": year, "last_seq": count})
            return count
        last = int(row["last_seq"]) + count
        self._tx.update("reference_counters", (flow, year), {"last_seq": last})
        return last

    def next_sequence(self, flow: str, year: int) -> int:
        return self._advance(flow, year, 1)

    def reserve_sequence(self, flow: str, year: int, count: int) -> int:
        return self._advance(flow, year, count) - count + 1

    def insert_instance(self, instance: Instance) -> None:
        self._tx.insert("instances", instance.as_dict())

    def load_instance(self, ref: str, *, lock: bool = False) -> Instance | None:
        # a writing unit holds the store's only writer lock: the row is held already
        row = self._instance_row(ref)
        return instance(row) if row else None

    def load_with_work(self, ref: str) -> tuple[Instance, dict[str, WorkItem]] | None:
        row = self._instance_row(ref)
        if row is None:
            return None
        return instance(row), self._open_items(row["id"])

    def _open_items(self, instance_id: str) -> dict[str, WorkItem]:
        return {
            r["state"]: work_item(r)
            for r in self._tx.grouped("work_items", instance_id)
            if r["closed_at"] is None
        }

    def update_instance(
        self, instance: Instance, expected_row_version: int, *, data_changed: bool = True
    ) -> None:
        row = self._tx.get("instances", instance.id)
        if row is None or row["row_version"] != expected_row_version:
            self._raise_conflict(instance)
        changes: dict[str, Any] = {name: getattr(instance, name) for name in _UPDATED_COLUMNS}
        changes["states"] = list(instance.states)
        changes["signals"] = list(instance.signals)
        if data_changed:
            changes["data"] = instance.data
        self._tx.update("instances", instance.id, changes)

    def _raise_conflict(self, instance: Instance) -> NoReturn:
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
        def matches(r: Row) -> bool:
            if (flow and r["flow"] != flow) or (flows is not None and r["flow"] not in flows):
                return False
            if status and r["status"] != status:
                return False
            due = r["due_at"]
            if overdue_at is not None and not (
                r["status"] == "active" and due is not None and due < aware(overdue_at)
            ):
                return False
            return due_between is None or (
                r["status"] == "active"
                and due is not None
                and aware(due_between[0]) <= due < aware(due_between[1])
            )

        rows = sorted((r for r in self._tx.values("instances") if matches(r)), key=_by_id)
        rows.sort(key=lambda r: r["created_at"], reverse=True)
        found = [instance(r) for r in page(rows, limit, offset)]
        # as in SQL, the state is filtered after the page is cut (states are JSON)
        return [i for i in found if state in i.states] if state else found

    def _instances_where(self, **values: Any) -> list[Instance]:
        return [
            instance(r)
            for r in self._tx.values("instances")
            if all(r[k] == v for k, v in values.items())
        ]

    def merged_into(self, instance_id: str) -> list[Instance]:
        return self._instances_where(merged_into=instance_id, status="merged")

    def open_of_flow(self, flow: str, since: datetime, until: datetime) -> list[Instance]:
        return [
            i
            for i in self._instances_where(flow=flow, status="active")
            if aware(since) <= i.created_at <= aware(until)
        ]

    def children(self, parent_id: str) -> list[Instance]:
        return self._instances_where(parent_id=parent_id)

    def insert_history(self, sealed: Sequence[SealedEntry]) -> None:
        insert_all(self._tx, "history", [history_values(s) for s in sealed])

    def _history_rows(self, instance_id: str) -> list[Row]:
        return sorted(self._tx.grouped("history", instance_id), key=lambda r: r["seq"])

    def audit_rows(self, instance_id: str) -> list[StoredRow | None]:
        return [
            StoredRow(history_entry(r), dict(loads(r["digests"])), r["prev_hash"], r["hash"])
            if r["hash"] is not None
            else None
            for r in self._history_rows(instance_id)
        ]

    def history(self, instance_id: str) -> list[HistoryEntry]:
        return [history_entry(r) for r in self._history_rows(instance_id)]

    def rewrite_history_values(self, instance_id: str, seq: int, changes: dict[str, Any]) -> None:
        for r in self._history_rows(instance_id):
            if r["seq"] == seq:
                self._tx.update("history", r["id"], {"changes": changes})

    def scrub_texts(self, instance_id: str, secrets: Sequence[str]) -> None:
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

        for row in self._tx.grouped("outbox", instance_id):
            payload = loads(row["payload"])
            cleaned = scrub(payload)
            if cleaned != payload:
                self._tx.update("outbox", row["id"], {"payload": cleaned})
        for row in self._tx.grouped("notifications", instance_id):
            message = scrub(row["message"])
            if message != row["message"]:
                self._tx.update("notifications", row["id"], {"message": message})

    def _of_flow(self, flow: str, since: datetime, until: datetime) -> list[Row]:
        """Rows of instances of ``flow`` started in [since, until)."""
        return [
            r
            for r in self._tx.values("instances")
            if r["flow"] == flow and aware(since) <= r["created_at"] < aware(until)
        ]

    def data_of_flow(self, flow: str) -> Iterator[tuple[str, str, str, datetime, dict[str, Any]]]:
        rows = [r for r in self._tx.values("instances") if r["flow"] == flow]
        for r in sorted(rows, key=lambda r: r["created_at"]):
            yield r["reference"], r["version"], r["status"], r["created_at"], loads(r["data"])

    def cases_started(
        self, flow: str, since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]:
        for r in self._of_flow(flow, since, until):
            yield {
                "id": r["id"],
                "reference": r["reference"],
                "created_at": r["created_at"],
                "status": r["status"],
                "states": loads(r["states"]),
                "data": loads(r["data"]),
                "due_at": r["due_at"],
                "clock": loads(r["clock"]),
            }

    def first_events(
        self, flow: str, events: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, datetime]:
        first: dict[str, datetime] = {}
        for case in self._of_flow(flow, since, until):
            times = [
                h["at"] for h in self._tx.grouped("history", case["id"]) if h["event"] in events
            ]
            if times:
                first[case["id"]] = min(times)
        return first

    def instance_ids(
        self, *, ended_before: datetime | None = None, flow: str | None = None
    ) -> list[str]:
        rows = [
            r
            for r in self._tx.values("instances")
            if (not flow or r["flow"] == flow)
            and (
                ended_before is None
                or (
                    r["status"] in ("completed", "cancelled")
                    and r["updated_at"] < aware(ended_before)
                )
            )
        ]
        return [r["id"] for r in sorted(rows, key=lambda r: r["created_at"])]

    def started_by(self, instance_id: str) -> str | None:
        for r in self._tx.grouped("history", instance_id):
            if r["seq"] == 1:
                return str(r["actor"])
        return None

    def event_counts(self, instance_id: str, event: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self._tx.grouped("history", instance_id):
            state = r["from_state"]
            if r["event"] == event and state is not None:
                counts[state] = counts.get(state, 0) + 1
        return counts


def _by_id(row: Row) -> Any:
    return row["id"]

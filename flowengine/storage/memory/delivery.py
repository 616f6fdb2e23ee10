"""In-memory work, outbox, timers and notifications (ports ``Work``, ``Outbox``,
``Timers``, ``Notifications``).

Leases behave as in SQL: an effect leased to a worker is skipped until its
``lease_until`` passes, then any worker may claim it again, and only the holder
of the current lease may record the outcome. A due timer is held by the one
writing unit the store lets run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flowengine.instance import Notification, OutboxItem, RoleGrant, Timer, WorkItem
from flowengine.storage.memory.base import (
    UnitBase,
    aware,
    insert_all,
    outbox_item,
    page,
    timer,
    work_item,
    work_values,
)
from flowengine.storage.memory.tables import Row

_DELIVERABLE = ("pending", "failed")


class WorkMixin(UnitBase):
    def open_work(self, items: Sequence[WorkItem]) -> None:
        insert_all(self._tx, "work_items", [work_values(w) for w in items])

    def _open_rows(self, instance_id: str) -> list[Row]:
        return [r for r in self._tx.grouped("work_items", instance_id) if r["closed_at"] is None]

    def close_work(
        self, instance_id: str, states: Sequence[str], actor: str, now: datetime
    ) -> None:
        for r in self._open_rows(instance_id):
            if r["state"] in states:
                self._tx.update("work_items", r["id"], {"closed_at": now, "closed_by": actor})

    def open_items(self, instance_id: str) -> dict[str, WorkItem]:
        return {r["state"]: work_item(r) for r in self._open_rows(instance_id)}

    def reassign(self, instance_id: str, state: str, role: str, assignee: str | None) -> None:
        for r in self._open_rows(instance_id):
            if r["state"] == state:
                self._tx.update("work_items", r["id"], {"role": role, "assignee": assignee})

    def assignees(self, instance_id: str) -> set[str]:
        return {
            r["assignee"]
            for r in self._tx.grouped("work_items", instance_id)
            if r["assignee"] is not None
        }

    def open_work_for(
        self, grants: Sequence[RoleGrant], person_id: str, limit: int = 500, offset: int = 0
    ) -> list[WorkItem]:
        if not grants:
            return []

        def entitled(r: Row) -> bool:
            if r["assignee"] == person_id:  # reassigned to them by name
                return True
            return any(
                r["role"] == g.role
                and (not g.directorate or r["assignee"] in (None, g.directorate, person_id))
                for g in grants
            )

        rows = [r for r in self._tx.values("work_items") if r["closed_at"] is None and entitled(r)]
        rows.sort(key=lambda r: (r["due_at"] is None, r["due_at"] or _EPOCH, r["id"]))
        items = []
        for r in page(rows, limit, offset):
            owner = self._tx.rows("instances")[r["instance_id"]]
            items.append(work_item(r, owner["reference"], owner["flow"]))
        return items


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OutboxMixin(UnitBase):
    def insert_effects(self, effects: Sequence[Any], now: datetime) -> None:
        insert_all(
            self._tx,
            "outbox",
            [
                {
                    "instance_id": e.instance_id,
                    "state": e.state,
                    "kind": e.kind,
                    "payload": e.payload,
                    "status": "pending",
                    "created_at": now,
                }
                for e in effects
            ],
        )

    @staticmethod
    def _unleased(r: Row, now: datetime) -> bool:
        return r["lease_until"] is None or r["lease_until"] < aware(now)

    def cancel_effects(self, instance_id: str, states: Sequence[str], now: datetime) -> None:
        for r in self._tx.grouped("outbox", instance_id):
            if r["state"] in states and r["status"] in _DELIVERABLE and self._unleased(r, now):
                self._tx.update("outbox", r["id"], {"status": "cancelled"})

    def outbox(
        self, instance_id: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[OutboxItem]:
        candidates = (
            self._tx.grouped("outbox", instance_id) if instance_id else self._tx.values("outbox")
        )
        rows = sorted(
            (r for r in candidates if not status or r["status"] == status), key=lambda r: r["id"]
        )
        return [outbox_item(r, self._reference(r["instance_id"])) for r in page(rows, limit)]

    def outbox_item(self, item_id: int) -> OutboxItem | None:
        row = self._tx.get("outbox", item_id)
        return outbox_item(row, self._reference(row["instance_id"])) if row else None

    def claim_outbox(
        self, now: datetime, worker: str, lease_until: datetime, limit: int
    ) -> list[OutboxItem]:
        due = sorted(
            (
                r
                for r in self._tx.values("outbox")
                if r["status"] in _DELIVERABLE
                and (r["next_attempt_at"] is None or r["next_attempt_at"] <= aware(now))
                and self._unleased(r, now)
            ),
            key=lambda r: r["id"],
        )
        claimed = []
        for r in due[:limit]:
            row = self._tx.update(
                "outbox", r["id"], {"lease_until": lease_until, "claimed_by": worker}
            )
            claimed.append(outbox_item(row, self._reference(row["instance_id"])))
        return claimed

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
        row = self._tx.get("outbox", item_id)
        if row is None or row["claimed_by"] != worker:
            return False
        self._tx.update(
            "outbox",
            item_id,
            {
                "status": status,
                "attempts": attempts,
                "next_attempt_at": next_attempt_at,
                "last_error": error,
                "delivered_at": now if status == "delivered" else None,
                "lease_until": None,
                "claimed_by": None,
            },
        )
        return True

    def retry_outbox(self, item_id: int, now: datetime) -> bool:
        row = self._tx.get("outbox", item_id)
        if row is None or row["status"] not in ("dead", "failed"):
            return False
        self._tx.update(
            "outbox",
            item_id,
            {
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "lease_until": None,
                "claimed_by": None,
            },
        )
        return True


class TimersMixin(UnitBase):
    def schedule_timers(self, timers: Sequence[Timer], now: datetime) -> None:
        insert_all(
            self._tx,
            "timers",
            [
                {
                    "instance_id": x.instance_id,
                    "state": x.state,
                    "timer_index": x.index,
                    "after": x.after,
                    "due_at": x.due_at,
                    "status": "pending",
                    "created_at": now,
                }
                for x in timers
            ],
        )

    def cancel_timers(self, instance_id: str, states: Sequence[str] | None, now: datetime) -> None:
        if states is not None and not states:
            return
        for r in self._tx.grouped("timers", instance_id):
            if r["status"] == "pending" and (states is None or r["state"] in states):
                self._tx.update("timers", r["id"], {"status": "cancelled", "closed_at": now})

    def _timer_rows(self, status: str | None, due_at: datetime | None) -> list[Row]:
        rows = [
            r
            for r in self._tx.values("timers")
            if (not status or r["status"] == status)
            and (due_at is None or r["due_at"] <= aware(due_at))
        ]
        return sorted(rows, key=lambda r: (r["due_at"], r["id"]))

    def claim_due_timer(self, now: datetime) -> Timer | None:
        rows = self._timer_rows("pending", now)
        return timer(rows[0]) if rows else None

    def close_timer(self, timer_id: int, status: str, now: datetime, worker: str) -> bool:
        row = self._tx.get("timers", timer_id)
        if row is None or row["status"] != "pending":
            return False
        self._tx.update(
            "timers", timer_id, {"status": status, "closed_at": now, "fired_by": worker}
        )
        return True

    def timers(
        self, *, status: str | None = None, due_at: datetime | None = None, limit: int = 500
    ) -> list[tuple[Timer, str, str]]:
        return [
            (timer(r), self._reference(r["instance_id"]), r["status"])
            for r in page(self._timer_rows(status, due_at), limit)
        ]

    def database_now(self) -> datetime:
        return datetime.now(UTC)


class NotificationsMixin(UnitBase):
    def add_notifications(self, item: OutboxItem, now: datetime) -> None:
        for role in dict.fromkeys(str(r) for r in item.payload.get("roles", [])):
            # one row per (effect, role): a second delivery adds nothing
            if self._tx.find_unique("notifications", ("outbox_id", "role"), (item.id, role)):
                continue
            self._tx.insert(
                "notifications",
                {
                    "outbox_id": item.id,
                    "instance_id": item.instance_id,
                    "role": role,
                    "directorate": item.payload.get("directorate"),
                    "message": str(item.payload.get("message", "")),
                    "created_at": now,
                },
            )

    def notifications_for(
        self, grants: Sequence[RoleGrant], limit: int = 100, offset: int = 0
    ) -> list[Notification]:
        def entitled(r: Row) -> bool:
            return any(
                r["role"] == g.role
                and (not g.directorate or r["directorate"] in (None, g.directorate))
                for g in grants
            )

        rows = sorted(
            (r for r in self._tx.values("notifications") if entitled(r)),
            key=lambda r: r["id"],
            reverse=True,
        )
        return [
            Notification(
                r["id"],
                r["instance_id"],
                self._reference(r["instance_id"]),
                r["role"],
                r["message"],
                r["created_at"],
            )
            for r in page(rows, limit, offset)
        ]

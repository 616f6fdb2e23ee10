"""SQL work items, outbox, timers and notifications (ports ``Work``, ``Outbox``,
``Timers``, ``Notifications``).

On PostgreSQL a claimed effect or timer is locked ``SKIP LOCKED``: workers
racing for it skip it instead of waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, text, update

from flowengine.instance import Notification, OutboxItem, RoleGrant, Timer, WorkItem
from flowengine.storage import tables as t
from flowengine.storage.sql.connection import UnitBase
from flowengine.storage.sql.statements import (
    _CANCEL_STATE_TIMERS,
    _CANCEL_TIMERS,
    _CLOSE_WORK,
    _OPEN_ITEMS,
    _effect_rows,
    _open_item,
    _outbox_item,
    _timer,
    _timer_rows,
    _work_rows,
)


class WorkMixin(UnitBase):
    """Open human work."""

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


class OutboxMixin(UnitBase):
    """Effects and their leases."""

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


class TimersMixin(UnitBase):
    """Durable timers."""

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


class NotificationsMixin(UnitBase):
    """In-app notices."""

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

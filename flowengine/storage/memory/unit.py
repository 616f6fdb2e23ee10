"""The in-memory unit of work: every port over one :class:`Transaction`."""

from __future__ import annotations

from collections.abc import Sequence

from flowengine.storage.memory.base import history_values, insert_all, work_values
from flowengine.storage.memory.delivery import (
    NotificationsMixin,
    OutboxMixin,
    TimersMixin,
    WorkMixin,
)
from flowengine.storage.memory.instances import CatalogueMixin, InstancesMixin
from flowengine.storage.memory.people import (
    AccountsMixin,
    IdempotencyMixin,
    PeopleMixin,
    RefusalsMixin,
)
from flowengine.storage.ports import GeneratedCase, StepWrites


class MemoryUnit(
    CatalogueMixin,
    InstancesMixin,
    WorkMixin,
    OutboxMixin,
    TimersMixin,
    NotificationsMixin,
    IdempotencyMixin,
    PeopleMixin,
    RefusalsMixin,
    AccountsMixin,
):
    """One transaction's worth of operations on the in-memory tables."""

    def write_step(self, writes: StepWrites) -> None:
        # the version check comes first: a stale step writes nothing at all
        w = writes
        if w.previous is None:
            self.insert_instance(w.instance)
        else:
            self.update_instance(
                w.instance, w.previous.row_version, data_changed=w.instance.data != w.previous.data
            )
        self.insert_history(w.history)
        self.close_work(w.instance.id, w.closed, w.instance.updated_by, w.now)
        self.open_work(w.opened)
        self.cancel_timers(w.instance.id, w.cancel_timers, w.now)
        self.schedule_timers(w.timers, w.now)
        self.insert_effects(w.effects, w.now)

    def insert_generated(self, cases: Sequence[GeneratedCase]) -> None:
        for case, _, _ in cases:
            self._tx.insert("instances", case.as_dict())
        for _, sealed, _ in cases:
            insert_all(self._tx, "history", [history_values(s) for s in sealed])
        for case, _, work in cases:
            for item, closed in work:
                by = case.updated_by if closed else None
                self._tx.insert(
                    "work_items", {**work_values(item), "closed_at": closed, "closed_by": by}
                )

"""The SQL unit of work: every concern over one connection, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowengine.audit import SealedEntry
from flowengine.instance import Instance, WorkItem
from flowengine.storage import tables as t
from flowengine.storage.ports import StepWrites
from flowengine.storage.sql.delivery import NotificationsMixin, OutboxMixin, TimersMixin, WorkMixin
from flowengine.storage.sql.instances import CatalogueMixin, InstancesMixin
from flowengine.storage.sql.people import (
    AccountsMixin,
    IdempotencyMixin,
    PeopleMixin,
    RefusalsMixin,
)
from flowengine.storage.sql.statements import (
    _STEP_INSERTS,
    _UPDATED_COLUMNS,
    _effect_rows,
    _history_rows,
    _step_statement,
    _timer_rows,
    _work_rows,
)


class Unit(
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
    """One transaction's worth of repository operations."""

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

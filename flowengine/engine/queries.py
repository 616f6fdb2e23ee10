"""Reading instances as a viewer may see them: refusals audited, personal fields
masked unless the viewer is entitled to them (KVKK)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from flowengine import duplicates, privacy, runtime
from flowengine.definition import FlowDefinition
from flowengine.durations import DurationSyntaxError, parse_duration
from flowengine.engine.catalogue import Catalogue
from flowengine.engine.context import Context
from flowengine.engine.people import People
from flowengine.engine.transactions import Transactions, refusal
from flowengine.errors import InvalidData, PermissionDenied, UnknownFlow, UnknownInstance
from flowengine.instance import (
    HistoryEntry,
    Instance,
    Notification,
    OutboxItem,
    Person,
    Timer,
    WorkItem,
)
from flowengine.privacy import MASK
from flowengine.storage.ports import UnitOfWork


@dataclass(frozen=True)
class InstanceView:
    """An instance as one viewer may see it: personal fields masked if not entitled."""

    instance: Instance
    data: dict[str, Any]
    masked: tuple[str, ...]
    allowed_events: tuple[str, ...]
    title: str
    personal_visible: bool = False  # the viewer is entitled to the personal fields


def _loaded(unit: UnitOfWork, ref: str) -> Instance:
    instance = unit.load_instance(ref)
    if instance is None:
        raise UnknownInstance(ref)
    return instance


class Queries:
    def __init__(
        self, ctx: Context, catalogue: Catalogue, people: People, transactions: Transactions
    ) -> None:
        self.ctx = ctx
        self.catalogue = catalogue
        self.people = people
        self.transactions = transactions

    def _read(self) -> AbstractContextManager[UnitOfWork]:
        return self.ctx.store.unit(writes=False)

    def get(self, ref: str) -> Instance:
        with self._read() as unit:
            return _loaded(unit, ref)

    def history(self, ref: str, viewer: str | None = None) -> list[HistoryEntry]:
        """The timeline; for a ``viewer``, checked and with personal values masked.

        Without a viewer (trusted Python code embedding the engine) it is complete.
        """
        if viewer is None:
            with self._read() as unit:
                return unit.history(_loaded(unit, ref).id)
        try:
            with self._read() as unit:
                instance, definition, person = self._viewable(unit, ref, viewer)
                entries = unit.history(instance.id)
        except PermissionDenied as exc:
            self.transactions.record_refusal(exc)
            raise
        if privacy.entitled(definition, person):
            return entries
        hidden = definition.personal_fields
        return [
            dataclasses.replace(
                e,
                changes={k: ([MASK, MASK] if k in hidden else v) for k, v in e.changes.items()},
            )
            for e in entries
        ]

    def tasks(self, actor: str, limit: int = 500, offset: int = 0) -> list[WorkItem]:
        """The open work ``actor``'s roles entitle them to, soonest due first."""
        with self._read() as unit:
            person = self.people.in_unit(unit, actor)
            return unit.open_work_for(person.roles, person.id, limit, offset)

    def instances(
        self,
        flow: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        status: str | None = None,
        limit: int = 200,
        breaching_within: str | None = None,
        offset: int = 0,
        flows: Sequence[str] | None = None,
    ) -> list[Instance]:
        """Instances, newest first; ``overdue``: past their deadline;
        ``breaching_within`` (a duration, e.g. ``3d`` or ``2wd``): not yet past it,
        but will be within that time (paused and answered cases have none)."""
        current = self.catalogue.current
        if flow is not None and flow not in current:
            raise UnknownFlow(flow, current)
        now = self.ctx.clock()
        due_before = None
        if breaching_within is not None:
            try:
                due_before = parse_duration(breaching_within).add_to(now, self.ctx.timezone)
            except DurationSyntaxError as exc:
                raise InvalidData({"breaching_within": str(exc)}) from None
        with self._read() as unit:
            return unit.list_instances(
                flow=flow,
                state=state,
                status=status,
                overdue_at=now if overdue else None,
                due_between=(now, due_before) if due_before else None,
                limit=limit,
                offset=offset,
                flows=flows,
            )

    def allowed_events(self, ref: str, actor: str) -> list[str]:
        with self._read() as unit:
            person = self.people.in_unit(unit, actor)
            instance = _loaded(unit, ref)
            definition = self.catalogue.definition(instance.flow, instance.version, unit)
            work = unit.open_items(instance.id)
        pairs = runtime.allowed_events(definition, instance, person, self.ctx.clock(), work)
        return list(dict.fromkeys(e for _, e in pairs))

    def _viewable(
        self, unit: UnitOfWork, ref: str, viewer: str
    ) -> tuple[Instance, FlowDefinition, Person]:
        """Load ``ref`` for ``viewer`` or raise PermissionDenied (audited)."""
        instance = _loaded(unit, ref)
        person = self.people.in_unit(unit, viewer)
        definition = self.catalogue.definition(instance.flow, instance.version, unit)
        starter = (
            unit.started_by(instance.id)
            if privacy.starter_only_roles(definition) & {g.role for g in person.roles}
            else None
        )
        if not privacy.may_view(definition, person, unit.assignees(instance.id), starter):
            raise refusal(
                PermissionDenied(
                    f"{viewer} may not see {instance.reference}: none of their roles "
                    f"({', '.join(str(g) for g in person.roles) or 'none'}) has a part in it"
                ),
                instance.id,
                instance.flow,
                viewer,
                "view",
            )
        return instance, definition, person

    def view(self, ref: str, viewer: str) -> InstanceView:
        """The instance as ``viewer`` may see it (personal fields masked unless entitled)."""
        try:
            with self._read() as unit:
                instance, definition, person = self._viewable(unit, ref, viewer)
                work = unit.open_items(instance.id)
        except PermissionDenied as exc:
            self.transactions.record_refusal(exc)
            raise
        show = privacy.entitled(definition, person)
        data, masked = privacy.mask(definition, instance.data, show)
        pairs = runtime.allowed_events(definition, instance, person, self.ctx.clock(), work)
        events = tuple(dict.fromkeys(e for _, e in pairs))
        return InstanceView(instance, data, masked, events, definition.title, show)

    def similar(self, ref: str, viewer: str) -> list[tuple[Instance, str]]:
        """Open requests that look like the same one as ``ref`` (its flow's
        ``duplicates:``), each with the reason; for a viewer entitled to personal
        data, since contacts are compared (a refusal is audited, as for `view`)."""
        try:
            return self._similar(ref, viewer)
        except PermissionDenied as exc:
            self.transactions.record_refusal(exc)
            raise

    def _similar(self, ref: str, viewer: str) -> list[tuple[Instance, str]]:
        with self._read() as unit:
            person = self.people.in_unit(unit, viewer)
            instance = _loaded(unit, ref)
            definition = self.catalogue.definition(instance.flow, instance.version, unit)
            spec = definition.doc.duplicates
            if spec is None:
                return []
            if not privacy.entitled(definition, person):
                roles = ", ".join(definition.personal_access) or "none"
                raise refusal(
                    PermissionDenied(
                        f"{viewer} may not compare the contacts of {instance.reference}: "
                        f"it needs one of the roles {roles}"
                    ),
                    instance.id,
                    instance.flow,
                    viewer,
                    "similar",
                )
            created = instance.created_at
            span = parse_duration(spec.within).add_to(created) - created
            found = []
            for other in unit.open_of_flow(instance.flow, created - span, created + span):
                if other.id == instance.id:
                    continue
                why = duplicates.reason(spec, instance.data, other.data)
                if why:
                    found.append((other, why))
        return sorted(found, key=lambda pair: pair[0].created_at)

    def acting_title(self, ref: str, entry: HistoryEntry) -> str | None:
        """For a step taken by delegation, the acting title: the state's role + " V."."""
        if entry.acting_for is None or entry.from_state is None:
            return None
        instance = self.get(ref)
        definition = self.catalogue.definition(instance.flow, instance.version)
        state = definition.states.get(entry.from_state)
        role = getattr(state.doc, "role", None) if state else None
        return f"{self.catalogue.role_title(role)} V." if role else None

    def outbox(
        self, ref: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[OutboxItem]:
        """Recorded effects (of one instance, or all), oldest first."""
        with self._read() as unit:
            instance_id = None if ref is None else _loaded(unit, ref).id
            return unit.outbox(instance_id, status, limit)

    def timers(
        self, due: bool = False, status: str | None = "pending"
    ) -> list[tuple[Timer, str, str]]:
        with self._read() as unit:
            return unit.timers(status=status, due_at=self.ctx.due_clock(unit) if due else None)

    def notifications(self, actor: str, limit: int = 100, offset: int = 0) -> list[Notification]:
        """In-app notices for the roles ``actor`` holds, newest first."""
        with self._read() as unit:
            person = self.people.in_unit(unit, actor)
            return unit.notifications_for(person.roles, limit, offset)

    def refusals(self, ref: str) -> list[dict[str, Any]]:
        with self._read() as unit:
            return unit.refusals(_loaded(unit, ref).id)

"""The commands: each one transaction that loads what it needs, lets the runtime
decide (permissions, what may be written), and persists the step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowengine import policy, runtime
from flowengine.definition import FlowDefinition
from flowengine.engine.catalogue import Catalogue
from flowengine.engine.context import Context
from flowengine.engine.people import People, parse_grant
from flowengine.engine.persistence import StepWriter
from flowengine.engine.transactions import Transactions, refusal, request_hash
from flowengine.errors import (
    ConcurrentUpdate,
    InvalidData,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownInstance,
)
from flowengine.instance import Instance, OutboxItem
from flowengine.storage.ports import UnitOfWork
from flowengine.values import values_from_text

# what a manager's command on a case does once the case is locked and they may
Act = Callable[[UnitOfWork, Instance, FlowDefinition, str], Instance]


class Commands:
    def __init__(
        self,
        ctx: Context,
        catalogue: Catalogue,
        people: People,
        transactions: Transactions,
        writer: StepWriter,
    ) -> None:
        self.ctx = ctx
        self.catalogue = catalogue
        self.people = people
        self.transactions = transactions
        self.writer = writer

    def start(
        self,
        flow: str,
        data: Mapping[str, Any],
        actor: str,
        idempotency_key: str | None = None,
        text_data: Mapping[str, str] | None = None,
    ) -> Instance:
        fields = self.catalogue.definition(flow).fields
        data = {**data, **values_from_text(fields, text_data or {})}

        def run(unit: UnitOfWork) -> Instance:
            definition = self.catalogue.newest(unit, flow)
            person = self.people.in_unit(unit, actor)
            try:
                merged = runtime.new_instance_data(definition, data, person)
            except PermissionDenied as exc:
                raise refusal(exc, None, flow, actor, "start") from None
            self.catalogue.deploy_in(unit, definition)
            return self.writer.start_in(unit, definition, merged, actor)

        request = request_hash("start", flow, dict(data), actor)
        return self.transactions.command(idempotency_key, request, run)

    def fire(
        self,
        ref: str,
        event: str,
        actor: str,
        data: Mapping[str, Any] | None = None,
        comment: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        state: str | None = None,
        text_data: Mapping[str, str] | None = None,
    ) -> Instance:
        payload = dict(data or {})
        texts = dict(text_data or {})

        def run(unit: UnitOfWork) -> Instance:
            person = self.people.in_unit(unit, actor)
            loaded = unit.load_with_work(ref)
            if loaded is None:
                raise UnknownInstance(ref)
            instance, work = loaded
            if expected_version is not None and expected_version != instance.row_version:
                raise ConcurrentUpdate(
                    instance.reference,
                    instance.row_version,
                    instance.updated_by,
                    instance.updated_at.isoformat(timespec="seconds"),
                )
            definition = self.catalogue.definition(instance.flow, instance.version, unit)
            payload.update(values_from_text(definition.fields, texts))
            try:
                result = runtime.fire(
                    definition,
                    instance,
                    event,
                    person,
                    payload,
                    comment,
                    self.ctx.clock(),
                    self.ctx.timezone,
                    state=state,
                    work=work,
                    children=self.writer.foreach_children(unit, instance, definition),
                    rejections=(
                        unit.event_counts(instance.id, "reject")
                        if event == "reject" and definition.escalating_states
                        else None
                    ),
                )
            except PermissionDenied as exc:
                raise refusal(exc, instance.id, instance.flow, actor, event) from None
            return self.writer.save(unit, result, instance, definition)

        request = request_hash("fire", ref, payload, texts, actor, event, comment, state)
        return self.transactions.command(idempotency_key, request, run)

    def reassign(
        self, ref: str, to: str, actor: str, state: str | None = None, reason: str | None = None
    ) -> Instance:
        def run(unit: UnitOfWork) -> Instance:
            manager = self.people.in_unit(unit, actor)
            instance, definition = self.writer.locked(unit, ref)
            items = unit.open_items(instance.id)
            chosen = [
                item
                for name, item in items.items()
                if state is None or name == state or name.endswith("." + state)
            ]
            if len(chosen) != 1:
                open_states = ", ".join(sorted(items)) or "none"
                raise InvalidData(
                    {"state": f"name the work to reassign with --state (open: {open_states})"}
                )
            item = chosen[0]
            try:
                policy.check_reassign(manager, definition, instance.reference, item)
            except PermissionDenied as exc:
                raise refusal(exc, instance.id, instance.flow, actor, "reassign") from None
            target = unit.person(to)
            assignee: str | None
            if target is not None:
                if not target.holds(item.role):
                    raise InvalidData({"to": f"{to} does not hold the role {item.role}"})
                role, assignee = item.role, to
            else:
                grant = parse_grant(to)
                self.catalogue.check_grants([grant])
                role, assignee = grant.role, grant.directorate
            result = runtime.reassign(
                definition, instance, item, role, assignee, to, actor, reason,
                self.ctx.clock(), self.ctx.timezone,
            )  # fmt: skip
            return self.writer.save(unit, result, instance, definition)

        return self.transactions.command(None, "", run)

    def signal(
        self, ref: str, name: str, actor: str, idempotency_key: str | None = None
    ) -> Instance:
        def run(unit: UnitOfWork) -> Instance:
            person = self.people.in_unit(unit, actor)
            instance, definition = self.writer.locked(unit, ref)
            try:
                result = runtime.signal(
                    definition, instance, name, person, self.ctx.clock(), self.ctx.timezone
                )
            except PermissionDenied as exc:
                raise refusal(exc, instance.id, instance.flow, actor, f"signal {name}") from None
            return self.writer.save(unit, result, instance, definition)

        request = request_hash("signal", ref, actor, name)
        return self.transactions.command(idempotency_key, request, run)

    def cancel(self, ref: str, actor: str, reason: str) -> Instance:
        def act(
            unit: UnitOfWork, instance: Instance, definition: FlowDefinition, why: str
        ) -> Instance:
            if instance.status != "active":
                raise TransitionNotAllowed(instance.reference, "cancel", instance.status, [])
            result = runtime.cancel(
                definition, instance, actor, why, self.ctx.clock(), self.ctx.timezone
            )
            return self.writer.save(unit, result, instance, definition)

        return self._managed(ref, actor, reason, "withdraw", act)

    def merge(self, ref: str, into: str, actor: str, reason: str) -> Instance:
        def act(
            unit: UnitOfWork, duplicate: Instance, definition: FlowDefinition, why: str
        ) -> Instance:
            primary, _ = self.writer.locked(unit, into)
            result = runtime.merge(
                definition, duplicate, primary, actor, why, self.ctx.clock(), self.ctx.timezone
            )
            return self.writer.save(unit, result, duplicate, definition)

        return self._managed(ref, actor, reason, "merge", act)

    def unmerge(self, ref: str, actor: str, reason: str) -> Instance:
        def act(
            unit: UnitOfWork, duplicate: Instance, definition: FlowDefinition, why: str
        ) -> Instance:
            return self.writer.unmerge_in(unit, duplicate, definition, actor, why)

        return self._managed(ref, actor, reason, "unmerge", act)

    def _managed(self, ref: str, actor: str, reason: str, what: str, act: Act) -> Instance:
        """One command a manager or the desk takes on a case, with its reason:
        the case locked, the actor checked (refusals audited), then ``act``."""
        if not reason.strip():
            raise InvalidData({"reason": f"to {what} a case needs a reason; give --reason"})

        def run(unit: UnitOfWork) -> Instance:
            person = self.people.in_unit(unit, actor)
            instance, definition = self.writer.locked(unit, ref)
            try:
                policy.check_withdraw(person, definition, instance.reference, what)
            except PermissionDenied as exc:
                raise refusal(exc, instance.id, instance.flow, actor, what) from None
            return act(unit, instance, definition, reason.strip())

        return self.transactions.command(None, "", run)

    def fire_due_timer(self, worker: str) -> bool:
        """Fire one due timer in its own transaction; False when none is due.

        The timer row and its instance are locked together, so each timer fires
        exactly once however many workers run; a worker killed mid-way rolls back.
        """
        with self.ctx.store.unit() as unit:
            now = self.ctx.due_clock(unit)
            timer = unit.claim_due_timer(now)
            if timer is None or timer.id is None:
                return False
            instance = unit.load_instance(timer.instance_id, lock=True)
            if instance is None or not runtime.is_active(instance, timer.state):
                unit.close_timer(timer.id, "cancelled", now, worker)
                return True
            definition = self.catalogue.definition(instance.flow, instance.version, unit)
            result = runtime.fire_timer(definition, instance, timer, now, self.ctx.timezone)
            unit.close_timer(timer.id, "fired", now, worker)
            self.writer.save(unit, result, instance, definition)
        return True

    def migrate(
        self,
        instance_id: str,
        before: FlowDefinition,
        after: FlowDefinition,
        mapping: Mapping[str, str],
        actor: str,
    ) -> bool:
        """Move one instance from ``before`` to ``after`` in its own transaction;
        False if it is no longer active on ``before`` (moved by an earlier run)."""
        with self.ctx.store.unit() as unit:
            instance = unit.load_instance(instance_id, lock=True)
            if instance is None or instance.version != before.version:
                return False
            if instance.status != "active":
                return False
            result = runtime.migrate(
                before, after, instance, mapping, actor, self.ctx.clock(), self.ctx.timezone
            )
            self.writer.save(unit, result, instance, after, same_version=False)
        return True

    def retry_effect(self, item_id: int) -> OutboxItem:
        """Queue a dead or failed effect again."""
        with self.ctx.store.unit() as unit:
            item = unit.outbox_item(item_id)
            if item is None:
                raise NotFound(f"no outbox item {item_id}; list them with 'flowengine outbox'")
            if not unit.retry_outbox(item_id, self.ctx.clock()):
                raise InvalidData(
                    {"status": f"item {item_id} is {item.status}; only dead or failed items retry"}
                )
            return unit.outbox_item(item_id) or item

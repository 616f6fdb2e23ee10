"""Persisting a step and its cascade: the instance, history (sealed), work,
timers and effects, then the children it starts or withdraws, the parent it
resumes and the duplicates merged into it — all in the caller's transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from flowengine import audit, faults, runtime, schema
from flowengine.definition import FlowDefinition
from flowengine.engine.catalogue import Catalogue
from flowengine.engine.context import Context
from flowengine.errors import UnknownInstance
from flowengine.instance import Effect, Instance
from flowengine.storage.ports import StepWrites, UnitOfWork

RECEIPT_STATE = "_receipt"  # the outbox `state` of a receipt sent on start


class StepWriter:
    def __init__(self, ctx: Context, catalogue: Catalogue) -> None:
        self.ctx = ctx
        self.catalogue = catalogue

    def locked(self, unit: UnitOfWork, ref: str) -> tuple[Instance, FlowDefinition]:
        """The instance ``ref``, locked for this command, and its flow version."""
        instance = unit.load_instance(ref, lock=True)
        if instance is None:
            raise UnknownInstance(ref)
        return instance, self.catalogue.definition(instance.flow, instance.version, unit)

    def start_in(
        self,
        unit: UnitOfWork,
        definition: FlowDefinition,
        data: dict[str, Any],
        actor: str,
        parent: tuple[str, str] | None = None,
    ) -> Instance:
        """Number, start and save a new instance; ``data`` is checked already when a
        person started it (:func:`runtime.new_instance_data`), a child's here."""
        merged = data if parent is None else runtime.new_instance_data(definition, data)
        now = self.ctx.clock()
        year = now.astimezone(UTC).year
        seq = unit.next_sequence(definition.flow, year)
        pattern = definition.doc.reference or (definition.flow.upper() + "-{year}-{seq:06d}")
        reference = pattern.format(year=year, seq=seq, flow=definition.flow)
        blank = Instance(
            id=str(uuid.uuid4()),
            reference=reference,
            flow=definition.flow,
            version=definition.version,
            states=(),
            status="active",
            data=merged,
            row_version=0,
            created_at=now,
            updated_at=now,
            updated_by=actor,
            parent_id=parent[0] if parent else None,
            parent_state=parent[1] if parent else None,
            audit_salt=audit.new_salt(),
        )
        result = runtime.start(definition, blank, actor, now, self.ctx.timezone)
        return self.save(unit, self._with_receipt(result, definition), None, definition)

    def _with_receipt(
        self, result: runtime.StepResult, definition: FlowDefinition
    ) -> runtime.StepResult:
        """The receipt as the first message to the citizen (the flow's `receipt:`).

        The payload names the field holding their address; the e-mail connector
        reads it at delivery, so no operator listing the outbox sees it.
        """
        spec = definition.doc.receipt
        instance = result.instance
        if spec is None or not instance.data.get(spec.email):
            return result
        from flowengine import receipt_text  # only flows that send receipts need it

        made = receipt_text.build(
            instance,
            instance.data,
            definition,
            self.ctx.organization,
            with_status_code=True,
            timezone=self.ctx.timezone,
        )
        payload = {
            "to_field": spec.email,
            "subject": f"Alındı belgesi: {instance.reference}",
            "body": made.text(),
        }
        # not the start state's: withdrawing that state (a merge at intake) must
        # not withdraw the citizen's receipt
        receipt = Effect(instance.id, "email", payload, RECEIPT_STATE)
        return dataclasses.replace(result, effects=(receipt, *result.effects))

    def save(
        self,
        unit: UnitOfWork,
        result: runtime.StepResult,
        previous: Instance | None,
        definition: FlowDefinition,
        *,
        same_version: bool = True,
    ) -> Instance:
        """Write a step's instance, history, work, effects and children; return it as saved.

        ``same_version`` says the instance's timers were scheduled by ``definition``,
        so states without timers there have none to cancel (a migration's may).
        """
        instance = result.instance
        now = self.ctx.clock()
        sealed = audit.seal(
            result.history, instance.history_head, instance.audit_salt, definition.personal_fields
        )
        instance = instance.evolve(
            row_version=result.history[-1].seq if result.history else instance.row_version,
            updated_at=now,
            updated_by=result.history[-1].actor if result.history else instance.updated_by,
            history_head=sealed[-1].hash if sealed else instance.history_head,
        )
        timed = definition.timer_delays
        for item in result.reassigned:
            unit.reassign(instance.id, item.state, item.role, item.assignee)
        unit.cancel_effects(instance.id, result.withdrawn, now)
        if instance.status != "active":
            cancel: list[str] | None = None if timed or not same_version else []
        else:
            cancel = [s for s in result.closed if s in timed or not same_version]
        unit.write_step(
            StepWrites(
                instance=instance,
                previous=previous,
                history=sealed,
                closed=result.closed,
                opened=result.opened,
                cancel_timers=cancel,
                timers=[] if instance.status != "active" else result.timers,
                effects=result.effects,
                now=now,
            )
        )
        # Both points now fall after the step's writes (one statement on PostgreSQL);
        # a crash at either must leave nothing of the step.
        faults.point("after_instance_write")
        faults.point("after_history_insert")
        for spawn in result.spawns:
            child_def = self.catalogue.newest(unit, spawn.flow)
            self.catalogue.deploy_in(unit, child_def)
            self.start_in(
                unit,
                child_def,
                spawn.data,
                runtime.SYSTEM_ACTOR,
                parent=(instance.id, spawn.parent_state),
            )
        if result.cancel_children:
            self._cancel_children(unit, instance, result.cancel_children)
        # a merged original keeps its duplicates: they get its answer when it does
        if definition.doc.duplicates is not None and (
            result.replied is not None or instance.status in ("completed", "cancelled")
        ):
            self._settle_duplicates(unit, instance, result.replied, now)
        if instance.status != "active" and instance.parent_id:
            self._resume_parent(unit, instance)
        return instance

    def unmerge_in(
        self,
        unit: UnitOfWork,
        duplicate: Instance,
        definition: FlowDefinition,
        actor: str,
        reason: str,
    ) -> Instance:
        """Unmerge within ``unit``: the states the merge withdrew are its last
        `cancel` rows before the `merge` row."""
        entries = unit.history(duplicate.id)
        merges = [i for i, h in enumerate(entries) if h.event == "merge"]
        states: list[str] = []
        if merges:
            index = merges[-1] - 1
            while index >= 0 and entries[index].event == "cancel":
                states.insert(0, entries[index].from_state or "")
                index -= 1
        result = runtime.unmerge(
            definition,
            duplicate,
            [s for s in states if s],
            actor,
            reason,
            self.ctx.clock(),
            self.ctx.timezone,
        )
        return self.save(unit, result, duplicate, definition)

    def foreach_children(
        self, unit: UnitOfWork, parent: Instance, definition: FlowDefinition
    ) -> dict[str, int]:
        """How many children each active `foreach` subflow of ``parent`` has started."""
        counts = {}
        for state in parent.states:
            doc = definition.states[state].doc
            if isinstance(doc, schema.SubflowState) and doc.foreach is not None:
                counts[state] = len(self._round_children(unit, parent, state))
        return counts

    def _settle_duplicates(
        self, unit: UnitOfWork, original: Instance, replied: Mapping[str, Any] | None, now: datetime
    ) -> None:
        """Requests merged into ``original`` get its final reply (and pass it on to
        their own duplicates); if it ended without one, they go back to work."""
        for duplicate in unit.merged_into(original.id):
            dup_definition = self.catalogue.definition(duplicate.flow, duplicate.version, unit)
            if replied is not None:
                answered = runtime.answer_merged(
                    dup_definition, duplicate, original, replied, now, self.ctx.timezone
                )
                self.save(unit, answered, duplicate, dup_definition)
            else:
                note = f"{original.reference} cevapsız kapandı"
                self.unmerge_in(unit, duplicate, dup_definition, runtime.SYSTEM_ACTOR, note)

    def _cancel_children(self, unit: UnitOfWork, parent: Instance, states: Sequence[str]) -> None:
        """Cancel the running children of withdrawn subflow states (and theirs); with
        ``runtime.ALL_CHILDREN``, every child a waiting subflow started (the parent
        ended), never one handed off (`wait: false`)."""
        every = runtime.ALL_CHILDREN in states
        parent_definition = self.catalogue.definition(parent.flow, parent.version, unit)
        for child in unit.children(parent.id):
            if child.status != "active":
                continue
            spawner = parent_definition.states.get(child.parent_state or "")
            waited = (
                isinstance(spawner.doc, schema.SubflowState) and spawner.doc.wait
                if spawner
                else False
            )
            if not (child.parent_state in states or (every and waited)):
                continue
            child = unit.load_instance(child.id, lock=True) or child
            definition = self.catalogue.definition(child.flow, child.version, unit)
            reason = f"{parent.reference} içinde geri çekildi"
            result = runtime.cancel(
                definition, child, runtime.SYSTEM_ACTOR, reason, self.ctx.clock(), self.ctx.timezone
            )
            self.save(unit, result, child, definition)

    def _round_children(self, unit: UnitOfWork, parent: Instance, state: str) -> list[Instance]:
        """The children ``parent`` started since it last entered ``state`` (a foreach)."""
        entered = max(
            (
                h.at
                for h in unit.history(parent.id)
                if h.to_state == state and h.from_state != state
            ),
            default=None,
        )
        return [
            c
            for c in unit.children(parent.id)
            if c.parent_state == state and (entered is None or c.created_at >= entered)
        ]

    def _resume_parent(self, unit: UnitOfWork, child: Instance) -> None:
        parent = unit.load_instance(child.parent_id or "", lock=True)
        if parent is None or child.parent_state not in parent.states:
            return  # a hand-off (wait: false) parent has moved on already
        definition = self.catalogue.definition(parent.flow, parent.version, unit)
        state = child.parent_state or ""
        ended = total = 1
        doc = definition.states[state].doc
        if isinstance(doc, schema.SubflowState) and doc.foreach is not None:
            siblings = self._round_children(unit, parent, state)
            total = len(siblings)
            ended = sum(1 for c in siblings if c.status != "active")
        result = runtime.child_ended(
            definition,
            parent,
            state,
            {"outcome": child.outcome, "reference": child.reference, "flow": child.flow},
            self.ctx.clock(),
            self.ctx.timezone,
            ended=ended,
            total=total,
        )
        self.save(unit, result, parent, definition)

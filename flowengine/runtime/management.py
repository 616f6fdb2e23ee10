"""What managers and the desk do to a case, and what the engine does on their
behalf: cancel, merge and unmerge duplicates, answer a merged duplicate,
reassign work, migrate to another flow version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowengine import clocks, schema
from flowengine.definition import FlowDefinition
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.errors import InvalidData
from flowengine.instance import Instance, WorkItem
from flowengine.runtime.machine import ALL_CHILDREN, SYSTEM_ACTOR
from flowengine.runtime.step import Step, StepResult


def cancel(
    definition: FlowDefinition,
    instance: Instance,
    actor: str,
    reason: str,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Withdraw a whole instance (cancel case): every active state is cancelled."""
    step = Step(definition, instance, actor, now, timezone)
    if instance.status != "active":
        return step.settle()
    step.withdraw(list(instance.states), reason)
    step.result.cancel_children.append(ALL_CHILDREN)
    step.record("cancel_case", None, None, comment=reason)
    step._set(status="cancelled", outcome="cancelled", states=())
    return step.settle()


def merge(
    definition: FlowDefinition,
    duplicate: Instance,
    primary: Instance,
    actor: str,
    reason: str,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Park ``duplicate`` on ``primary``: its work is withdrawn, and it is answered
    with ``primary``'s final reply (or taken back with :func:`unmerge`)."""
    if duplicate.id == primary.id:
        raise InvalidData({"into": "a request cannot be merged into itself"}, duplicate.reference)
    for case in (duplicate, primary):
        if case.status != "active" or case.flow != duplicate.flow:
            raise InvalidData(
                {"into": f"{case.reference} is {case.status}; merge open requests of one flow"},
                duplicate.reference,
            )
    if primary.version != duplicate.version:
        raise InvalidData(
            {
                "into": f"{primary.reference} runs on version {primary.version} of the flow and "
                f"{duplicate.reference} on {duplicate.version}; merge requests of one version"
            },
            duplicate.reference,
        )
    step = Step(definition, duplicate, actor, now, timezone)
    step.withdraw(list(duplicate.states), f"{primary.reference} ile birleştirildi")
    step.record("merge", None, None, comment=f"{primary.reference}: {reason}")
    step._set(status="merged", merged_into=primary.id)
    return step.settle()


def unmerge(
    definition: FlowDefinition,
    duplicate: Instance,
    states: list[str],
    actor: str,
    reason: str,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Take a merged duplicate back: the ``states`` it stood in are entered again."""
    if duplicate.status != "merged":
        raise InvalidData(
            {"ref": f"{duplicate.reference} is {duplicate.status}, not merged"},
            duplicate.reference,
        )
    step = Step(definition, duplicate, actor, now, timezone)
    step._set(status="active", merged_into=None)
    for name in states:
        step.record("unmerge", None, name, comment=reason)
        step.enter(name)
    return step.settle()


MERGED_REPLY = "merged_reply"  # the history event of a duplicate answered with another's reply


def answer_merged(
    definition: FlowDefinition,
    duplicate: Instance,
    primary: Instance,
    replied: Mapping[str, Any],
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Give a merged duplicate ``primary``'s final reply; it is done."""
    step = Step(definition, duplicate, SYSTEM_ACTOR, now, timezone)
    before = dict(duplicate.data)
    step._set(data={**duplicate.data, **replied})
    changes = {k: [before.get(k), v] for k, v in replied.items() if before.get(k) != v}
    step.record(MERGED_REPLY, None, None, changes, comment=f"{primary.reference} cevabı")
    step.result.replied = dict(replied)  # duplicates merged into this one get it too
    if duplicate.clock and not duplicate.clock.get("replied_at"):
        clock, note = clocks.apply(
            definition.doc, duplicate.clock, "reply", now, duplicate.reference, timezone
        )
        step._set(clock=clock, due_at=None)
        step.record("clock", None, None, comment=note)
    step._set(status="completed", outcome="merged")
    return step.settle()


def reassign(
    definition: FlowDefinition,
    instance: Instance,
    item: WorkItem,
    role: str,
    assignee: str | None,
    to: str,
    actor: str,
    reason: str | None,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Give the open work ``item`` to ``role`` (and ``assignee``; ``to`` as the
    manager named them): same state, same deadline, and a `reassigned` history
    row saying from whom to whom and why."""
    step = Step(definition, instance, actor, now, timezone)
    step.result.reassigned.append(dataclasses.replace(item, role=role, assignee=assignee))
    before = f"{item.role}:{item.assignee}" if item.assignee else item.role
    note = f"{before} → {to}" + (f" ({reason})" if reason else "")
    step.record("reassigned", item.state, item.state, comment=note)
    return step.settle()


MIGRATION_EVENT = "migrated"


def migrate(
    before: FlowDefinition,
    after: FlowDefinition,
    instance: Instance,
    mapping: Mapping[str, str],
    actor: str,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Move ``instance`` from version ``before`` to ``after``: each active state to
    its mapped (or same-named) state, one `migrate` history row per state, the old
    work closed and the new states' work opened."""
    step = Step(after, instance.evolve(version=after.version), actor, now, timezone)
    targets = []
    for state in instance.states:
        target = mapping.get(state, state)
        targets.append(target)
        step.record(MIGRATION_EVENT, state, target, comment=f"v{before.version} → v{after.version}")
        if before.states[state].waits_for_people:
            step.result.closed.append(state)
    step._set(states=tuple(targets))
    for target in targets:
        doc = after.states[target].doc
        if isinstance(doc, (schema.TaskState, schema.ApprovalState)):
            step.open_work(after.states[target], doc)
    return step.settle()

"""Comparing two versions of a flow: what a migration or a reviewer must know.

Pure functions over compiled definitions: added, removed and changed states,
events, fields and roles (``flowengine diff``), and the plan for moving one
instance from a version to another (``flowengine migrate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowengine.definition import FlowDefinition
from flowengine.values import value_problem


@dataclass(frozen=True)
class Change:
    """One difference: kind (state, event, field, role), what, and how."""

    kind: str
    name: str
    how: str  # added, removed, changed
    detail: str = ""


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def diff(old: FlowDefinition, new: FlowDefinition) -> list[Change]:
    """Every state, event, field and role added, removed or changed from ``old`` to ``new``."""
    changes: list[Change] = []

    def compare(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        for name in sorted(set(before) | set(after)):
            if name not in after:
                changes.append(Change(kind, name, "removed"))
            elif name not in before:
                changes.append(Change(kind, name, "added"))
            elif before[name] != after[name]:
                changed = sorted(
                    k
                    for k in set(before[name]) | set(after[name])
                    if before[name].get(k) != after[name].get(k)
                )
                changes.append(Change(kind, name, "changed", ", ".join(changed)))

    compare(
        "state",
        {n: _without_events(_dump(s.doc)) for n, s in old.states.items()},
        {n: _without_events(_dump(s.doc)) for n, s in new.states.items()},
    )
    compare("event", _events(old), _events(new))
    compare(
        "field",
        {n: _dump(f) for n, f in old.fields.items()},
        {n: _dump(f) for n, f in new.fields.items()},
    )
    compare(
        "role",
        {n: _dump(r) for n, r in old.doc.roles.items()},
        {n: _dump(r) for n, r in new.doc.roles.items()},
    )
    return changes


def _without_events(state: dict[str, Any]) -> dict[str, Any]:
    nested = {"on", "approve", "reject", "branches"}
    return {k: v for k, v in state.items() if k not in nested}


def _events(definition: FlowDefinition) -> dict[str, dict[str, Any]]:
    return {
        f"{state}.{event}": _dump(spec)
        for state in definition.states
        for event, spec in definition.events(state).items()
    }


@dataclass
class InstancePlan:
    """Where one instance would land in the new version, and what that means."""

    reference: str
    states_before: tuple[str, ...]
    states_after: tuple[str, ...] = ()
    stranded: list[str] = field(default_factory=list)
    invalid_fields: dict[str, str] = field(default_factory=dict)
    newly_required: list[str] = field(default_factory=list)
    work_closed: list[str] = field(default_factory=list)
    work_opened: list[str] = field(default_factory=list)

    @property
    def possible(self) -> bool:
        return not self.stranded


def plan_instance(
    reference: str,
    states: tuple[str, ...],
    data: Mapping[str, Any],
    old: FlowDefinition,
    new: FlowDefinition,
    mapping: Mapping[str, str],
) -> InstancePlan:
    """Map each active state by ``mapping`` or by its unchanged name; check the data."""
    plan = InstancePlan(reference, states)
    after: list[str] = []
    for state in states:
        target = mapping.get(state, state)
        if target not in new.states:
            plan.stranded.append(state)
            continue
        after.append(target)
        was_waiting = old.states[state].waits_for_people if state in old.states else False
        now_waiting = new.states[target].waits_for_people
        if was_waiting and (target != state or not now_waiting):
            plan.work_closed.append(state)
        if now_waiting and (target != state or not was_waiting):
            plan.work_opened.append(target)
    plan.states_after = tuple(after)
    for name, value in data.items():
        spec = new.fields.get(name)
        if spec is None:
            plan.invalid_fields[name] = "no such field in the new version"
            continue
        problem = value_problem(spec, value)
        if problem:
            plan.invalid_fields[name] = problem
    plan.newly_required = sorted(
        name
        for name, spec in new.fields.items()
        if spec.required
        and data.get(name) in (None, "")
        and not (name in old.fields and old.fields[name].required)
    )
    return plan

"""The commands of people and of time: start, fire, signal, a timer firing, a child
ending; and who may fire what (``authorize``, ``allowed_events``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowengine import clocks, policy, schema
from flowengine.definition import JOINED, FlowDefinition, field_defaults
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.errors import (
    GuardRefused,
    InvalidData,
    PermissionDenied,
    StateWaiting,
    TransitionNotAllowed,
)
from flowengine.expressions import ExpressionError
from flowengine.instance import Effect, Instance, Person, Timer, WorkItem
from flowengine.runtime.machine import CHILD_ENDED, SYSTEM_ACTOR, TIMER
from flowengine.runtime.step import Step, StepResult, check_values


def new_instance_data(
    definition: FlowDefinition, data: Mapping[str, Any], person: Person | None = None
) -> dict[str, Any]:
    """Defaults plus ``data``, checked for unknown fields, types and required fields.

    ``person`` starts it (None: the engine itself, for a subflow's child): their
    start must be allowed and may set only the fields :mod:`policy` gives them.
    """
    if person is not None:
        policy.check_start(definition, person, data)
    check_values(definition, data, "start")
    merged = {**field_defaults(definition.doc), **data}
    missing = {
        name: "is required"
        for name, spec in definition.fields.items()
        if spec.required and merged.get(name) in (None, "")
    }
    if missing:
        raise InvalidData(missing, f"start {definition.flow}")
    return merged


def start(
    definition: FlowDefinition,
    blank: Instance,
    actor: str,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Enter the start state of a new instance (``blank`` holds its data already)."""
    sla = definition.slas.get("")
    instance = blank.evolve(due_at=sla.add_to(now, timezone) if sla else None)
    clock = clocks.start(definition.doc, blank.data, now, timezone)
    if clock is not None:  # the law's deadline, not the flow's own sla
        instance = instance.evolve(clock=clock, due_at=clocks.deadline(clock))
    step = Step(definition, instance, actor, now, timezone)
    step.record(
        "start", None, definition.start, changes={k: [None, v] for k, v in blank.data.items()}
    )
    step.enter(definition.start)
    return step.settle()


def authorize(
    definition: FlowDefinition,
    instance: Instance,
    state: str,
    event: schema.EventDoc,
    person: Person,
    variables: dict[str, Any],
    assigned: WorkItem | None = None,
) -> str | None:
    """Raise :class:`PermissionDenied` unless ``person`` may fire ``event`` in ``state``.

    The open work item (``assigned``), when given, says who the work is for: it
    is written on entry and changed only by a reassignment. Returns the person
    acted for when only a delegated role allowed it, else None.
    """
    doc = definition.states[state].doc
    assert isinstance(  # noqa: S101
        doc,
        (schema.TaskState, schema.ApprovalState, schema.ParallelState, schema.SubflowState),
    )
    scope: str | None = None
    if isinstance(doc, (schema.ParallelState, schema.SubflowState)):
        roles = list(event.roles or ())  # validation requires them on a parallel's events
    elif assigned is not None:
        roles = event.roles or [assigned.role]
        scope = assigned.assignee
    else:
        roles = event.roles or [doc.role]
        if doc.assignee:
            value = definition.expression(doc.assignee).evaluate(variables)
            scope = None if value is None else str(value)
    grants = [g for g in (person.grant(role, scope) for role in roles) if g is not None]
    if not grants and scope is not None and person.id == scope:
        grants = [g for g in (person.grant(role) for role in roles) if g is not None]
    if grants:
        own = [g for g in grants if g.acting_for is None]
        return None if own else grants[0].acting_for
    needed = " or ".join(f"{r}:{scope}" if scope else r for r in roles)
    raise PermissionDenied(
        f"{instance.reference}: {person.id} may not fire '{state}' events: "
        f"it needs the role {needed}; "
        f"{person.id} holds {', '.join(str(g) for g in person.roles) or 'no roles'}"
    )


def allowed_events(
    definition: FlowDefinition,
    instance: Instance,
    person: Person,
    now: datetime,
    work: Mapping[str, WorkItem] | None = None,
) -> list[tuple[str, str]]:
    """(state, event) pairs ``person`` may fire now (ignoring data-dependent guards)."""
    if instance.status != "active":
        return []
    out = []
    for state in active_event_states(definition, instance):
        step = Step(definition, instance, person.id, now)
        if step.waiting_for(state) is not None:
            continue
        variables = step.variables()
        for eid, event in definition.events(state).items():
            try:
                authorize(
                    definition, instance, state, event, person, variables, (work or {}).get(state)
                )
            except PermissionDenied:
                continue
            out.append((state, eid))
    return out


def fire(
    definition: FlowDefinition,
    instance: Instance,
    event: str,
    person: Person,
    payload: Mapping[str, Any],
    comment: str | None,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
    state: str | None = None,
    work: Mapping[str, WorkItem] | None = None,
    rejections: Mapping[str, int] | None = None,
    children: Mapping[str, int] | None = None,
) -> StepResult:
    """Fire a human event on an active instance (``state`` picks one of several branches;
    ``work`` holds the instance's open work items by state)."""
    candidates = [
        s
        for s in active_event_states(definition, instance)
        if event in definition.events(s)
        and (state is None or s == state or s.endswith("." + state))
    ]
    if instance.status != "active" or not candidates:
        allowed = sorted(
            {e for s in active_event_states(definition, instance) for e in definition.events(s)}
        )
        raise TransitionNotAllowed(instance.reference, event, instance.state, allowed)
    state = candidates[0]
    spec = definition.events(state)[event]
    step = Step(definition, instance, person.id, now, timezone)
    waiting = step.waiting_for(state)
    if waiting is not None:
        raise StateWaiting(instance.reference, state, *waiting)
    step.acting_for = authorize(
        definition, instance, state, spec, person, step.variables(), (work or {}).get(state)
    )
    policy.check_event_payload(definition, state, event, payload, f"{instance.reference} {event}")
    check_values(definition, payload, f"{instance.reference} {event}")
    before = dict(instance.data)
    step._set(data={**instance.data, **payload})
    missing = {
        name: f"is required by '{event}'"
        for name in spec.requires
        if step.instance.data.get(name) in (None, "")
    }
    if missing:
        raise InvalidData(missing, instance.reference)
    needs_comment = spec.comment == "required" or (
        event == "reject" and definition.states[state].kind == "approval"
    )
    if needs_comment and not (comment and comment.strip()):
        raise InvalidData(
            {"comment": f"'{event}' needs a comment (the reason); give --comment"},
            instance.reference,
        )
    if spec.when:
        try:
            passed = definition.expression(spec.when).evaluate(step.variables()) is True
        except ExpressionError as exc:
            # e.g. a guard comparing a field the payload left empty
            raise GuardRefused(instance.reference, event, spec.when, str(exc)) from exc
        if not passed:
            raise GuardRefused(instance.reference, event, spec.when)
    updates = dict(spec.set_)
    variables = step.variables()
    for name, source in spec.compute.items():
        updates[name] = definition.expression(source).evaluate(variables)
    check_values(definition, updates, f"{instance.reference} {event}")
    step._set(data={**step.instance.data, **updates})
    after = step.instance.data
    changes = {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
    target = step.machine.move(state, event, step.variables())
    doc = definition.states[state].doc
    if event == "reject" and isinstance(doc, schema.ApprovalState) and doc.escalate:
        count = (rejections or {}).get(state, 0) + 1
        if count == doc.escalate.after_rejections:
            title = definition.states[state].title
            payload = {
                "roles": list(doc.escalate.notify),
                "message": f"{instance.reference}: '{title}' {count} kez reddedildi",
                "directorate": step.scope_of(definition.states[state]),
            }
            step.result.effects.append(Effect(instance.id, "notify", payload, state))
    basis = definition.doc.legal_basis
    if instance.clock and basis and step.instance.data.get(basis) != instance.clock["basis"]:
        raise InvalidData(
            {basis: "the legal basis is set when the request is received and cannot change"},
            instance.reference,
        )
    started = (children or {}).get(state)
    step.take_event(state, event, target, changes, comment, started)
    return step.settle()


def active_event_states(definition: FlowDefinition, instance: Instance) -> list[str]:
    """Active states, then the running parallels around them (their events cancel
    the region): every state whose events may be fired now."""
    out = list(instance.states)
    for name in instance.states:
        for parallel in definition.enclosing_parallels(name):
            joined = f"{parallel}.{JOINED}" in instance.states  # its region is over
            if parallel not in out and not joined:
                out.append(parallel)
    return out


def is_active(instance: Instance, name: str) -> bool:
    """True while ``name`` is active, or runs (a parallel with states inside)."""
    prefix = name + "."
    return name in instance.states or any(s.startswith(prefix) for s in instance.states)


def signal(
    definition: FlowDefinition,
    instance: Instance,
    name: str,
    person: Person,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Deliver signal ``name``: an active state waiting for it moves on at once;
    otherwise a persistent signal is kept for the first state that will, and a
    transient one is recorded as lost."""
    spec = definition.doc.signals.get(name)
    if spec is None:
        known = ", ".join(sorted(definition.doc.signals)) or "none"
        raise InvalidData(
            {"signal": f"flow '{definition.flow}' declares no signal '{name}' (declared: {known})"},
            instance.reference,
        )
    if not any(person.holds(role) for role in spec.roles):
        raise PermissionDenied(
            f"{instance.reference}: {person.id} may not send the signal '{name}': it needs "
            f"one of the roles {', '.join(spec.roles)}"
        )
    if instance.status != "active":
        raise TransitionNotAllowed(instance.reference, f"signal {name}", instance.status, [])
    step = Step(definition, instance, person.id, now, timezone)
    for state in active_event_states(definition, instance):
        if step.waiting_for(state) is not None:
            continue  # behind a mutex: it takes a kept signal when it resumes
        for eid, event in definition.events(state).items():
            if event.signal == name:
                step.record("signal", state, state, comment=name)
                step.move_on(state, eid)
                return step.settle()
    if spec.transient:
        step.record("signal", None, None, comment=f"{name}: bekleyen adım yok, düştü")
    else:
        step._set(signals=(*instance.signals, name))
        step.record("signal", None, None, comment=f"{name}: saklandı")
    return step.settle()


def child_ended(
    definition: FlowDefinition,
    parent: Instance,
    parent_state: str,
    child: dict[str, Any],
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
    ended: int = 1,
    total: int = 1,
) -> StepResult:
    """Resume a parent waiting in ``parent_state`` now that its child ended.

    For a `foreach` subflow, ``ended`` of its ``total`` children have ended:
    the parent moves on when all (or `join.count`) have, withdrawing the rest
    unless `join.remaining` is `finish`.
    """
    step = Step(definition, parent, SYSTEM_ACTOR, now, timezone, child=child)
    if parent.status != "active" or parent_state not in parent.states:
        return step.settle()
    doc = definition.states[parent_state].doc
    if isinstance(doc, schema.SubflowState) and doc.foreach is not None:
        needed = min(doc.join.count, total) if doc.join else total
        if ended < needed:
            step.record(
                "child_ended",
                parent_state,
                parent_state,
                changes={"child": [None, child]},
                comment=f"{ended}/{total}",
            )
            return step.settle()
        if ended < total and (doc.join is None or doc.join.remaining == "cancel"):
            step.result.cancel_children.append(parent_state)
    target = step.machine.move(parent_state, CHILD_ENDED, step.variables())
    step.leave(parent_state)
    step.record(
        "child_ended",
        parent_state,
        target,
        changes={"child": [None, child]},
    )
    step.enter(target)
    return step.settle()


def fire_timer(
    definition: FlowDefinition,
    instance: Instance,
    timer: Timer,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> StepResult:
    """Fire a due timer: notify its roles (the state stays) or move to its target."""
    state = definition.states[timer.state]
    doc = state.doc
    assert isinstance(doc, (schema.TaskState, schema.ApprovalState, schema.ParallelState))  # noqa: S101
    spec = doc.timers[timer.index]
    step = Step(definition, instance, SYSTEM_ACTOR, now, timezone)
    note = f"{timer.after} doldu"
    if spec.notify is not None:
        step.record("timer", timer.state, timer.state, comment=note)
        message = (
            f"{instance.reference}: '{state.title}' {timer.after} içinde tamamlanmadı "
            f"(akış: {definition.title})"
        )
        payload = {
            "roles": list(spec.notify),
            "message": message,
            "directorate": step.scope_of(state),
        }
        step.result.effects.append(Effect(instance.id, "notify", payload, state.name))
        return step.settle()
    target = step.machine.move(timer.state, TIMER.format(timer.index), step.variables())
    if isinstance(doc, schema.ParallelState):
        step.withdraw_region(timer.state, f"'{state.title}' {note}")
    else:
        step.leave(timer.state)
    step.record("timer", timer.state, target, comment=note)
    step.enter(target)
    return step.settle()

"""Who may do what, and what a command may write: each rule decided here, once.

The runtime calls these for every command, so the library, the CLI, the REST
API, the staff pages and Open311 get the same answer; a face may ask them
only to decide what to *show* (which inputs a form offers), never to decide
what to *accept*. Pure: imports the definition and the records, no storage.

- An event's payload may carry only the fields the event asks for: its
  ``requires`` and ``accepts``, and on a ``foreach`` subflow's add-items event
  the list it adds to. ``set``/``compute`` targets are written by the event
  itself. Any other field is refused by name, never written — a directorate
  answering a request could otherwise overwrite the citizen's name and phone,
  which it may not even see.
- A start may set the flow's intake fields: those its ``intake:`` lists, or
  by default every field that no event writes (so no step's answer, such as
  the final reply to the citizen, can be filled in at intake). A person whose
  only starter role is the flow's Open311 ``role`` may set only the fields the
  Open311 mapping fills, and the preset fields only to their preset values.
- Who may start a flow, reassign work, and withdraw or merge a case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowengine import schema
from flowengine.definition import FlowDefinition
from flowengine.errors import InvalidData, PermissionDenied
from flowengine.instance import Person, WorkItem

# The organisation role whose holders manage a directorate's work.
MANAGER_ROLE = "mudur"


def event_inputs(definition: FlowDefinition, state: str, event: str) -> tuple[str, ...]:
    """The fields a payload of ``event`` in ``state`` may carry, in the flow's order."""
    spec = definition.events(state)[event]
    names = {*spec.requires, *spec.accepts}
    state_def = definition.states[state]
    doc = state_def.doc
    if (
        isinstance(doc, schema.SubflowState)
        and doc.foreach is not None
        and state_def.target(spec.to) == state
    ):
        names.add(doc.foreach)  # the add-items event of a foreach adds to its list
    return tuple(n for n in definition.fields if n in names)


def check_event_payload(
    definition: FlowDefinition,
    state: str,
    event: str,
    payload: Mapping[str, Any],
    context: str,
) -> None:
    """Refuse, by name, every declared field ``payload`` gives that ``event`` does not ask for.

    Undeclared names are left to the type check, which says "no such field".
    """
    allowed = event_inputs(definition, state, event)
    extra = sorted(n for n in payload if n in definition.fields and n not in allowed)
    if extra:
        asked = ", ".join(allowed) or "no fields"
        problems = {
            n: f"'{event}' does not ask for this field (it asks for: {asked})" for n in extra
        }
        basis = definition.doc.legal_basis
        if basis in problems:
            problems[basis] = (
                "the legal basis is set when the request is received and cannot change"
            )
        raise InvalidData(problems, context)


def answer_fields(definition: FlowDefinition) -> frozenset[str]:
    """Fields some event writes: a step's answers, not the request's own data
    (derived once per flow version)."""
    return definition.written_by_events


@dataclass(frozen=True)
class StartRule:
    """What one person's start of a flow may set."""

    fields: tuple[str, ...]  # fields the start may give
    presets: Mapping[str, frozenset[Any]]  # field → the only values it may take


def intake_fields(definition: FlowDefinition) -> tuple[str, ...]:
    """The fields a start may set: the flow's ``intake:``, else every field no event writes."""
    if definition.doc.intake is not None:
        return tuple(definition.doc.intake)
    answers = answer_fields(definition)
    return tuple(n for n in definition.fields if n not in answers)


def may_start(definition: FlowDefinition, person: Person) -> bool:
    return any(person.holds(role) for role in definition.starters)


def start_rule(definition: FlowDefinition, person: Person) -> StartRule:
    """What ``person`` may set when starting ``definition`` (raise if they may not start)."""
    held = [role for role in definition.starters if person.holds(role)]
    if not held:
        raise PermissionDenied(
            f"{person.id} may not start '{definition.flow}': it needs one of the roles "
            f"{', '.join(definition.starters)}"
        )
    spec = definition.doc.open311
    if spec is None or spec.role is None or any(role != spec.role for role in held):
        return StartRule(intake_fields(definition), {})
    presets: dict[str, set[Any]] = {}
    for values in (spec.set_, *(s.set_ for s in spec.services.values())):
        for name, value in values.items():
            presets.setdefault(name, set()).add(value)
    mapped = set(spec.fields.values()) | set(presets)
    return StartRule(
        tuple(n for n in definition.fields if n in mapped),
        {n: frozenset(v) for n, v in presets.items()},
    )


def check_start(definition: FlowDefinition, person: Person, data: Mapping[str, Any]) -> None:
    """Raise :class:`PermissionDenied` if ``person`` may not start the flow, and
    :class:`InvalidData` naming every field their start may not set."""
    rule = start_rule(definition, person)
    problems: dict[str, str] = {}
    for name, value in data.items():
        if name not in definition.fields:
            continue  # the type check says "no such field"
        if name not in rule.fields:
            problems[name] = (
                "is not set when a request is started (a later step fills it in)"
                if name in answer_fields(definition)
                else f"{person.id} may not set it when starting '{definition.flow}'"
            )
        elif name in rule.presets and value not in rule.presets[name]:
            allowed = ", ".join(sorted(map(str, rule.presets[name])))
            problems[name] = f"is preset for {person.id}'s requests; it may only be {allowed}"
    if problems:
        raise InvalidData(problems, f"start {definition.flow}")


def may_manage(person: Person, definition: FlowDefinition, directorate: str | None) -> bool:
    """A manager of the work: ``mudur`` unscoped, of the directorate the work is
    assigned to, or of the directorate that owns the flow."""
    return any(
        g.role == MANAGER_ROLE and g.directorate in (None, directorate, definition.doc.directorate)
        for g in person.roles
    )


def check_reassign(
    person: Person, definition: FlowDefinition, reference: str, item: WorkItem
) -> None:
    if not may_manage(person, definition, item.assignee):
        raise PermissionDenied(
            f"{person.id} may not reassign {reference}: it needs the role {MANAGER_ROLE} for "
            f"{item.assignee or definition.doc.directorate}"
        )


def check_withdraw(person: Person, definition: FlowDefinition, reference: str, what: str) -> None:
    """A manager, or a role that may start the flow, may withdraw or merge a case."""
    allowed = (MANAGER_ROLE, *definition.starters)
    if not any(person.holds(role) for role in allowed):
        raise PermissionDenied(
            f"{person.id} may not {what} {reference}: it needs one of the roles "
            f"{', '.join(allowed)}"
        )

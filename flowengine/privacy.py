"""Who may see an instance, and which of its personal data (KVKK, Law 6698).

Pure policy over a definition and a person; the engine applies it. Personal
fields (``personal: true``) are shown only to holders of a role of the flow's
``privacy.personal_access`` (default: the starters), masked as ``***`` for
everyone else, and masked in every effect that leaves the building (e-mail,
webhook, publish) and in notices to roles not entitled to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flowengine import schema
from flowengine.definition import FlowDefinition
from flowengine.instance import Person

MASK = "***"


def flow_roles(definition: FlowDefinition) -> set[str]:
    """Every role that has a part in the flow (acts, starts, is notified or may see data)."""
    roles = set(definition.starters) | set(definition.personal_access)
    for state in definition.states.values():
        doc = state.doc
        if isinstance(doc, (schema.TaskState, schema.ApprovalState)):
            roles.add(doc.role)
            for timer in doc.timers:
                roles.update(timer.notify or [])
        for event in definition.events(state.name).values():
            roles.update(event.roles or [])
    return roles


def starter_only_roles(definition: FlowDefinition) -> set[str]:
    """Roles whose only part in the flow is starting it (e.g. a civic app's account)."""
    acting = set(definition.personal_access)
    for state in definition.states.values():
        if isinstance(state.doc, (schema.TaskState, schema.ApprovalState)):
            acting.add(state.doc.role)
            for timer in state.doc.timers:
                acting.update(timer.notify or [])
        for event in definition.events(state.name).values():
            acting.update(event.roles or [])
    return set(definition.starters) - acting


def viewing_roles(definition: FlowDefinition) -> set[str]:
    """Roles that see every instance of the flow (scoped grants: their directorate's)."""
    return flow_roles(definition) - starter_only_roles(definition)


def entitled(definition: FlowDefinition, person: Person | None) -> bool:
    """May ``person`` see the personal fields of this flow's instances?"""
    return person is not None and any(person.holds(role) for role in definition.personal_access)


def may_view(
    definition: FlowDefinition,
    person: Person,
    assignees: Iterable[str],
    started_by: str | None = None,
) -> bool:
    """A role of the flow held without scope sees every instance; a role scoped to a
    directorate sees only instances whose work was assigned to that directorate; a
    role that only starts the flow sees only the instances its holder started."""
    roles = viewing_roles(definition)
    directorates = set(assignees)
    if person.id in directorates:
        return True  # the work was reassigned to them by name
    if started_by == person.id and any(person.holds(r) for r in definition.starters):
        return True
    return any(
        grant.role in roles and (grant.directorate is None or grant.directorate in directorates)
        for grant in person.roles
    )


def mask(
    definition: FlowDefinition, data: Mapping[str, Any], show_personal: bool
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``data`` with personal values masked unless ``show_personal``; and the masked names."""
    if show_personal:
        return dict(data), ()
    hidden = tuple(sorted(n for n in definition.personal_fields if data.get(n) is not None))
    return {k: (MASK if k in hidden else v) for k, v in data.items()}, hidden


def effect_may_carry_personal(definition: FlowDefinition, kind: str, roles: Iterable[str]) -> bool:
    """Only an in-app notice to entitled roles may carry personal values."""
    return kind == "notify" and set(roles) <= set(definition.personal_access)

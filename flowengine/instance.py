"""Records of running work: instances, history entries, work items, effects, people.

Plain frozen dataclasses, the vocabulary shared by runtime, storage and engine.
An instance evolves into a new record per step (``evolve``), never in place.
Imports nothing from flowengine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["active", "completed", "cancelled", "merged"]


@dataclass(frozen=True)
class Instance:
    """One case: where it stands, its data, and the version it started on."""

    id: str
    reference: str
    flow: str
    version: int
    states: tuple[str, ...]
    status: Status
    data: dict[str, Any]
    row_version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    outcome: str | None = None
    due_at: datetime | None = None
    parent_id: str | None = None
    parent_state: str | None = None
    audit_salt: str | None = field(default=None, repr=False)
    history_head: str | None = field(default=None, repr=False)
    signals: tuple[str, ...] = ()  # persistent signals no task has consumed yet
    locks: dict[str, str] = field(default_factory=dict)  # mutex name -> holding state
    clock: dict[str, Any] | None = None  # the statutory clock (flowengine/clocks.py)
    merged_into: str | None = None  # the request this duplicate waits on (its id)

    def evolve(self, **changes: Any) -> Instance:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Every attribute by name (``states`` as a list), for storage and JSON output."""
        values = dataclasses.asdict(self)
        values["states"] = list(self.states)
        values["signals"] = list(self.signals)
        return values

    @property
    def state(self) -> str:
        """The active states as one string (``a | b`` while branches run)."""
        return " | ".join(self.states)


@dataclass(frozen=True)
class HistoryEntry:
    """One row of an instance's append-only history."""

    instance_id: str
    seq: int
    event: str
    from_state: str | None
    to_state: str | None
    actor: str
    at: datetime
    changes: dict[str, Any] = field(default_factory=dict)
    comment: str | None = None
    acting_for: str | None = None  # the person whose delegated role the actor used


@dataclass(frozen=True)
class WorkItem:
    """Open human work: a task or approval waiting for a role (and assignee)."""

    instance_id: str
    state: str
    role: str
    assignee: str | None
    opened_at: datetime
    due_at: datetime | None
    reference: str = ""
    flow: str = ""
    title: str = ""


@dataclass(frozen=True)
class Timer:
    """A durable timer of a waiting state: written on entry, closed on exit or firing."""

    instance_id: str
    state: str
    index: int
    after: str
    due_at: datetime
    id: int | None = None


@dataclass(frozen=True)
class Effect:
    """An outbound effect recorded with the step that caused it (the outbox)."""

    instance_id: str
    kind: str
    payload: dict[str, Any]
    state: str


@dataclass(frozen=True)
class OutboxItem:
    """A recorded effect and where its delivery stands."""

    id: int
    instance_id: str
    state: str
    kind: str
    payload: dict[str, Any]
    status: str  # pending, failed (will retry), delivered, dead
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    reference: str = ""

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and workers: connectors use it to drop duplicates."""
        return f"flowengine-{self.instance_id}-{self.id}"


@dataclass(frozen=True)
class Notification:
    """An in-app notice for the holders of a role (the `notify` effect)."""

    id: int
    instance_id: str
    reference: str
    role: str
    message: str
    created_at: datetime


@dataclass(frozen=True)
class RoleGrant:
    """A role a person holds, optionally scoped to one directorate."""

    role: str
    directorate: str | None = None
    acting_for: str | None = None  # set on a role held by delegation (vekalet)

    def __str__(self) -> str:
        text = f"{self.role}:{self.directorate}" if self.directorate else self.role
        return f"{text} ({self.acting_for} vekili)" if self.acting_for else text


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    roles: tuple[RoleGrant, ...] = ()

    def holds(self, role: str, directorate: str | None = None) -> bool:
        """True when the person has ``role`` (for ``directorate`` when one is required)."""
        return self.grant(role, directorate) is not None

    def grant(self, role: str, directorate: str | None = None) -> RoleGrant | None:
        """The grant giving ``role``: the person's own before one held by delegation."""
        matching = [
            g
            for g in self.roles
            if g.role == role and (directorate is None or g.directorate == directorate)
        ]
        return min(matching, key=lambda g: g.acting_for is not None, default=None)

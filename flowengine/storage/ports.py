"""The storage seam: what the engine and its services ask of a store, in domain words.

Small ports, one per concern, and :class:`UnitOfWork` bundling them: one
transaction, in which everything done commits together or not at all. Two
implementations honour them: ``sql.py`` (SQLite, PostgreSQL) and ``memory.py``
(Python dicts with the same constraints); ``tests/contract`` holds both to the
same behaviour. A store raises flowengine errors only: :class:`ConcurrentUpdate`
for a stale row version, :class:`DuplicateKey` for a unique key taken, and
:class:`StorageError` for everything else.

Imports only records (``instance``, ``audit``); never SQLAlchemy, never the engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from flowengine.audit import SealedEntry, StoredRow
from flowengine.instance import (
    HistoryEntry,
    Instance,
    Notification,
    OutboxItem,
    Person,
    RoleGrant,
    Timer,
    WorkItem,
)

# A generated case (demo data): the instance, its sealed history, and its work
# items each with when it closed (None: still open).
GeneratedCase = tuple[Instance, Sequence[SealedEntry], Sequence[tuple[WorkItem, Any]]]


@dataclass(frozen=True)
class StepWrites:
    """Everything one step writes, for :meth:`Instances.write_step`."""

    instance: Instance
    previous: Instance | None  # None: the instance is new
    history: Sequence[SealedEntry]
    closed: Sequence[str]  # states whose open work closes
    opened: Sequence[WorkItem]
    cancel_timers: Sequence[str] | None  # states whose pending timers end; None: all
    timers: Sequence[Timer]
    effects: Sequence[Any]
    now: datetime


class FlowCatalogue(Protocol):
    """Deployed flow versions: written once each, never changed."""

    def flow_version(self, flow: str, version: int) -> tuple[str, str] | None:
        """(content hash, source) of a deployed version."""
        ...

    def put_flow_version(
        self, flow: str, version: int, content_hash: str, source: str, now: datetime
    ) -> None: ...

    def flow_versions(self, flow: str) -> list[tuple[int, datetime]]:
        """(version, deployed at), oldest version first."""
        ...

    def latest_version(self, flow: str) -> int | None: ...

    def count_instances(self, flow: str, version: int) -> int: ...


class Instances(Protocol):
    """Instances, their reference numbers and their append-only history."""

    def next_sequence(self, flow: str, year: int) -> int: ...

    def reserve_sequence(self, flow: str, year: int, count: int) -> int: ...

    def insert_generated(self, cases: Sequence[GeneratedCase]) -> None: ...

    def write_step(self, writes: StepWrites) -> None:
        """The instance (version-checked), history, work, timers and effects of a step."""
        ...

    def insert_instance(self, instance: Instance) -> None: ...

    def load_instance(self, ref: str, *, lock: bool = False) -> Instance | None:
        """The instance by reference or id; ``lock`` holds it for the command."""
        ...

    def load_with_work(self, ref: str) -> tuple[Instance, dict[str, WorkItem]] | None: ...

    def update_instance(
        self, instance: Instance, expected_row_version: int, *, data_changed: bool = True
    ) -> None:
        """Write ``instance``; :class:`ConcurrentUpdate` if its row version moved."""
        ...

    def list_instances(
        self,
        *,
        flow: str | None = None,
        state: str | None = None,
        status: str | None = None,
        overdue_at: datetime | None = None,
        due_between: tuple[datetime, datetime] | None = None,
        limit: int = 200,
        offset: int = 0,
        flows: Sequence[str] | None = None,
    ) -> list[Instance]:
        """Newest first (then by id); ``state`` filters after limit and offset."""
        ...

    def merged_into(self, instance_id: str) -> list[Instance]: ...

    def open_of_flow(self, flow: str, since: datetime, until: datetime) -> list[Instance]: ...

    def children(self, parent_id: str) -> list[Instance]: ...

    def insert_history(self, sealed: Sequence[SealedEntry]) -> None: ...

    def audit_rows(self, instance_id: str) -> list[StoredRow | None]: ...

    def rewrite_history_values(
        self, instance_id: str, seq: int, changes: dict[str, Any]
    ) -> None: ...

    def scrub_texts(self, instance_id: str, secrets: Sequence[str]) -> None: ...

    def data_of_flow(
        self, flow: str
    ) -> Iterator[tuple[str, str, str, datetime, dict[str, Any]]]: ...

    def cases_started(
        self, flow: str, since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]: ...

    def first_events(
        self, flow: str, events: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, datetime]: ...

    def instance_ids(
        self, *, ended_before: datetime | None = None, flow: str | None = None
    ) -> list[str]: ...

    def started_by(self, instance_id: str) -> str | None: ...

    def history(self, instance_id: str) -> list[HistoryEntry]: ...

    def event_counts(self, instance_id: str, event: str) -> dict[str, int]: ...


class Work(Protocol):
    """Open human work: opened and closed with the steps, listed per person."""

    def open_work(self, items: Sequence[WorkItem]) -> None: ...

    def close_work(
        self, instance_id: str, states: Sequence[str], actor: str, now: datetime
    ) -> None: ...

    def open_items(self, instance_id: str) -> dict[str, WorkItem]: ...

    def reassign(self, instance_id: str, state: str, role: str, assignee: str | None) -> None: ...

    def assignees(self, instance_id: str) -> set[str]: ...

    def open_work_for(
        self, grants: Sequence[RoleGrant], person_id: str, limit: int = 500, offset: int = 0
    ) -> list[WorkItem]:
        """Soonest due first (no due date last), then by when opened."""
        ...


class Outbox(Protocol):
    """Effects recorded with their step, leased to one worker at a time."""

    def insert_effects(self, effects: Sequence[Any], now: datetime) -> None: ...

    def cancel_effects(self, instance_id: str, states: Sequence[str], now: datetime) -> None: ...

    def outbox(
        self, instance_id: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[OutboxItem]: ...

    def outbox_item(self, item_id: int) -> OutboxItem | None: ...

    def claim_outbox(
        self, now: datetime, worker: str, lease_until: datetime, limit: int
    ) -> list[OutboxItem]:
        """Lease deliverable effects, oldest first; an expired lease may be claimed again."""
        ...

    def finish_delivery(
        self,
        item_id: int,
        worker: str,
        *,
        status: str,
        attempts: int,
        now: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> bool:
        """Record an attempt if ``worker`` still holds the lease."""
        ...

    def retry_outbox(self, item_id: int, now: datetime) -> bool: ...


class Timers(Protocol):
    """Durable timers of waiting states, each fired once."""

    def schedule_timers(self, timers: Sequence[Timer], now: datetime) -> None: ...

    def cancel_timers(
        self, instance_id: str, states: Sequence[str] | None, now: datetime
    ) -> None: ...

    def claim_due_timer(self, now: datetime) -> Timer | None:
        """The pending timer due soonest at ``now``, held until the unit ends."""
        ...

    def close_timer(self, timer_id: int, status: str, now: datetime, worker: str) -> bool: ...

    def timers(
        self, *, status: str | None = None, due_at: datetime | None = None, limit: int = 500
    ) -> list[tuple[Timer, str, str]]: ...

    def database_now(self) -> datetime:
        """The store's clock ('now' for due-ness across machines)."""
        ...


class Notifications(Protocol):
    """In-app notices of ``notify`` effects, once per effect and role."""

    def add_notifications(self, item: OutboxItem, now: datetime) -> None: ...

    def notifications_for(
        self, grants: Sequence[RoleGrant], limit: int = 100, offset: int = 0
    ) -> list[Notification]:
        """Newest first."""
        ...


class Idempotency(Protocol):
    """Keys of repeat-safe commands: the first request's result, kept."""

    def idempotent_result(self, key: str) -> tuple[str, str, int] | None:
        """(request hash, instance id, row version) remembered for ``key``."""
        ...

    def remember_idempotent(
        self, key: str, request_hash: str, instance_id: str, row_version: int, now: datetime
    ) -> None:
        """Remember ``key``; :class:`DuplicateKey` if it is taken."""
        ...


class People(Protocol):
    """People, their role grants and the delegations (vekalet) between them."""

    def person(self, person_id: str, on: date | None = None) -> Person | None: ...

    def people(self) -> list[Person]: ...

    def save_person(self, person: Person, now: datetime) -> None: ...

    def add_delegation(
        self,
        from_person: str,
        to_person: str,
        grant: RoleGrant,
        starts_on: date,
        ends_on: date,
        reason: str,
        now: datetime,
    ) -> None: ...

    def delegations(self, on_or_after: date) -> list[dict[str, Any]]: ...


class Refusals(Protocol):
    """Audited refusals of commands a person was not allowed to give."""

    def record_refusal(
        self,
        instance_id: str | None,
        flow: str | None,
        actor: str,
        action: str,
        reason: str,
        now: datetime,
    ) -> None: ...

    def refusals(self, instance_id: str) -> list[dict[str, Any]]: ...


class Accounts(Protocol):
    """The web layer's secrets: password hashes, API tokens, throttled attempts, keys."""

    def password_hash(self, person_id: str) -> str | None: ...

    def password_set_at(self, person_id: str) -> datetime | None: ...

    def set_password_hash(self, person_id: str, hashed: str, now: datetime) -> None: ...

    def add_token(
        self, token_id: str, person_id: str, name: str, secret_hash: str, now: datetime
    ) -> None: ...

    def token(self, token_id: str) -> dict[str, Any] | None: ...

    def tokens(self, person_id: str | None) -> list[dict[str, Any]]: ...

    def revoke_token(self, token_id: str, now: datetime) -> bool: ...

    def count_attempts(self, keys: Sequence[str], since: datetime) -> int: ...

    def add_attempts(self, keys: Sequence[str], now: datetime) -> None: ...

    def clear_attempts(self, keys: Sequence[str], before: datetime | None = None) -> None: ...

    def secret(self, name: str, new_value: str) -> str:
        """The stored secret ``name``, storing ``new_value`` first if there is none."""
        ...


class UnitOfWork(
    FlowCatalogue,
    Instances,
    Work,
    Outbox,
    Timers,
    Notifications,
    Idempotency,
    People,
    Refusals,
    Accounts,
    Protocol,
):
    """One transaction over every port: all of it commits, or none of it."""


class Store(Protocol):
    """Opens units of work on one database and keeps its schema current."""

    @property
    def embedded(self) -> bool:
        """True when the store lives in this process or a local file (it upgrades itself)."""
        ...

    def unit(self, *, writes: bool = True) -> AbstractContextManager[UnitOfWork]:
        """One transaction: commit when the block ends, roll back on any error.

        ``writes=False`` is for queries: it sees committed data and takes no writer's lock.
        """
        ...

    def schema_revision(self) -> str | None: ...

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; (before, after)."""
        ...

    def dispose(self) -> None: ...

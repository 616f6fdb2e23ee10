"""The ``Engine`` facade: one method per command or query, over small parts.

What the CLI, the web layer, the worker and a Python program call. Each
command is one transaction of the store (all of it lands, or none of it); the
rules are the runtime's and :mod:`flowengine.policy`'s. The parts below never
call back up into the facade:

    Catalogue      flows of the folder, versions deployed, roles and directorates
    People         people, grants, delegations
    Transactions   one command = one transaction, idempotency, audited refusals
    StepWriter     persisting a step and its cascade (children, parents, duplicates)
    Commands       start, fire, reassign, signal, cancel, merge, unmerge, timers
    Queries        get, history, tasks, instances, view… masked for the viewer

    from flowengine import Engine
    engine = Engine.open("sqlite:///flowengine.db", "flows")
    case = engine.start("bizim_masa", {...}, actor="ayse")
    engine.fire(case.reference, "havale_et", actor="ayse", data={"mudurluk": "fen_isleri"})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from flowengine import runtime, schema
from flowengine.config import database_url, municipality_timezone
from flowengine.definition import FlowDefinition, compile_flow
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.engine.catalogue import Catalogue
from flowengine.engine.commands import Commands
from flowengine.engine.context import Context
from flowengine.engine.people import People
from flowengine.engine.persistence import StepWriter
from flowengine.engine.queries import InstanceView, Queries
from flowengine.engine.transactions import Transactions
from flowengine.errors import ConfigurationError
from flowengine.flowset import validate_paths
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
from flowengine.storage import open_store, ports
from flowengine.storage.ports import Store, UnitOfWork


class CaseRows(ports.FlowCatalogue, ports.Instances, ports.People, Protocol):
    """What the audit and KVKK operations read and rewrite."""


class CatalogueRows(ports.FlowCatalogue, ports.Instances, Protocol):
    """What deployment and migration read."""


class DeliveryRows(ports.Outbox, ports.Timers, Protocol):
    """What the worker's deliveries lease and finish (and the database's clock)."""


class Engine:
    """Start, fire and query instances of the flows in one folder, on one database."""

    def __init__(
        self,
        store: Store,
        definitions: Mapping[str, FlowDefinition],
        organization: schema.OrganizationDoc | None,
        clock: Callable[[], datetime] | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self._ctx = Context(store, organization, fixed_clock=clock is not None, timezone=timezone)
        if clock is not None:
            self._ctx.clock = clock
        self._catalogue = Catalogue(self._ctx, definitions)
        self._people = People(self._ctx, self._catalogue)
        self._transactions = Transactions(self._ctx)
        self._writer = StepWriter(self._ctx, self._catalogue)
        self._commands = Commands(
            self._ctx, self._catalogue, self._people, self._transactions, self._writer
        )
        self._queries = Queries(self._ctx, self._catalogue, self._people, self._transactions)

    # -- opening ----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        flows_dir: str | Path = "flows",
        *,
        upgrade: bool | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Engine:
        """Open the database (upgrading an embedded schema by itself) and load the flows."""
        resolved = database_url(url)
        timezone = municipality_timezone(DEFAULT_TIMEZONE)  # flowengine.toml's, if set
        flows_path = Path(flows_dir)
        if not flows_path.is_dir():
            raise ConfigurationError(
                f"flows folder '{flows_path}' does not exist; give --flows PATH"
            )
        report = validate_paths([flows_path])
        report.raise_for_errors()
        directorates = frozenset(report.organization.directorates if report.organization else ())
        definitions = {
            fid: compile_flow(
                parsed.doc, Path(parsed.loaded.path).read_text(encoding="utf-8"), directorates
            )
            for fid, parsed in report.flows.items()
        }
        store = open_store(resolved)
        if upgrade is None:
            upgrade = store.embedded
        if upgrade:
            store.upgrade()
        elif store.schema_revision() is None:
            raise ConfigurationError(
                "the database has no flowengine schema; run 'flowengine db upgrade' first"
            )
        return cls(store, definitions, report.organization, clock=clock, timezone=timezone)

    def close(self) -> None:
        self._ctx.store.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- what it runs on ----------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._ctx.store

    @property
    def current(self) -> dict[str, FlowDefinition]:
        """The flows of the folder, by id."""
        return self._catalogue.current

    @property
    def organization(self) -> schema.OrganizationDoc | None:
        return self._ctx.organization

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._ctx.clock

    @property
    def fixed_clock(self) -> bool:
        return self._ctx.fixed_clock

    @property
    def timezone(self) -> str:
        return self._ctx.timezone

    # Narrow ports for the services above the engine (accounts, trust, deployment,
    # the worker): each gets one transaction over just the rows it works on, so
    # it can reach nothing else and the store stays the engine's.

    def accounts_rows(self, *, writes: bool = True) -> AbstractContextManager[ports.Accounts]:
        """Passwords, tokens, throttled attempts and secrets (:mod:`flowengine.accounts`)."""
        return self._ctx.store.unit(writes=writes)

    def case_rows(self, *, writes: bool = False) -> AbstractContextManager[CaseRows]:
        """Instances, their history and people (audit checks, KVKK requests)."""
        return self._ctx.store.unit(writes=writes)

    def catalogue_rows(self, *, writes: bool = False) -> AbstractContextManager[CatalogueRows]:
        """Deployed versions and the instances on them (deployment, migration)."""
        return self._ctx.store.unit(writes=writes)

    def outbox_rows(self) -> AbstractContextManager[DeliveryRows]:
        """Leasing and finishing outbox deliveries (:class:`flowengine.worker.Worker`)."""
        return self._ctx.store.unit()

    def today(self) -> date:
        """Today in the municipality's time zone (delegations are by local day)."""
        return self._ctx.today()

    def due_clock(self, unit: ports.Timers) -> datetime:
        """'Now' for due-ness: the database's clock unless a clock was given."""
        return self._ctx.due_clock(unit)

    # -- definitions ------------------------------------------------------------

    def definition(
        self, flow: str, version: int | None = None, unit: ports.FlowCatalogue | None = None
    ) -> FlowDefinition:
        """The definition of ``flow`` at ``version`` (the current file when None)."""
        return self._catalogue.definition(flow, version, unit)

    def deploy(self, flows: Sequence[str] | None = None) -> list[tuple[str, int, bool]]:
        """Store the current version of each flow (all when None): (flow, version, new?).

        Running instances stay on the version they started on; new ones start on the
        newest deployed version. A changed file whose version is already deployed is
        refused: raise its ``version``.
        """
        return self._catalogue.deploy(flows)

    def newest(self, unit: UnitOfWork, flow: str) -> FlowDefinition:
        """The definition new instances of ``flow`` start on: the newest deployed or the file."""
        return self._catalogue.newest(unit, flow)

    def role_title(self, role: str) -> str:
        """The title of a role, from the organisation file or any flow."""
        return self._catalogue.role_title(role)

    # -- people -----------------------------------------------------------------

    def add_person(self, person_id: str, name: str, roles: Sequence[RoleGrant | str]) -> Person:
        """Create or replace a person with their roles (``role`` or ``role:directorate``)."""
        return self._people.add(person_id, name, roles)

    def people(self) -> list[Person]:
        return self._people.all()

    def person(self, person_id: str) -> Person:
        return self._people.get(person_id)

    def delegate(
        self,
        from_person: str,
        to_person: str,
        role: str,
        starts_on: date,
        ends_on: date,
        reason: str,
    ) -> None:
        """Give ``to_person`` ``from_person``'s ``role`` (vekalet) for those days, inclusive."""
        self._people.delegate(from_person, to_person, role, starts_on, ends_on, reason)

    def delegations(self) -> list[dict[str, Any]]:
        """Delegations in force today or later."""
        return self._people.delegations()

    # -- commands ---------------------------------------------------------------

    def start(
        self,
        flow: str,
        data: Mapping[str, Any],
        actor: str,
        idempotency_key: str | None = None,
        text_data: Mapping[str, str] | None = None,
    ) -> Instance:
        """Start an instance of ``flow``; returns it after its automatic steps.

        ``text_data`` holds values typed as text (a command line, a form); each is
        read by its field's type, so digits stay text in a text field. Only the
        flow's intake fields may be given (:mod:`flowengine.policy`).
        """
        return self._commands.start(flow, data, actor, idempotency_key, text_data)

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
        """Fire ``event`` on ``ref`` as ``actor``.

        ``state`` names the branch state when several active states have the event;
        ``text_data`` is read by field type as in :meth:`start`. Only the fields the
        event asks for may be given (:mod:`flowengine.policy`).
        """
        return self._commands.fire(
            ref, event, actor, data, comment, expected_version, idempotency_key, state, text_data
        )

    def reassign(
        self,
        ref: str,
        to: str,
        actor: str,
        state: str | None = None,
        reason: str | None = None,
    ) -> Instance:
        """Give open work of ``ref`` to a person or a ``ROLE[:DIRECTORATE]``.

        Only a manager may (:func:`flowengine.policy.may_manage`). Recorded in the history.
        """
        return self._commands.reassign(ref, to, actor, state, reason)

    def signal(
        self, ref: str, name: str, actor: str, idempotency_key: str | None = None
    ) -> Instance:
        """Send the signal ``name`` to ``ref`` as ``actor`` (see `signals:` of the flow)."""
        return self._commands.signal(ref, name, actor, idempotency_key)

    def cancel(self, ref: str, actor: str, reason: str) -> Instance:
        """Withdraw a whole instance (cancel case): every active state is cancelled.

        Allowed to a manager (``mudur``) and to holders of a role that may start
        the flow (the desk that took the request in). A reason is required.
        """
        return self._commands.cancel(ref, actor, reason)

    def merge(self, ref: str, into: str, actor: str, reason: str) -> Instance:
        """Merge the request ``ref`` into ``into`` as its duplicate: ``ref``'s work
        is withdrawn and it gets ``into``'s final reply; :meth:`unmerge` undoes it.
        Allowed to a manager and to the roles that may start the flow."""
        return self._commands.merge(ref, into, actor, reason)

    def unmerge(self, ref: str, actor: str, reason: str) -> Instance:
        """Take a merged duplicate back to the states it stood in (before its reply)."""
        return self._commands.unmerge(ref, actor, reason)

    def fire_due_timer(self, worker: str) -> bool:
        """Fire one due timer in its own transaction; False when none is due."""
        return self._commands.fire_due_timer(worker)

    def migrate_instance(
        self,
        instance_id: str,
        before: FlowDefinition,
        after: FlowDefinition,
        mapping: Mapping[str, str],
        actor: str,
    ) -> bool:
        """Move one instance across versions (one transaction); False if it moved already.

        :func:`flowengine.deployment.migrate` plans which instances and maps.
        """
        return self._commands.migrate(instance_id, before, after, mapping, actor)

    def retry_effect(self, item_id: int) -> OutboxItem:
        """Queue a dead or failed effect again."""
        return self._commands.retry_effect(item_id)

    def save_step(
        self,
        unit: UnitOfWork,
        result: runtime.StepResult,
        previous: Instance | None,
        definition: FlowDefinition,
    ) -> Instance:
        """Persist a step computed outside the engine's own commands (e.g. a migration)."""
        return self._writer.save(unit, result, previous, definition, same_version=False)

    def audit_refusal(self, ref: str, actor: str, action: str, reason: str) -> None:
        """Record a refused action on ``ref`` (after its own transaction rolled back)."""
        self._transactions.audit_refusal(ref, actor, action, reason)

    # -- queries ----------------------------------------------------------------

    def get(self, ref: str) -> Instance:
        return self._queries.get(ref)

    def history(self, ref: str, viewer: str | None = None) -> list[HistoryEntry]:
        """The timeline; for a ``viewer``, checked and with personal values masked.

        Without a viewer (trusted Python code embedding the engine) it is complete.
        """
        return self._queries.history(ref, viewer)

    def tasks(self, actor: str, limit: int = 500, offset: int = 0) -> list[WorkItem]:
        """The open work ``actor``'s roles entitle them to, soonest due first."""
        return self._queries.tasks(actor, limit, offset)

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
        return self._queries.instances(
            flow, state, overdue, status, limit, breaching_within, offset, flows
        )

    def allowed_events(self, ref: str, actor: str) -> list[str]:
        return self._queries.allowed_events(ref, actor)

    def view(self, ref: str, viewer: str) -> InstanceView:
        """The instance as ``viewer`` may see it (personal fields masked unless entitled)."""
        return self._queries.view(ref, viewer)

    def similar(self, ref: str, viewer: str) -> list[tuple[Instance, str]]:
        """Open requests that look like the same one as ``ref`` (its flow's
        ``duplicates:``), each with the reason; for a viewer entitled to personal data."""
        return self._queries.similar(ref, viewer)

    def acting_title(self, ref: str, entry: HistoryEntry) -> str | None:
        """For a step taken by delegation, the acting title: the state's role + " V."."""
        return self._queries.acting_title(ref, entry)

    def outbox(
        self, ref: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[OutboxItem]:
        """Recorded effects (of one instance, or all), oldest first."""
        return self._queries.outbox(ref, status, limit)

    def timers(
        self, due: bool = False, status: str | None = "pending"
    ) -> list[tuple[Timer, str, str]]:
        return self._queries.timers(due, status)

    def notifications(self, actor: str, limit: int = 100, offset: int = 0) -> list[Notification]:
        """In-app notices for the roles ``actor`` holds, newest first."""
        return self._queries.notifications(actor, limit, offset)

    def refusals(self, ref: str) -> list[dict[str, Any]]:
        return self._queries.refusals(ref)

"""The ``Engine`` facade: what the CLI, a web layer or a Python program calls.

Owns the transaction boundary. Each public command loads what it needs,
checks permission, runs the pure ``runtime`` step, and saves the instance,
history, work items, outbox effects and child instances in ONE transaction of
the store: all of it lands, or none of it. Imports ``runtime``, ``storage``,
``flowset``, ``definition``; never the CLI.

    from flowengine import Engine
    engine = Engine.open("sqlite:///flowengine.db", "flows")
    case = engine.start("bizim_masa", {...}, actor="ayse")
    engine.fire(case.reference, "havale_et", actor="ayse", data={"mudurluk": "fen_isleri"})
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import audit, duplicates, faults, policy, privacy, runtime, schema
from flowengine.config import database_url
from flowengine.definition import FlowDefinition, compile_flow
from flowengine.documents import parse_document
from flowengine.durations import DurationSyntaxError, parse_duration
from flowengine.errors import (
    ConcurrentUpdate,
    ConfigurationError,
    DefinitionError,
    DuplicateKey,
    IdempotencyConflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownFlow,
    UnknownInstance,
    UnknownPerson,
)
from flowengine.flowset import validate_paths
from flowengine.instance import (
    Effect,
    HistoryEntry,
    Instance,
    Notification,
    OutboxItem,
    Person,
    RoleGrant,
    Timer,
    WorkItem,
)
from flowengine.loader import load_text
from flowengine.privacy import MASK
from flowengine.storage import open_store
from flowengine.storage.ports import StepWrites, Store, UnitOfWork
from flowengine.values import values_from_text

MANAGER_ROLE = policy.MANAGER_ROLE
RECEIPT_STATE = "_receipt"  # the outbox `state` of a receipt sent on start


@dataclass(frozen=True)
class InstanceView:
    """An instance as one viewer may see it: personal fields masked if not entitled."""

    instance: Instance
    data: dict[str, Any]
    masked: tuple[str, ...]
    allowed_events: tuple[str, ...]
    title: str
    personal_visible: bool = False  # the viewer is entitled to the personal fields


class Engine:
    """Start, fire and query instances of the flows in one folder, on one database."""

    def __init__(
        self,
        store: Store,
        definitions: Mapping[str, FlowDefinition],
        organization: schema.OrganizationDoc | None,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "Europe/Istanbul",
    ) -> None:
        self.store = store
        self.current = dict(definitions)
        self.organization = organization
        # With no clock given, due timers are judged by the database's clock;
        # a given clock (tests, simulations) is trusted for that too.
        self.fixed_clock = clock is not None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timezone = timezone
        self._versions: dict[tuple[str, int], FlowDefinition] = {
            (d.flow, d.version): d for d in definitions.values()
        }
        # (flow, version) → content hash of versions read back from the database;
        # a deployed version is never changed or removed, so one read per process.
        self._deployed: dict[tuple[str, int], str] = {}

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
        """Open the database (upgrading an SQLite schema by itself) and load the flows."""
        resolved = database_url(url)
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
        return cls(store, definitions, report.organization, clock=clock)

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- definitions ------------------------------------------------------------

    def definition(
        self, flow: str, version: int | None = None, unit: UnitOfWork | None = None
    ) -> FlowDefinition:
        """The definition of ``flow`` at ``version`` (the current file when None)."""
        if version is None:
            if flow not in self.current:
                raise UnknownFlow(flow, self.current)
            return self.current[flow]
        cached = self._versions.get((flow, version))
        if cached is not None:
            return cached
        if unit is None:
            with self.store.unit(writes=False) as fresh:
                return self.definition(flow, version, fresh)
        stored = unit.flow_version(flow, version)
        if stored is None:
            raise UnknownFlow(f"{flow} v{version}", self.current)
        _, source = stored
        loaded = load_text(source, f"<{flow} v{version} in the database>")
        doc, issues = parse_document(schema.FlowDoc, loaded)
        if doc is None:
            raise DefinitionError(issues)
        directorates = frozenset(self.organization.directorates if self.organization else ())
        compiled = compile_flow(doc, source, directorates)
        self._versions[(flow, version)] = compiled
        return compiled

    def deploy(self, flows: Sequence[str] | None = None) -> list[tuple[str, int, bool]]:
        """Store the current version of each flow (all when None): (flow, version, new?).

        Running instances stay on the version they started on; new ones start on the
        newest deployed version. A changed file whose version is already deployed is
        refused: raise its ``version``.
        """
        chosen = sorted(flows) if flows is not None else sorted(self.current)
        done = []
        with self.store.unit() as unit:
            for flow in chosen:
                definition = self.definition(flow)
                done.append((flow, definition.version, self._deploy(unit, definition)))
        return done

    def _deploy(self, unit: UnitOfWork, definition: FlowDefinition) -> bool:
        """Store ``definition`` unless that version is there; True when it was stored."""
        key = (definition.flow, definition.version)
        known = self._deployed.get(key)
        stored = (known, "") if known is not None else unit.flow_version(*key)
        if stored is None:
            unit.put_flow_version(
                definition.flow,
                definition.version,
                definition.content_hash,
                definition.source,
                self.clock(),
            )
            return True
        self._deployed[key] = stored[0]
        if stored[0] != definition.content_hash:
            raise ConfigurationError(
                f"flows/{definition.flow}.yaml changed but its version is still "
                f"{definition.version}, which is already deployed; raise 'version' to "
                f"{definition.version + 1}"
            )
        return False

    def newest(self, unit: UnitOfWork, flow: str) -> FlowDefinition:
        """The definition new instances of ``flow`` start on: the newest deployed or the file."""
        current = self.definition(flow)
        latest = unit.latest_version(flow)
        if latest is not None and latest > current.version:
            return self.definition(flow, latest, unit)
        return current

    # -- people -----------------------------------------------------------------

    def add_person(self, person_id: str, name: str, roles: Sequence[RoleGrant | str]) -> Person:
        """Create or replace a person with their roles (``role`` or ``role:directorate``)."""
        grants = tuple(r if isinstance(r, RoleGrant) else parse_grant(r) for r in roles)
        self._check_grants(grants)
        person = Person(person_id, name, grants)
        with self.store.unit() as unit:
            unit.save_person(person, self.clock())
        return person

    def _check_grants(self, grants: Sequence[RoleGrant]) -> None:
        known_roles = set(self.organization.roles) if self.organization else set()
        for definition in self.current.values():
            known_roles |= set(definition.doc.roles)
        directorates = set(self.organization.directorates) if self.organization else set()
        for grant in grants:
            if grant.role not in known_roles:
                raise InvalidData(
                    {"role": f"'{grant.role}' is not declared in any flow or the organisation file"}
                )
            if grant.directorate and grant.directorate not in directorates:
                raise InvalidData(
                    {"role": f"'{grant.directorate}' is not a directorate of the organisation file"}
                )

    def people(self) -> list[Person]:
        with self.store.unit(writes=False) as unit:
            return unit.people()

    def person(self, person_id: str) -> Person:
        with self.store.unit(writes=False) as unit:
            return self._person(unit, person_id)

    def today(self) -> date:
        """Today in the municipality's time zone (delegations are by local day)."""
        return self.clock().astimezone(ZoneInfo(self.timezone)).date()

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
        grant = parse_grant(role)
        if ends_on < starts_on:
            raise InvalidData({"until": f"{ends_on} is before {starts_on}"})
        if not reason.strip():
            raise InvalidData({"reason": "give the reason for the delegation with --reason"})
        with self.store.unit() as unit:
            principal = self._person(unit, from_person)
            self._person(unit, to_person)
            if not principal.grant(grant.role, grant.directorate):
                raise InvalidData({"role": f"{from_person} does not hold {grant} to delegate it"})
            unit.add_delegation(
                from_person, to_person, grant, starts_on, ends_on, reason, self.clock()
            )

    def delegations(self) -> list[dict[str, Any]]:
        """Delegations in force today or later."""
        with self.store.unit(writes=False) as unit:
            return unit.delegations(self.today())

    def acting_title(self, ref: str, entry: HistoryEntry) -> str | None:
        """For a step taken by delegation, the acting title: the state's role + " V."."""
        if entry.acting_for is None or entry.from_state is None:
            return None
        instance = self.get(ref)
        definition = self.definition(instance.flow, instance.version)
        state = definition.states.get(entry.from_state)
        role = getattr(state.doc, "role", None) if state else None
        return f"{self.role_title(role)} V." if role else None

    def role_title(self, role: str) -> str:
        """The title of a role, from the organisation file or any flow."""
        if self.organization and role in self.organization.roles:
            return self.organization.roles[role].title
        for definition in self.current.values():
            if role in definition.doc.roles:
                return definition.doc.roles[role].title
        return role

    def _person(self, unit: UnitOfWork, person_id: str) -> Person:
        person = unit.person(person_id, self.today())
        if person is None:
            raise UnknownPerson(person_id)
        return person

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
        read by its field's type, so digits stay text in a text field.
        """
        fields = self.definition(flow).fields
        data = {**data, **values_from_text(fields, text_data or {})}

        def run(unit: UnitOfWork) -> Instance:
            definition = self.newest(unit, flow)
            person = self._person(unit, actor)
            try:
                merged = runtime.new_instance_data(definition, data, person)
            except PermissionDenied as exc:
                raise _refusal(exc, None, flow, actor, "start") from None
            self._deploy(unit, definition)
            return self._start_in(unit, definition, merged, actor)

        request = _request_hash("start", flow, dict(data), actor)
        return self._command(idempotency_key, request, run)

    def _command(
        self, key: str | None, request: str, run: Callable[[UnitOfWork], Instance]
    ) -> Instance:
        """Run one command in one transaction, with idempotency and refusal auditing.

        A repeated ``key`` returns the instance it produced; the same key with another
        request is an :class:`IdempotencyConflict`. Two racing commands with one key
        collide on its primary key; the loser returns the winner's result.
        """
        try:
            with self.store.unit() as unit:
                if key:
                    repeated = self._repeated(unit, key, request)
                    if repeated:
                        return repeated
                saved = run(unit)
                if key:
                    unit.remember_idempotent(
                        key, request, saved.id, saved.row_version, self.clock()
                    )
                answer = saved  # exactly what was written; no second round trip
            faults.point("after_commit")
            return answer
        except PermissionDenied as exc:
            self._record_refusal(exc)
            raise
        except DuplicateKey:
            if key:
                return self._after_race(key, request)
            raise

    def _start_in(
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
        now = self.clock()
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
        result = runtime.start(definition, blank, actor, now, self.timezone)
        return self._save(unit, self._with_receipt(result, definition), None, definition)

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
            instance, instance.data, definition, self.organization, with_status_code=True
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
        ``text_data`` is read by field type as in :meth:`start`.
        """
        payload = dict(data or {})
        texts = dict(text_data or {})

        def run(unit: UnitOfWork) -> Instance:
            person = self._person(unit, actor)
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
            definition = self.definition(instance.flow, instance.version, unit)
            payload.update(values_from_text(definition.fields, texts))
            try:
                result = runtime.fire(
                    definition,
                    instance,
                    event,
                    person,
                    payload,
                    comment,
                    self.clock(),
                    self.timezone,
                    state=state,
                    work=work,
                    children=self._foreach_children(unit, instance, definition),
                    rejections=(
                        unit.event_counts(instance.id, "reject")
                        if event == "reject" and definition.escalating_states
                        else None
                    ),
                )
            except PermissionDenied as exc:
                raise _refusal(exc, instance.id, instance.flow, actor, event) from None
            return self._save(unit, result, instance, definition)

        request = _request_hash("fire", ref, payload, texts, actor, event, comment, state)
        return self._command(idempotency_key, request, run)

    def reassign(
        self,
        ref: str,
        to: str,
        actor: str,
        state: str | None = None,
        reason: str | None = None,
    ) -> Instance:
        """Give open work of ``ref`` to a person or a ``ROLE[:DIRECTORATE]``.

        Only a manager may: a holder of the organisation role ``mudur``, unscoped or
        scoped to the directorate the work is assigned to. Recorded in the history.
        """

        def run(unit: UnitOfWork) -> Instance:
            manager = self._person(unit, actor)
            instance = unit.load_instance(ref, lock=True)
            if instance is None:
                raise UnknownInstance(ref)
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
            definition = self.definition(instance.flow, instance.version, unit)
            try:
                policy.check_reassign(manager, definition, instance.reference, item)
            except PermissionDenied as exc:
                raise _refusal(exc, instance.id, instance.flow, actor, "reassign") from None
            target = unit.person(to)
            assignee: str | None
            if target is not None:
                if not target.holds(item.role):
                    raise InvalidData({"to": f"{to} does not hold the role {item.role}"})
                role, assignee = item.role, to
            else:
                grant = parse_grant(to)
                self._check_grants([grant])
                role, assignee = grant.role, grant.directorate
            now = self.clock()
            result = runtime.reassign(
                definition, instance, item, role, assignee, to, actor, reason, now, self.timezone
            )
            return self._save(unit, result, instance, definition)

        return self._command(None, "", run)

    def signal(
        self, ref: str, name: str, actor: str, idempotency_key: str | None = None
    ) -> Instance:
        """Send the signal ``name`` to ``ref`` as ``actor`` (see `signals:` of the flow)."""

        def run(unit: UnitOfWork) -> Instance:
            person = self._person(unit, actor)
            instance, definition = self._locked(unit, ref)
            try:
                result = runtime.signal(
                    definition, instance, name, person, self.clock(), self.timezone
                )
            except PermissionDenied as exc:
                raise _refusal(exc, instance.id, instance.flow, actor, f"signal {name}") from None
            return self._save(unit, result, instance, definition)

        request = _request_hash("signal", ref, actor, name)
        return self._command(idempotency_key, request, run)

    def cancel(self, ref: str, actor: str, reason: str) -> Instance:
        """Withdraw a whole instance (cancel case): every active state is cancelled.

        Allowed to a manager (``mudur``) and to holders of a role that may start
        the flow (the desk that took the request in). A reason is required.
        """

        def act(
            unit: UnitOfWork, instance: Instance, definition: FlowDefinition, why: str
        ) -> Instance:
            if instance.status != "active":
                raise TransitionNotAllowed(instance.reference, "cancel", instance.status, [])
            result = runtime.cancel(definition, instance, actor, why, self.clock(), self.timezone)
            return self._save(unit, result, instance, definition)

        return self._managed(ref, actor, reason, "withdraw", act)

    def similar(self, ref: str, viewer: str) -> list[tuple[Instance, str]]:
        """Open requests that look like the same one as ``ref`` (its flow's
        ``duplicates:``), each with the reason; for a viewer entitled to personal
        data, since contacts are compared (a refusal is audited, as for `view`)."""
        try:
            return self._similar(ref, viewer)
        except PermissionDenied as exc:
            self._record_refusal(exc)
            raise

    def _similar(self, ref: str, viewer: str) -> list[tuple[Instance, str]]:
        with self.store.unit(writes=False) as unit:
            person = self._person(unit, viewer)
            instance = unit.load_instance(ref)
            if instance is None:
                raise UnknownInstance(ref)
            definition = self.definition(instance.flow, instance.version, unit)
            spec = definition.doc.duplicates
            if spec is None:
                return []
            if not privacy.entitled(definition, person):
                roles = ", ".join(definition.personal_access) or "none"
                raise _refusal(
                    PermissionDenied(
                        f"{viewer} may not compare the contacts of {instance.reference}: "
                        f"it needs one of the roles {roles}"
                    ),
                    instance.id,
                    instance.flow,
                    viewer,
                    "similar",
                )
            created = instance.created_at
            span = parse_duration(spec.within).add_to(created) - created
            found = []
            for other in unit.open_of_flow(instance.flow, created - span, created + span):
                if other.id == instance.id:
                    continue
                why = duplicates.reason(spec, instance.data, other.data)
                if why:
                    found.append((other, why))
        return sorted(found, key=lambda pair: pair[0].created_at)

    def merge(self, ref: str, into: str, actor: str, reason: str) -> Instance:
        """Merge the request ``ref`` into ``into`` as its duplicate: ``ref``'s work
        is withdrawn and it gets ``into``'s final reply; :meth:`unmerge` undoes it.
        Allowed to a manager and to the roles that may start the flow."""

        def act(
            unit: UnitOfWork, duplicate: Instance, definition: FlowDefinition, why: str
        ) -> Instance:
            primary, _ = self._locked(unit, into)
            result = runtime.merge(
                definition, duplicate, primary, actor, why, self.clock(), self.timezone
            )
            return self._save(unit, result, duplicate, definition)

        return self._managed(ref, actor, reason, "merge", act)

    def unmerge(self, ref: str, actor: str, reason: str) -> Instance:
        """Take a merged duplicate back to the states it stood in (before its reply)."""

        def act(
            unit: UnitOfWork, duplicate: Instance, definition: FlowDefinition, why: str
        ) -> Instance:
            return self._unmerge_in(unit, duplicate, definition, actor, why)

        return self._managed(ref, actor, reason, "unmerge", act)

    def _managed(
        self,
        ref: str,
        actor: str,
        reason: str,
        what: str,
        act: Callable[[UnitOfWork, Instance, FlowDefinition, str], Instance],
    ) -> Instance:
        """One command a manager or the desk takes on a case, with its reason:
        the case locked, the actor checked (refusals audited), then ``act``."""
        if not reason.strip():
            raise InvalidData({"reason": f"to {what} a case needs a reason; give --reason"})

        def run(unit: UnitOfWork) -> Instance:
            person = self._person(unit, actor)
            instance, definition = self._locked(unit, ref)
            try:
                policy.check_withdraw(person, definition, instance.reference, what)
            except PermissionDenied as exc:
                raise _refusal(exc, instance.id, instance.flow, actor, what) from None
            return act(unit, instance, definition, reason.strip())

        return self._command(None, "", run)

    def _unmerge_in(
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
            self.clock(),
            self.timezone,
        )
        return self._save(unit, result, duplicate, definition)

    def _locked(self, unit: UnitOfWork, ref: str) -> tuple[Instance, FlowDefinition]:
        """The instance ``ref``, locked for this command, and its flow version."""
        instance = unit.load_instance(ref, lock=True)
        if instance is None:
            raise UnknownInstance(ref)
        return instance, self.definition(instance.flow, instance.version, unit)

    def save_step(
        self,
        unit: UnitOfWork,
        result: runtime.StepResult,
        previous: Instance | None,
        definition: FlowDefinition,
    ) -> Instance:
        """Persist a step computed outside the engine's own commands (e.g. a migration)."""
        return self._save(unit, result, previous, definition, same_version=False)

    def _save(
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
        now = self.clock()
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
            child_def = self.newest(unit, spawn.flow)
            self._deploy(unit, child_def)
            self._start_in(
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

    def _settle_duplicates(
        self, unit: UnitOfWork, original: Instance, replied: Mapping[str, Any] | None, now: datetime
    ) -> None:
        """Requests merged into ``original`` get its final reply (and pass it on to
        their own duplicates); if it ended without one, they go back to work."""
        for duplicate in unit.merged_into(original.id):
            dup_definition = self.definition(duplicate.flow, duplicate.version, unit)
            if replied is not None:
                answered = runtime.answer_merged(
                    dup_definition, duplicate, original, replied, now, self.timezone
                )
                self._save(unit, answered, duplicate, dup_definition)
            else:
                note = f"{original.reference} cevapsız kapandı"
                self._unmerge_in(unit, duplicate, dup_definition, runtime.SYSTEM_ACTOR, note)

    def _cancel_children(self, unit: UnitOfWork, parent: Instance, states: Sequence[str]) -> None:
        """Cancel the running children of withdrawn subflow states (and theirs); with
        ``runtime.ALL_CHILDREN``, every child a waiting subflow started (the parent
        ended), never one handed off (`wait: false`)."""
        every = runtime.ALL_CHILDREN in states
        parent_definition = self.definition(parent.flow, parent.version, unit)
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
            definition = self.definition(child.flow, child.version, unit)
            reason = f"{parent.reference} içinde geri çekildi"
            result = runtime.cancel(
                definition, child, runtime.SYSTEM_ACTOR, reason, self.clock(), self.timezone
            )
            self._save(unit, result, child, definition)

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

    def _foreach_children(
        self, unit: UnitOfWork, parent: Instance, definition: FlowDefinition
    ) -> dict[str, int]:
        """How many children each active `foreach` subflow of ``parent`` has started."""
        counts = {}
        for state in parent.states:
            doc = definition.states[state].doc
            if isinstance(doc, schema.SubflowState) and doc.foreach is not None:
                counts[state] = len(self._round_children(unit, parent, state))
        return counts

    def _resume_parent(self, unit: UnitOfWork, child: Instance) -> None:
        parent = unit.load_instance(child.parent_id or "", lock=True)
        if parent is None or child.parent_state not in parent.states:
            return  # a hand-off (wait: false) parent has moved on already
        definition = self.definition(parent.flow, parent.version, unit)
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
            self.clock(),
            self.timezone,
            ended=ended,
            total=total,
        )
        self._save(unit, result, parent, definition)

    def audit_refusal(self, ref: str, actor: str, action: str, reason: str) -> None:
        """Record a refused action on ``ref`` (after its own transaction rolled back)."""
        with self.store.unit() as unit:
            instance = unit.load_instance(ref)
            unit.record_refusal(
                instance.id if instance else None,
                instance.flow if instance else None,
                actor,
                action,
                reason,
                self.clock(),
            )

    def _record_refusal(self, exc: PermissionDenied) -> None:
        """Audit a refusal in its own transaction, after the command's own rolled back."""
        audit: tuple[str | None, str | None, str, str] | None = getattr(exc, "audit", None)
        if audit is None:
            return
        instance_id, flow, actor, action = audit
        with self.store.unit() as unit:
            unit.record_refusal(instance_id, flow, actor, action, str(exc), self.clock())

    def _repeated(self, unit: UnitOfWork, key: str, request: str) -> Instance | None:
        seen = unit.idempotent_result(key)
        if seen is None:
            return None
        request_hash, instance_id, _ = seen
        if request_hash != request:
            raise IdempotencyConflict(key)
        return self._reload(unit, instance_id)

    def _after_race(self, key: str, request: str) -> Instance:
        with self.store.unit(writes=False) as unit:
            repeated = self._repeated(unit, key, request)
        if repeated is None:
            raise IdempotencyConflict(key)
        return repeated

    @staticmethod
    def _reload(unit: UnitOfWork, instance_id: str) -> Instance:
        instance = unit.load_instance(instance_id)
        if instance is None:
            raise UnknownInstance(instance_id)
        return instance

    # -- queries ----------------------------------------------------------------

    def get(self, ref: str) -> Instance:
        with self.store.unit(writes=False) as unit:
            instance = unit.load_instance(ref)
        if instance is None:
            raise UnknownInstance(ref)
        return instance

    def history(self, ref: str, viewer: str | None = None) -> list[HistoryEntry]:
        """The timeline; for a ``viewer``, checked and with personal values masked.

        Without a viewer (trusted Python code embedding the engine) it is complete.
        """
        if viewer is None:
            with self.store.unit(writes=False) as unit:
                instance = unit.load_instance(ref)
                if instance is None:
                    raise UnknownInstance(ref)
                return unit.history(instance.id)
        try:
            with self.store.unit(writes=False) as unit:
                instance, definition, person = self._viewable(unit, ref, viewer)
                entries = unit.history(instance.id)
        except PermissionDenied as exc:
            self._record_refusal(exc)
            raise
        if privacy.entitled(definition, person):
            return entries
        hidden = definition.personal_fields
        return [
            dataclasses.replace(
                e,
                changes={k: ([MASK, MASK] if k in hidden else v) for k, v in e.changes.items()},
            )
            for e in entries
        ]

    def tasks(self, actor: str, limit: int = 500, offset: int = 0) -> list[WorkItem]:
        """The open work ``actor``'s roles entitle them to, soonest due first."""
        with self.store.unit(writes=False) as unit:
            person = self._person(unit, actor)
            return unit.open_work_for(person.roles, person.id, limit, offset)

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
        if flow is not None and flow not in self.current:
            raise UnknownFlow(flow, self.current)
        now = self.clock()
        due_before = None
        if breaching_within is not None:
            try:
                due_before = parse_duration(breaching_within).add_to(now, self.timezone)
            except DurationSyntaxError as exc:
                raise InvalidData({"breaching_within": str(exc)}) from None
        with self.store.unit(writes=False) as unit:
            return unit.list_instances(
                flow=flow,
                state=state,
                status=status,
                overdue_at=now if overdue else None,
                due_between=(now, due_before) if due_before else None,
                limit=limit,
                offset=offset,
                flows=flows,
            )

    def allowed_events(self, ref: str, actor: str) -> list[str]:
        with self.store.unit(writes=False) as unit:
            person = self._person(unit, actor)
            instance = unit.load_instance(ref)
            if instance is None:
                raise UnknownInstance(ref)
            definition = self.definition(instance.flow, instance.version, unit)
            work = unit.open_items(instance.id)
        pairs = runtime.allowed_events(definition, instance, person, self.clock(), work)
        return list(dict.fromkeys(e for _, e in pairs))

    def _viewable(
        self, unit: UnitOfWork, ref: str, viewer: str
    ) -> tuple[Instance, FlowDefinition, Person]:
        """Load ``ref`` for ``viewer`` or raise PermissionDenied (audited)."""
        instance = unit.load_instance(ref)
        if instance is None:
            raise UnknownInstance(ref)
        person = self._person(unit, viewer)
        definition = self.definition(instance.flow, instance.version, unit)
        starter = (
            unit.started_by(instance.id)
            if privacy.starter_only_roles(definition) & {g.role for g in person.roles}
            else None
        )
        if not privacy.may_view(definition, person, unit.assignees(instance.id), starter):
            raise _refusal(
                PermissionDenied(
                    f"{viewer} may not see {instance.reference}: none of their roles "
                    f"({', '.join(str(g) for g in person.roles) or 'none'}) has a part in it"
                ),
                instance.id,
                instance.flow,
                viewer,
                "view",
            )
        return instance, definition, person

    def view(self, ref: str, viewer: str) -> InstanceView:
        """The instance as ``viewer`` may see it (personal fields masked unless entitled)."""
        try:
            with self.store.unit(writes=False) as unit:
                instance, definition, person = self._viewable(unit, ref, viewer)
                work = unit.open_items(instance.id)
        except PermissionDenied as exc:
            self._record_refusal(exc)
            raise
        show = privacy.entitled(definition, person)
        data, masked = privacy.mask(definition, instance.data, show)
        pairs = runtime.allowed_events(definition, instance, person, self.clock(), work)
        events = tuple(dict.fromkeys(e for _, e in pairs))
        return InstanceView(instance, data, masked, events, definition.title, show)

    def outbox(
        self, ref: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[OutboxItem]:
        """Recorded effects (of one instance, or all), oldest first."""
        with self.store.unit(writes=False) as unit:
            instance_id = None
            if ref is not None:
                instance = unit.load_instance(ref)
                if instance is None:
                    raise UnknownInstance(ref)
                instance_id = instance.id
            return unit.outbox(instance_id, status, limit)

    def retry_effect(self, item_id: int) -> OutboxItem:
        """Queue a dead or failed effect again."""
        with self.store.unit() as unit:
            item = unit.outbox_item(item_id)
            if item is None:
                raise NotFound(f"no outbox item {item_id}; list them with 'flowengine outbox'")
            if not unit.retry_outbox(item_id, self.clock()):
                raise InvalidData(
                    {"status": f"item {item_id} is {item.status}; only dead or failed items retry"}
                )
            return unit.outbox_item(item_id) or item

    # -- time ---------------------------------------------------------------------

    def due_clock(self, unit: UnitOfWork) -> datetime:
        """'Now' for due-ness: the database's clock unless a clock was given."""
        return self.clock() if self.fixed_clock else unit.database_now()

    def fire_due_timer(self, worker: str) -> bool:
        """Fire one due timer in its own transaction; False when none is due.

        The timer row and its instance are locked together, so each timer fires
        exactly once however many workers run; a worker killed mid-way rolls back.
        """
        with self.store.unit() as unit:
            now = self.due_clock(unit)
            timer = unit.claim_due_timer(now)
            if timer is None or timer.id is None:
                return False
            instance = unit.load_instance(timer.instance_id, lock=True)
            if instance is None or not runtime.is_active(instance, timer.state):
                unit.close_timer(timer.id, "cancelled", now, worker)
                return True
            definition = self.definition(instance.flow, instance.version, unit)
            result = runtime.fire_timer(definition, instance, timer, now, self.timezone)
            unit.close_timer(timer.id, "fired", now, worker)
            self._save(unit, result, instance, definition)
        return True

    def timers(
        self, due: bool = False, status: str | None = "pending"
    ) -> list[tuple[Timer, str, str]]:
        with self.store.unit(writes=False) as unit:
            return unit.timers(status=status, due_at=self.due_clock(unit) if due else None)

    def notifications(self, actor: str, limit: int = 100, offset: int = 0) -> list[Notification]:
        """In-app notices for the roles ``actor`` holds, newest first."""
        with self.store.unit(writes=False) as unit:
            person = self._person(unit, actor)
            return unit.notifications_for(person.roles, limit, offset)

    def refusals(self, ref: str) -> list[dict[str, Any]]:
        with self.store.unit(writes=False) as unit:
            instance = unit.load_instance(ref)
            if instance is None:
                raise UnknownInstance(ref)
            return unit.refusals(instance.id)


def _refusal(
    exc: PermissionDenied, instance_id: str | None, flow: str | None, actor: str, action: str
) -> PermissionDenied:
    """Attach what the audit record needs to a refusal on its way out."""
    exc.audit = (instance_id, flow, actor, action)  # type: ignore[attr-defined]
    return exc


def parse_grant(text: str) -> RoleGrant:
    """``role`` or ``role:directorate`` → :class:`RoleGrant` (ids match exactly)."""
    role, _, directorate = text.partition(":")
    if not role:
        raise InvalidData({"role": f"'{text}' is not ROLE or ROLE:DIRECTORATE"})
    return RoleGrant(role, directorate or None)


def _request_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

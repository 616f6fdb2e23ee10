"""Executing one command on one instance: pure, no I/O.

Given a compiled definition, an instance record, an event, its payload, the
actor and the time, compute the new record plus everything the step causes:
history entries, work items opened and closed, effects for the outbox and
child instances to start. Automatic states (decision, action, parallel fork
and join, subflow hand-off, end) are chained here, so a command never leaves
an instance in a state that needs no human.

This is the only module that imports ``transitions``: one ``Machine`` per flow
version holds every qualified state and every transition (events, automatic
moves, joins), built once and cached. A command attaches a fresh carrier,
fires, and detaches it (attaching every instance would be quadratic).
Conditions given to ``transitions`` are Python callables of this module; no
callback is ever named by a string from YAML.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from transitions import Machine, MachineError

from flowengine import clocks, policy, privacy, schema
from flowengine.definition import JOINED, SKIPPED, FlowDefinition, StateDef, field_defaults
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.errors import (
    GuardRefused,
    InvalidData,
    PermissionDenied,
    StateWaiting,
    TransitionNotAllowed,
    did_you_mean,
)
from flowengine.expressions import Expression, ExpressionError
from flowengine.instance import Effect, HistoryEntry, Instance, Person, Timer, WorkItem
from flowengine.values import value_problem

ALL_CHILDREN = "*"  # in StepResult.cancel_children: every child a waiting subflow started
AUTO = "_auto"  # decisions, actions, hand-off subflows
TIMER = "_timer_{}"  # an interrupting timer, by its index in the state's `timers`
JOIN = "_join"  # a parallel whose branches all ended
CHILD_ENDED = "_child_ended"  # a waiting subflow whose child ended
SYSTEM_ACTOR = "system"


@dataclass
class _Carrier:
    """The object ``transitions`` moves: a fresh one per move."""

    state: str
    variables: dict[str, Any]


class CompiledMachine:
    """The ``transitions`` machine of one flow version."""

    def __init__(self, definition: FlowDefinition) -> None:
        self.definition = definition
        transitions: list[dict[str, Any]] = []
        for name, state in definition.states.items():
            doc = state.doc
            for eid, event in definition.events(name).items():
                transitions.append({"trigger": eid, "source": name, "dest": state.target(event.to)})
            if isinstance(doc, schema.DecisionState):
                for choice in doc.choices:
                    transitions.append(
                        {
                            "trigger": AUTO,
                            "source": name,
                            "dest": state.target(choice.to),
                            "conditions": [self._condition(definition.expression(choice.when))],
                        }
                    )
                transitions.append(
                    {"trigger": AUTO, "source": name, "dest": state.target(doc.otherwise)}
                )
            elif isinstance(doc, schema.ActionState):
                transitions.append(
                    {"trigger": AUTO, "source": name, "dest": state.target(doc.next)}
                )
            elif isinstance(doc, schema.SubflowState):
                trigger = CHILD_ENDED if doc.wait else AUTO
                transitions.append(
                    {"trigger": trigger, "source": name, "dest": state.target(doc.next)}
                )
            elif isinstance(doc, schema.ParallelState):
                transitions.append(
                    {"trigger": JOIN, "source": name, "dest": state.target(doc.next)}
                )
            if isinstance(doc, (schema.TaskState, schema.ApprovalState, schema.ParallelState)):
                for index, timer in enumerate(doc.timers):
                    if timer.to:
                        transitions.append(
                            {
                                "trigger": TIMER.format(index),
                                "source": name,
                                "dest": state.target(timer.to),
                            }
                        )
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=transitions,
            initial=None,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    @staticmethod
    def _condition(expression: Expression) -> Callable[[Any], bool]:
        def condition(event_data: Any) -> bool:
            return expression.evaluate(event_data.model.variables) is True

        return condition

    def move(self, state: str, trigger: str, variables: dict[str, Any]) -> str:
        """Fire ``trigger`` from ``state``; return the destination."""
        carrier = _Carrier(state=state, variables=variables)
        self.machine.add_model(carrier, initial=state)
        try:
            moved = getattr(carrier, trigger)()
        except (MachineError, AttributeError) as exc:
            raise _NoTransition(state, trigger) from exc
        finally:
            self.machine.remove_model(carrier)
        if not moved:
            raise _NoTransition(state, trigger)
        return carrier.state


class _NoTransition(Exception):
    def __init__(self, state: str, trigger: str) -> None:
        super().__init__(f"no transition '{trigger}' from '{state}'")
        self.state, self.trigger = state, trigger


_machines: dict[tuple[str, int, str], CompiledMachine] = {}


def machine_for(definition: FlowDefinition) -> CompiledMachine:
    """The cached machine of a flow version (built on first use)."""
    key = (definition.flow, definition.version, definition.content_hash)
    machine = _machines.get(key)
    if machine is None:
        machine = _machines[key] = CompiledMachine(definition)
    return machine


@dataclass(frozen=True)
class SpawnRequest:
    """A child instance the engine must start in the same transaction."""

    parent_state: str
    flow: str
    data: dict[str, Any]
    wait: bool


@dataclass
class _Draft:
    """What a step has changed so far (mutable while the :class:`Step` runs)."""

    instance: Instance
    history: list[HistoryEntry] = field(default_factory=list)
    opened: list[WorkItem] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    spawns: list[SpawnRequest] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    cancel_children: list[str] = field(default_factory=list)
    reassigned: list[WorkItem] = field(default_factory=list)
    replied: dict[str, Any] | None = None


@dataclass(frozen=True)
class StepResult:
    """Everything one command changes; the engine persists exactly this."""

    instance: Instance
    history: tuple[HistoryEntry, ...] = ()
    opened: tuple[WorkItem, ...] = ()
    closed: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()
    spawns: tuple[SpawnRequest, ...] = ()
    timers: tuple[Timer, ...] = ()
    # states withdrawn by a cancel: their undelivered effects are dropped
    withdrawn: tuple[str, ...] = ()
    # waiting subflow states withdrawn: their running children are cancelled
    cancel_children: tuple[str, ...] = ()
    # open work given to another role or person (same state, same deadline)
    reassigned: tuple[WorkItem, ...] = ()
    # the fields of a final reply given in this step (duplicates merged into the
    # instance get the same answer)
    replied: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, draft: _Draft) -> StepResult:
        return cls(
            instance=draft.instance,
            history=tuple(draft.history),
            opened=tuple(draft.opened),
            closed=tuple(draft.closed),
            effects=tuple(draft.effects),
            spawns=tuple(draft.spawns),
            timers=tuple(draft.timers),
            withdrawn=tuple(draft.withdrawn),
            cancel_children=tuple(draft.cancel_children),
            reassigned=tuple(draft.reassigned),
            replied=None if draft.replied is None else dict(draft.replied),
        )


def _render(template: str, data: Mapping[str, Any]) -> str:
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            value = data.get(name)
            out.append("" if value is None else str(value))
    return "".join(out)


def render_effect(effect: schema.EffectDoc, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The outbox payload of an effect, templates filled from ``data``."""
    if effect.notify:
        return "notify", {
            "roles": list(effect.notify.roles),
            "message": _render(effect.notify.message, data),
        }
    if effect.email:
        return "email", {
            "to": [_render(t, data) for t in effect.email.to],
            "subject": _render(effect.email.subject, data),
            "body": _render(effect.email.body, data),
        }
    if effect.publish:
        return "publish", {
            "channels": list(effect.publish.channels),
            "text": _render(effect.publish.text, data),
        }
    assert effect.webhook is not None  # noqa: S101 - EffectDoc validates exactly one kind
    return "webhook", {
        "url": _render(effect.webhook.url, data),
        "body": _render(effect.webhook.body or "", data),
    }


def check_values(definition: FlowDefinition, values: Mapping[str, Any], context: str) -> None:
    """Raise :class:`InvalidData` naming every field that is unknown or ill-typed."""
    problems: dict[str, str] = {}
    for name, value in values.items():
        spec = definition.fields.get(name)
        if spec is None:
            problems[name] = f"flow '{definition.flow}' has no such field"
            continue
        problem = value_problem(spec, value)
        if (
            problem is None
            and spec.directorate
            and value is not None
            and value not in definition.directorates
        ):
            hint = did_you_mean(str(value), definition.directorates)
            problem = f"'{value}' is not a directorate{hint}"
        if problem:
            problems[name] = problem
    if problems:
        raise InvalidData(problems, context)


class Step:
    """Carries one command through a definition; produces a :class:`StepResult`."""

    def __init__(
        self,
        definition: FlowDefinition,
        instance: Instance,
        actor: str,
        now: datetime,
        timezone: str = DEFAULT_TIMEZONE,
        child: dict[str, Any] | None = None,
    ) -> None:
        self.definition = definition
        self.machine = machine_for(definition)
        self.actor = actor
        self.now = now
        self.timezone = timezone
        self.child = child
        self.result = _Draft(instance)
        self._seq = instance.row_version
        self.acting_for: str | None = None
        self._forking: set[str] = set()  # parallels whose branches are being entered
        # mutex → the state that left it in this step; released in settle() unless
        # the section goes on into another state of the same mutex
        self._releasing: dict[str, str] = {}

    # -- bookkeeping ------------------------------------------------------------

    @property
    def instance(self) -> Instance:
        return self.result.instance

    def _set(self, **changes: Any) -> None:
        self.result.instance = self.result.instance.evolve(**changes)

    def record(
        self,
        event: str,
        from_state: str | None,
        to_state: str | None,
        changes: dict[str, Any] | None = None,
        comment: str | None = None,
        actor: str | None = None,
    ) -> None:
        self._seq += 1
        self.result.history.append(
            HistoryEntry(
                instance_id=self.instance.id,
                seq=self._seq,
                event=event,
                from_state=from_state,
                to_state=to_state,
                actor=actor or self.actor,
                at=self.now,
                changes=changes or {},
                comment=comment,
                acting_for=self.acting_for if actor is None else None,
            )
        )

    def variables(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in self.definition.fields.items():
            value = self.instance.data.get(name)
            if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            values[name] = value
        values["instance"] = {
            "id": self.instance.id,
            "reference": self.instance.reference,
            "flow": self.instance.flow,
            "state": self.instance.state,
            "states": list(self.instance.states),
            "started_at": self.instance.created_at,
        }
        values["actor"] = {"id": self.actor}
        values["now"] = self.now
        if self.child is not None:
            values["child"] = self.child
        return values

    def effects(self, state: StateDef, effects: list[schema.EffectDoc]) -> None:
        for effect in effects:
            roles = effect.notify.roles if effect.notify else []
            kind = effect.kind
            show = privacy.effect_may_carry_personal(self.definition, kind, roles)
            data, _ = privacy.mask(self.definition, self.instance.data, show)
            kind, payload = render_effect(effect, data)
            if kind == "notify":
                payload["directorate"] = self.scope_of(state)
            self.result.effects.append(Effect(self.instance.id, kind, payload, state.name))

    def scope_of(self, state: StateDef) -> str | None:
        """The directorate a state's work belongs to (its ``assignee``), if any.

        Notices of a directorate's work reach only that directorate's scoped roles.
        """
        doc = state.doc
        if isinstance(doc, (schema.TaskState, schema.ApprovalState)) and doc.assignee:
            value = self.definition.expression(doc.assignee).evaluate(self.variables())
            return None if value is None else str(value)
        return None

    # -- moving -----------------------------------------------------------------

    def mutex_of(self, name: str) -> str | None:
        doc = self.definition.states[name].doc
        return doc.mutex if isinstance(doc, (schema.TaskState, schema.ApprovalState)) else None

    def waiting_for(self, name: str) -> tuple[str, str] | None:
        """(mutex, holder) when ``name`` is active but waits for its mutex."""
        mutex = self.mutex_of(name)
        holder = self.instance.locks.get(mutex) if mutex else None
        if mutex is None or holder == name:
            return None
        return mutex, holder or "?"

    def release_later(self, name: str) -> None:
        mutex = self.mutex_of(name)
        if mutex is not None and self.instance.locks.get(mutex) == name:
            self._releasing[mutex] = name

    def take(self, mutex: str, name: str) -> bool:
        """Hold ``mutex`` for ``name`` if it is free or its section goes on into it."""
        holder = self.instance.locks.get(mutex)
        releaser = self._releasing.get(mutex)
        continues = (
            releaser is not None
            and holder == releaser
            and self.definition.states[releaser].scope == self.definition.states[name].scope
        )
        if holder is not None and not continues:
            return False
        self._releasing.pop(mutex, None)
        self._set(locks={**self.instance.locks, mutex: name})
        return True

    def settle(self) -> StepResult:
        """End the step: release the mutexes left, giving each to the next waiting state."""
        while self._releasing:
            mutex, releaser = self._releasing.popitem()
            if self.instance.locks.get(mutex) != releaser:
                continue
            locks = {k: v for k, v in self.instance.locks.items() if k != mutex}
            self._set(locks=locks)
            waiting = [s for s in self.instance.states if self.mutex_of(s) == mutex]
            if waiting:
                name = waiting[0]
                self._set(locks={**locks, mutex: name})
                self.record("resume", name, name, comment=f"{mutex} serbest")
                state = self.definition.states[name]
                assert isinstance(state.doc, (schema.TaskState, schema.ApprovalState))  # noqa: S101
                self.open_work(state, state.doc)
                self.consume_waiting_signal(name)
        return StepResult.of(self.result)

    def leave(self, name: str) -> None:
        state = self.definition.states[name]
        self.release_later(name)
        self.effects(state, state.doc.on_exit)
        self.close_work(name)
        self.end_timers(name)
        self._set(states=tuple(s for s in self.instance.states if s != name))

    def close_work(self, name: str) -> None:
        """Close the work item of ``name``: in the database, or, when this very step
        opened it, by never writing it (the database closes before it opens)."""
        if any(w.state == name for w in self.result.opened):
            self.result.opened = [w for w in self.result.opened if w.state != name]
        elif self.definition.states[name].waits_for_people:
            self.result.closed.append(name)

    def enter(self, name: str) -> None:
        """Make ``name`` active and run it on if it needs no human."""
        state = self.definition.states[name]
        self._set(states=(*self.instance.states, name))
        self.effects(state, state.doc.on_enter)
        doc = state.doc
        if isinstance(doc, (schema.TaskState, schema.ApprovalState)):
            if doc.mutex is not None and not self.take(doc.mutex, name):
                holder = self.instance.locks.get(doc.mutex)
                self.record("wait", name, name, comment=f"{doc.mutex} ({holder}) bekleniyor")
                return
            self.open_work(state, doc)
            self.consume_waiting_signal(name)
        elif isinstance(doc, (schema.DecisionState, schema.ActionState)):
            if isinstance(doc, schema.ActionState):
                self.effects(state, doc.effects)
            self.auto(name, AUTO, doc.type)
        elif isinstance(doc, schema.ParallelState):
            self._set(states=tuple(s for s in self.instance.states if s != name))
            leftover = [s for s in self.instance.states if s.startswith(name + ".")]
            if leftover:  # a `finish` join's stragglers from the previous round
                self.withdraw(leftover, f"'{state.title}' yeniden başladı")
            self.schedule_timers(name)
            self._forking.add(name)
            for scope, (start, when) in self.definition.branches(name).items():
                if when and self.definition.expression(when).evaluate(self.variables()) is not True:
                    skipped = scope + SKIPPED
                    self.record("skip", name, skipped, comment=f"koşul sağlanmadı: {when}")
                    self._set(states=(*self.instance.states, skipped))
                    continue
                self.record("fork", name, start)
                self.enter(start)
                if self.instance.status != "active":
                    return  # a branch ended the whole instance (terminate)
            self._forking.discard(name)
            self.try_join(name)
            if self.region_runs(name) and self.instance.status == "active":
                self.consume_waiting_signal(name)
        elif isinstance(doc, schema.SubflowState):
            if doc.foreach is None:
                self.spawn(name, doc, self.variables())
            else:
                items = list(self.instance.data.get(doc.foreach) or [])
                self.spawn_items(name, doc, items, 0)
                if doc.wait and not items:
                    self.auto(name, CHILD_ENDED, "foreach_empty")
                    return
            if not doc.wait:
                self.auto(name, AUTO, "handoff")
            else:
                self.consume_waiting_signal(name)
        elif isinstance(doc, schema.EndState):
            parallel = self.definition.enclosing_parallel(name)
            if parallel is None or doc.terminate:
                # branches still running (remaining: finish, or a terminating
                # end) are withdrawn: the instance is over
                others = [s for s in self.instance.states if s != name]
                if others:
                    self.withdraw(others, f"'{state.title}' ile sona erdi")
                if self.definition.leaves_children_running:
                    self.result.cancel_children.append(ALL_CHILDREN)
                self._set(status="completed", outcome=doc.outcome, states=(name,))
            else:
                self.try_join(parallel)

    def spawn(self, name: str, doc: schema.SubflowState, variables: dict[str, Any]) -> None:
        data = {
            key: self.definition.expression(source).evaluate(variables)
            for key, source in doc.input.items()
        }
        self.result.spawns.append(SpawnRequest(name, doc.flow, data, doc.wait))

    def spawn_items(
        self, name: str, doc: schema.SubflowState, items: list[Any], first: int
    ) -> None:
        """One child per item from position ``first`` on (`item`, `index` in `input`)."""
        variables = self.variables()
        for index in range(first, len(items)):
            self.spawn(name, doc, {**variables, "item": items[index], "index": index})

    def consume_waiting_signal(self, name: str) -> None:
        """On entering ``name``: if a kept signal is one of its events', take it now."""
        for eid, event in self.definition.events(name).items():
            if event.signal is not None and event.signal in self.instance.signals:
                pending = list(self.instance.signals)
                pending.remove(event.signal)
                self._set(signals=tuple(pending))
                self.record("signal", name, name, comment=f"{event.signal} (bekleyen)")
                self.move_on(name, eid)
                return

    def move_on(self, name: str, event: str) -> None:
        """Take ``event`` out of ``name`` without a human (a signal)."""
        target = self.machine.move(name, event, self.variables())
        self.take_event(name, event, target)

    def take_event(
        self,
        name: str,
        event: str,
        target: str,
        changes: dict[str, Any] | None = None,
        comment: str | None = None,
        children_started: int | None = None,
    ) -> None:
        """Move out of ``name`` by ``event`` to ``target``, however ``name`` is left:
        a task is left; a parallel withdraws its region; a waiting subflow its
        children, unless the event leads back to a foreach subflow, which then
        starts children for the items added to its list."""
        doc = self.definition.states[name].doc
        title = self.definition.states[name].title
        notes = self.event_clock(self.definition.events(name)[event])
        if isinstance(doc, schema.SubflowState) and target == name:
            items = list(self.instance.data.get(doc.foreach or "") or [])
            first = len(items) if children_started is None else children_started
            self.spawn_items(name, doc, items, first)
            self.record(event, name, name, changes=changes, comment=comment)
        else:
            if isinstance(doc, schema.ParallelState):
                self.withdraw_region(name, f"'{title}': {event}")
            elif isinstance(doc, schema.SubflowState):
                self.withdraw([name], f"'{title}': {event}")
            else:
                self.leave(name)
            self.record(event, name, target, changes=changes, comment=comment)
        for note in notes:
            self.record("clock", None, None, comment=note)  # pauses, extensions… audited
        if target != name or not isinstance(doc, schema.SubflowState):
            self.enter(target)

    def event_clock(self, spec: schema.EventDoc) -> list[str]:
        """What ``spec`` does to the statutory clock and the reply; notes to record."""
        if spec.reply == "final":
            self.result.replied = {n: self.instance.data.get(n) for n in spec.requires}
        clock = self.instance.clock
        if not clock:  # a case with no legal basis has no clock to move
            return []
        actions: list[str] = [spec.clock] if spec.clock else []
        if spec.reply == "final" and not clock.get("replied_at"):
            actions.append("reply")
        notes = []
        for action in actions:
            clock, note = clocks.apply(
                self.definition.doc,
                clock,
                action,
                self.now,
                self.instance.reference,
                self.timezone,
            )
            notes.append(note)
        self._set(clock=clock, due_at=clocks.deadline(clock))
        return notes

    def auto(self, name: str, trigger: str, label: str) -> None:
        target = self.machine.move(name, trigger, self.variables())
        self.leave(name)
        self.record(label, name, target)
        self.enter(target)

    def try_join(self, parallel: str) -> None:
        """Join ``parallel`` once enough branches stand in one of their ends.

        Enough is every branch, or `join.count` of them; the branches still
        running are then withdrawn (`remaining: cancel`, the default) or run on
        (`remaining: finish`, recorded by the parallel's `_joined` state, after
        which their ends only leave the region).
        """
        if parallel in self._forking or parallel in self.instance.states:
            return
        prefix = parallel + "."
        joined = prefix + JOINED
        branches = self.definition.branches(parallel)
        inside = [s for s in self.instance.states if s.startswith(prefix)]
        ended = {
            self.definition.states[s].scope
            for s in inside
            if self.definition.states[s].kind == "end"
            and self.definition.states[s].scope in branches
        }
        if joined in self.instance.states:
            finished = [s for s in inside if self.definition.states[s].scope in ended]
            rest = [s for s in inside if s not in finished and s != joined]
            self.branches_ended([*finished, *([] if rest else [joined])])
            return
        doc = self.definition.states[parallel].doc
        assert isinstance(doc, schema.ParallelState)  # noqa: S101 - parallel by construction
        needed = doc.join.count if doc.join else len(branches)
        if len(ended) < needed:
            return
        target = self.machine.move(parallel, JOIN, self.variables())
        running = [s for s in inside if self.definition.states[s].scope not in ended]
        self.end_timers(parallel)
        if running and doc.join and doc.join.remaining == "finish":
            # the ended branches go; the running ones stay, marked by _joined
            self.branches_ended([s for s in inside if s not in running])
            self._set(states=(*self.instance.states, joined))
            self.record("partial_join", None, joined)
            self.record("partial_join", parallel, target)
        else:
            if running:
                self.withdraw(running, f"'{self.definition.states[parallel].title}' birleşti")
            self._set(states=tuple(s for s in self.instance.states if not s.startswith(prefix)))
            self.record("join", parallel, target)
        self.enter(target)

    def branches_ended(self, names: list[str]) -> None:
        """Drop ended branch states of a region that joined already (one row each)."""
        for name in names:
            self.record("branch_ended", name, None)
        gone = set(names)
        self._set(states=tuple(s for s in self.instance.states if s not in gone))

    def withdraw(self, names: list[str], reason: str) -> None:
        """Cancel active states: close their work and timers, stop their children,
        drop their undelivered effects, and record each in the history."""
        timed_regions = [p for p in self.definition.timer_delays if self.region_runs(p)]
        for name in names:
            state = self.definition.states[name]
            self.release_later(name)
            self.close_work(name)
            if isinstance(state.doc, schema.SubflowState) and state.doc.wait:
                self.result.cancel_children.append(name)
            self.end_timers(name)
            self.result.withdrawn.append(name)
            # every removal is a history row, so `audit replay` rebuilds the states
            self.record("cancel", name, None, comment=reason)
        gone = set(names)
        # effects this very step produced for them must not go out either
        self.result.effects = [e for e in self.result.effects if e.state not in gone]
        self._set(states=tuple(s for s in self.instance.states if s not in gone))
        for parallel in timed_regions:  # nested regions emptied by this withdrawal
            if not self.region_runs(parallel):
                self.end_timers(parallel)

    def region_runs(self, parallel: str) -> bool:
        prefix = parallel + "."
        return any(s.startswith(prefix) for s in self.instance.states)

    def withdraw_region(self, parallel: str, reason: str) -> None:
        """Cancel everything running inside ``parallel`` (a cancel region)."""
        prefix = parallel + "."
        self.withdraw([s for s in self.instance.states if s.startswith(prefix)], reason)
        self.end_timers(parallel)

    def end_timers(self, name: str) -> None:
        """Make the pending timers of ``name`` (a task, approval or parallel) end:
        those of this step are never written, those in the database are cancelled."""
        if any(t.state == name for t in self.result.timers):
            self.result.timers = [t for t in self.result.timers if t.state != name]
        elif name in self.definition.timer_delays and name not in self.result.closed:
            self.result.closed.append(name)

    def schedule_timers(self, name: str) -> None:
        for index, delay in enumerate(self.definition.timer_delays.get(name, ())):
            self.result.timers.append(
                Timer(
                    instance_id=self.instance.id,
                    state=name,
                    index=index,
                    after=delay.text,
                    due_at=delay.add_to(self.now, self.timezone),
                )
            )

    def open_work(self, state: StateDef, doc: schema.TaskState | schema.ApprovalState) -> None:
        assignee = self.scope_of(state)
        sla = self.definition.slas.get(state.name)
        due = sla.add_to(self.now, self.timezone) if sla else None
        self.result.opened.append(
            WorkItem(
                instance_id=self.instance.id,
                state=state.name,
                role=doc.role,
                assignee=assignee,
                opened_at=self.now,
                due_at=due,
                reference=self.instance.reference,
                flow=self.instance.flow,
                title=state.title,
            )
        )
        self.schedule_timers(state.name)


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

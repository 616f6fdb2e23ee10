"""One command carried through a definition: :class:`Step` produces the frozen
:class:`StepResult` (history, work opened and closed, effects, timers, children).

Automatic states (decision, action, parallel fork and join, subflow hand-off,
end) are chained here, so a command never leaves an instance in a state that
needs no human.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowengine import clocks, privacy, schema
from flowengine.definition import JOINED, SKIPPED, FlowDefinition, StateDef
from flowengine.durations import DEFAULT_TIMEZONE
from flowengine.errors import InvalidData, did_you_mean
from flowengine.instance import Effect, HistoryEntry, Instance, Timer, WorkItem
from flowengine.runtime.effects import render_effect
from flowengine.runtime.machine import ALL_CHILDREN, AUTO, CHILD_ENDED, JOIN, machine_for
from flowengine.values import value_problem


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

"""The compiled, immutable form of a flow: what every instance of a version shares.

Owns resolving a validated :class:`~flowengine.schema.FlowDoc` into qualified
state names (``yayin.sosyal_medya_dali.aktar`` for a state inside a parallel
branch), target states, and compiled expressions. Built once per flow version
and shared; behaviour lives here and in ``runtime``, state on the instance.
Imports ``schema``, ``expressions``, ``durations``, ``checks``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowengine import schema
from flowengine.checks import events_of
from flowengine.durations import Duration, parse_duration
from flowengine.expressions import Expression, compile_expression

WAITING = ("task", "approval")
# States the compiler adds inside a parallel (never written in YAML; a flow's own
# ids are lower-case letters first, so these cannot collide):
SKIPPED = "_skipped"  # the end of a branch whose `when` was false at the fork
JOINED = "_joined"  # a partial join fired and its `remaining: finish` branches run on


@dataclass(frozen=True)
class StateDef:
    """One state with its qualified name and the scope it lives in."""

    name: str
    local: str
    scope: str  # "" for the flow, "<parallel>.<branch>." inside a branch
    doc: schema.StateDoc

    @property
    def kind(self) -> str:
        return self.doc.type

    @property
    def title(self) -> str:
        return self.doc.title or self.local

    @property
    def waits_for_people(self) -> bool:
        return self.kind in WAITING

    def target(self, local: str) -> str:
        """Qualify a target named inside this state's scope."""
        return self.scope + local


@dataclass(frozen=True)
class FlowDefinition:
    """A flow version compiled for execution."""

    flow: str
    version: int
    content_hash: str
    source: str
    doc: schema.FlowDoc
    states: dict[str, StateDef]
    branch_starts: dict[str, tuple[str, ...]]  # parallel name → qualified branch starts
    expressions: dict[str, Expression] = field(repr=False)
    slas: dict[str, Duration] = field(repr=False)
    directorates: frozenset[str] = frozenset()
    timer_delays: dict[str, tuple[Duration, ...]] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        return self.doc.title

    @functools.cached_property
    def leaves_children_running(self) -> bool:
        """A foreach subflow may move on while children run (`remaining: finish`)."""
        return any(
            isinstance(s.doc, schema.SubflowState)
            and s.doc.foreach is not None
            and s.doc.join is not None
            and s.doc.join.remaining == "finish"
            for s in self.states.values()
        )

    @functools.cached_property
    def escalating_states(self) -> frozenset[str]:
        """Approvals with ``escalate``: only their rejections need counting."""
        return frozenset(
            name
            for name, state in self.states.items()
            if isinstance(state.doc, schema.ApprovalState) and state.doc.escalate
        )

    @functools.cached_property
    def written_by_events(self) -> frozenset[str]:
        """Fields some event writes (``requires``, ``accepts``, ``set``, ``compute``):
        a step's answers, not the request's own data (flowengine/policy.py)."""
        names: set[str] = set()
        for state in self.states:
            for spec in self.events(state).values():
                names.update(spec.requires, spec.accepts, spec.set_, spec.compute)
        return frozenset(names)

    @property
    def start(self) -> str:
        return self.doc.start

    @property
    def fields(self) -> dict[str, schema.FieldDoc]:
        return self.doc.data

    @property
    def starters(self) -> tuple[str, ...]:
        if self.doc.starters is not None:
            return tuple(self.doc.starters)
        first = self.states[self.doc.start].doc
        return (first.role,) if isinstance(first, (schema.TaskState, schema.ApprovalState)) else ()

    @property
    def personal_fields(self) -> frozenset[str]:
        return frozenset(name for name, spec in self.doc.data.items() if spec.personal)

    @property
    def personal_access(self) -> tuple[str, ...]:
        if self.doc.privacy and self.doc.privacy.personal_access is not None:
            return tuple(self.doc.privacy.personal_access)
        return self.starters

    def expression(self, source: str) -> Expression:
        return self.expressions[source]

    def events(self, state: str) -> dict[str, schema.EventDoc]:
        return events_of(self.states[state].doc)

    def branches(self, parallel: str) -> dict[str, tuple[str, str | None]]:
        """Branch scope (``par.branch.``) → (qualified start, its `when` or None)."""
        doc = self.states[parallel].doc
        assert isinstance(doc, schema.ParallelState)  # noqa: S101 - callers pass a parallel
        return {
            f"{parallel}.{bid}.": (f"{parallel}.{bid}.{branch.start}", branch.when)
            for bid, branch in doc.branches.items()
        }

    def enclosing_parallels(self, state: str) -> list[str]:
        """The parallels around ``state``, innermost first."""
        out = []
        parallel = self.enclosing_parallel(state)
        while parallel is not None:
            out.append(parallel)
            parallel = self.enclosing_parallel(parallel)
        return out

    def enclosing_parallel(self, state: str) -> str | None:
        """The parallel state whose branch holds ``state``, if any."""
        scope = self.states[state].scope
        if not scope:
            return None
        return scope[:-1].rsplit(".", 1)[0]


def content_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _walk(
    states: dict[str, schema.StateDoc], scope: str
) -> Iterator[tuple[str, str, schema.StateDoc]]:
    for local, state in states.items():
        yield scope + local, scope, state
        if isinstance(state, schema.ParallelState):
            for bid, branch in state.branches.items():
                yield from _walk(branch.states, f"{scope}{local}.{bid}.")


def _expression_sources(state: schema.StateDoc) -> Iterator[str]:
    if isinstance(state, (schema.TaskState, schema.ApprovalState)) and state.assignee:
        yield state.assignee
    for event in events_of(state).values():
        if event.when:
            yield event.when
        yield from event.compute.values()
    if isinstance(state, schema.DecisionState):
        yield from (choice.when for choice in state.choices)
    if isinstance(state, schema.SubflowState):
        yield from state.input.values()
    if isinstance(state, schema.ParallelState):
        yield from (branch.when for branch in state.branches.values() if branch.when)


def compile_flow(
    doc: schema.FlowDoc, source: str, directorates: frozenset[str] = frozenset()
) -> FlowDefinition:
    """Compile a *validated* flow document; expressions are compiled here, once."""
    states: dict[str, StateDef] = {}
    branch_starts: dict[str, tuple[str, ...]] = {}
    expressions: dict[str, Expression] = {}
    slas: dict[str, Duration] = {}
    timer_delays: dict[str, tuple[Duration, ...]] = {}
    for name, scope, state in _walk(dict(doc.states), ""):
        local = name[len(scope) :]
        states[name] = StateDef(name, local, scope, state)
        if isinstance(state, schema.ParallelState):
            branch_starts[name] = tuple(
                f"{name}.{bid}.{branch.start}" for bid, branch in state.branches.items()
            )
            for bid, branch in state.branches.items():
                if branch.when:
                    skipped = f"{name}.{bid}.{SKIPPED}"
                    states[skipped] = StateDef(
                        skipped,
                        SKIPPED,
                        f"{name}.{bid}.",
                        schema.EndState(type="end", outcome="skipped", title="Dal atlandı"),
                    )
            if state.join and state.join.remaining == "finish":
                joined = f"{name}.{JOINED}"
                states[joined] = StateDef(
                    joined,
                    JOINED,
                    # a scope of its own, like a branch's, so that it stands
                    # inside `name` for enclosing_parallel at any depth
                    f"{joined}.",
                    schema.EndState(
                        type="end", outcome="joined", title="Birleşildi, kalan dallar sürüyor"
                    ),
                )
            if state.timers:
                timer_delays[name] = tuple(parse_duration(t.after) for t in state.timers)
        for text in _expression_sources(state):
            if text not in expressions:
                expressions[text] = compile_expression(text)
        if isinstance(state, (schema.TaskState, schema.ApprovalState)):
            if state.sla:
                slas[name] = parse_duration(state.sla)
            if state.timers:
                timer_delays[name] = tuple(parse_duration(t.after) for t in state.timers)
    if doc.sla:
        slas[""] = parse_duration(doc.sla)
    return FlowDefinition(
        flow=doc.flow,
        version=doc.version,
        content_hash=content_hash(source),
        source=source,
        doc=doc,
        states=states,
        branch_starts=branch_starts,
        expressions=expressions,
        slas=slas,
        directorates=directorates,
        timer_delays=timer_delays,
    )


def field_defaults(doc: schema.FlowDoc) -> dict[str, Any]:
    return {name: spec.default for name, spec in doc.data.items() if spec.default is not None}

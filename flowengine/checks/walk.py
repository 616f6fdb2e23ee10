"""Walking a flow document: its scopes (the flow and each parallel branch), the
successors of a state, the paths that reach an end without a reply, the
placeholders of a template, and cycles of subflows across a flow set.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from flowengine import schema
from flowengine.errors import Issue
from flowengine.loader import LoadedDocument, PathKey

ID = re.compile(r"^[a-z][a-z0-9_]*$")  # flow, state, event, field and role ids


@dataclass(frozen=True)
class ParsedFlow:
    """A flow file that passed the schema, with the positions of its nodes."""

    doc: schema.FlowDoc
    loaded: LoadedDocument


@dataclass(frozen=True)
class Scope:
    """A set of states that refer to each other: the flow, or one parallel branch."""

    states: Mapping[str, schema.StateDoc]
    start: str
    path: PathKey  # path of the mapping holding `start` and `states`
    label: str


def iter_scopes(doc: schema.FlowDoc) -> Iterator[Scope]:
    """Yield the top-level scope and every branch scope, depth first."""
    pending = [Scope(doc.states, doc.start, (), "flow")]
    while pending:
        scope = pending.pop(0)
        yield scope
        for sid, state in scope.states.items():
            if isinstance(state, schema.ParallelState):
                for bid, branch in state.branches.items():
                    path = (*scope.path, "states", sid, "branches", bid)
                    pending.append(Scope(branch.states, branch.start, path, f"branch '{bid}'"))


def successors(state: schema.StateDoc) -> list[tuple[str, PathKey]]:
    """States a state can move to within its scope, with the path of each reference."""
    out: list[tuple[str, PathKey]] = []
    if isinstance(state, schema.TaskState):
        out += [(e.to, ("on", eid, "to")) for eid, e in state.on.items()]
    if isinstance(state, schema.ApprovalState):
        out += [(state.approve.to, ("approve", "to")), (state.reject.to, ("reject", "to"))]
    if isinstance(state, (schema.ParallelState, schema.SubflowState)):
        out += [(e.to, ("on", eid, "to")) for eid, e in state.on.items()]
    if isinstance(state, (schema.TaskState, schema.ApprovalState, schema.ParallelState)):
        out += [(t.to, ("timers", i, "to")) for i, t in enumerate(state.timers) if t.to]
    if isinstance(state, schema.DecisionState):
        out += [(c.to, ("choices", i, "to")) for i, c in enumerate(state.choices)]
        out.append((state.otherwise, ("otherwise",)))
    if isinstance(state, (schema.ParallelState, schema.SubflowState, schema.ActionState)):
        out.append((state.next, ("next",)))
    return out


def reply_edges(state: schema.StateDoc) -> list[tuple[str, bool]]:
    """(target, whether the move answers the citizen finally) of each way out."""
    out = [(e.to, e.reply == "final") for e in events_of(state).values()]
    event_refs: set[PathKey] = {("on", eid, "to") for eid in events_of(state)}
    event_refs |= {("approve", "to"), ("reject", "to")}
    for target, ref in successors(state):
        if ref in event_refs:
            continue  # counted above, with its reply mark
        through_join = ref == ("next",)
        out.append(
            (
                target,
                isinstance(state, schema.ParallelState)
                and through_join
                and parallel_replies(state),
            )
        )
    return out


def parallel_replies(state: schema.ParallelState) -> bool:
    """A branch that always runs, always to the join, answers on every path."""
    if state.join is not None and state.join.count < len(state.branches):
        return False
    return any(
        branch.when is None and not unreplied_ends(branch.states, branch.start)
        for branch in state.branches.values()
    )


def unreplied_ends(states: Mapping[str, schema.StateDoc], start: str) -> dict[str, list[str]]:
    """Ends of a scope reachable from ``start`` without a final reply, each with a path."""
    parents: dict[tuple[str, bool], tuple[str, bool] | None] = {(start, False): None}
    frontier = [(start, False)]
    found: dict[str, list[str]] = {}
    while frontier:
        node = frontier.pop(0)
        sid, replied = node
        state = states.get(sid)
        if state is None:
            continue
        if isinstance(state, schema.EndState) and not replied and sid not in found:
            found[sid] = _path_to(parents, node)
        if isinstance(state, schema.ParallelState) and not replied:
            # a terminating end inside ends the whole instance from here
            here = _path_to(parents, node)
            for bid, branch in state.branches.items():
                for end, inner in unreplied_ends(branch.states, branch.start).items():
                    local = branch.states.get(end)
                    nested = local is None  # reported by a parallel inside the branch
                    if nested or (isinstance(local, schema.EndState) and local.terminate):
                        name = f"{sid}.{bid}.{end}"
                        found.setdefault(name, [*here, *(f"{sid}.{bid}.{s}" for s in inner)])
        for target, final in reply_edges(state):
            child = (target, replied or final)
            if target in states and child not in parents:
                parents[child] = node
                frontier.append(child)
    return found


def _path_to(
    parents: Mapping[tuple[str, bool], tuple[str, bool] | None], node: tuple[str, bool]
) -> list[str]:
    path: list[str] = []
    step: tuple[str, bool] | None = node
    while step is not None:
        path.append(step[0])
        step = parents[step]
    return path[::-1]


def events_of(state: schema.StateDoc) -> dict[str, schema.EventDoc]:
    if isinstance(state, (schema.TaskState, schema.ParallelState, schema.SubflowState)):
        return dict(state.on)
    if isinstance(state, schema.ApprovalState):
        return {"approve": state.approve, "reject": state.reject}
    return {}


def template_names(template: str) -> list[str]:
    """Placeholder names of a ``{field}`` template; raises ValueError on a bad one."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not ID.match(name) or spec or conversion:
            raise ValueError(f"placeholder '{{{name}}}' must be a plain field name")
        names.append(name)
    return names


def subflow_cycles(flows: Mapping[str, ParsedFlow]) -> list[Issue]:
    """Report every flow that can start itself again through subflows."""
    calls: dict[str, list[tuple[str, PathKey]]] = {}
    for fid, parsed in flows.items():
        calls[fid] = []
        for scope in iter_scopes(parsed.doc):
            for sid, state in scope.states.items():
                if isinstance(state, schema.SubflowState) and state.flow in flows:
                    calls[fid].append((state.flow, (*scope.path, "states", sid, "flow")))
    issues: list[Issue] = []
    for fid in sorted(flows):
        path = _find_cycle(fid, calls)
        if path:
            cycle = " → ".join([*path, path[0]])
            first_call = next(loc for target, loc in calls[fid] if target == path[1 % len(path)])
            issues.append(
                flows[fid].loaded.issue(
                    first_call, f"subflows form a cycle: {cycle}; break it", code="cycle"
                )
            )
    return issues


def _find_cycle(origin: str, calls: Mapping[str, list[tuple[str, PathKey]]]) -> list[str]:
    """Return a path origin → … that leads back to origin, or []."""
    stack: list[tuple[str, list[str]]] = [(origin, [origin])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target, _ in calls.get(node, []):
            if target == origin:
                return path
            if target not in visited:
                visited.add(target)
                stack.append((target, [*path, target]))
    return []

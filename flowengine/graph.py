"""Draw a flow as a Mermaid flowchart or a Graphviz DOT graph.

Owns the visual vocabulary: tasks are boxes, approvals hexagons, decisions
diamonds, parallel states clusters holding one lane per branch, subflows
double-edged boxes, actions parallelograms, ends stadiums. Works on the
document form only. Imports ``schema`` and ``checks`` (for edges).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from flowengine import schema
from flowengine.checks import events_of

_MERMAID_SHAPES = {
    "task": ('["', '"]'),
    "approval": ('{{"', '"}}'),
    "decision": ('{"', '"}'),
    "subflow": ('[["', '"]]'),
    "action": ('[/"', '"/]'),
    "end": ('(["', '"])'),
}
_DOT_SHAPES = {
    "task": "box",
    "approval": "hexagon",
    "decision": "diamond",
    "subflow": "component",
    "action": "parallelogram",
    "end": "doublecircle",
}
_DOT_FILL = {
    "task": "#e8f1fb",
    "approval": "#fff4d6",
    "decision": "#f3e8fb",
    "subflow": "#e6f7ec",
    "action": "#eeeeee",
    "end": "#dddddd",
}


def _label(sid: str, state: schema.StateDoc) -> str:
    title = state.title or sid
    extra = ""
    if isinstance(state, (schema.TaskState, schema.ApprovalState)):
        extra = f"\n({state.role}{', ' + state.sla if state.sla else ''})"
        if state.mutex:
            extra += f"\n🔒 {state.mutex}"
    elif isinstance(state, schema.SubflowState):
        extra = f"\n↳ {state.flow}{'' if state.wait else ' (devret)'}"
        if state.foreach:
            extra += f"\n∀ {state.foreach}{_join_text(state.join)}"
    elif isinstance(state, schema.EndState):
        extra = f"\n[{state.outcome}]" + ("\n⏹ tümünü bitirir" if state.terminate else "")
    return title + extra


def _join_text(join: schema.JoinDoc | None) -> str:
    """' (2 yeter, kalanlar iptal)' for a partial join; '' for the usual one."""
    if join is None:
        return ""
    rest = "iptal" if join.remaining == "cancel" else "sürer"
    return f" ({join.count} yeter, kalanlar {rest})"


def _branch_label(bid: str, branch: schema.BranchDoc) -> str:
    return f"{bid} [{branch.when}]" if branch.when else bid


def _edges(state: schema.StateDoc) -> Iterator[tuple[str, str, str]]:
    """(target, label, style) of every arrow leaving a state; style is solid/dashed."""
    for eid, event in events_of(state).items():
        yield event.to, event.title or eid, "solid"
    if isinstance(state, (schema.TaskState, schema.ApprovalState, schema.ParallelState)):
        for timer in state.timers:
            if timer.to:
                yield timer.to, f"⏱ {timer.after}", "dashed"
    if isinstance(state, schema.DecisionState):
        for choice in state.choices:
            yield choice.to, choice.when, "solid"
        yield state.otherwise, "otherwise", "solid"
    if isinstance(state, (schema.SubflowState, schema.ActionState, schema.ParallelState)):
        yield state.next, "", "solid"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", "<br/>")


def to_mermaid(doc: schema.FlowDoc) -> str:
    """Render ``doc`` as a Mermaid ``flowchart``."""
    lines = ["flowchart TD", f"  %% {doc.flow} v{doc.version}: {doc.title}"]
    lines.append('  __start(("başla"))')
    lines.append(f"  __start --> {doc.flow}__{doc.start}")
    _mermaid_scope(doc.flow, doc.states, lines, "  ")
    lines += [
        "  classDef approvalState fill:#fff4d6,stroke:#b58900",
        "  classDef decisionState fill:#f3e8fb,stroke:#6c71c4",
        "  classDef subflowState fill:#e6f7ec,stroke:#2aa198",
        "  classDef endState fill:#dddddd,stroke:#555",
    ]
    return "\n".join(lines) + "\n"


def _mermaid_scope(
    prefix: str, states: Mapping[str, schema.StateDoc], lines: list[str], indent: str
) -> None:
    for sid, state in states.items():
        node = f"{prefix}__{sid}"
        if isinstance(state, schema.ParallelState):
            title = _mermaid_text((state.title or sid) + _join_text(state.join))
            lines.append(f'{indent}subgraph {node}["∥ {title}"]')
            lines.append(f"{indent}  direction LR")
            for bid, branch in state.branches.items():
                bnode = f"{node}__{bid}"
                lines.append(
                    f'{indent}  subgraph {bnode}["{_mermaid_text(_branch_label(bid, branch))}"]'
                )
                _mermaid_scope(bnode, branch.states, lines, indent + "    ")
                lines.append(f"{indent}  end")
            lines.append(f"{indent}end")
        else:
            left, right = _MERMAID_SHAPES[state.type]
            lines.append(f"{indent}{node}{left}{_mermaid_text(_label(sid, state))}{right}")
            if state.type in ("approval", "decision", "subflow", "end"):
                lines.append(f"{indent}class {node} {state.type}State")
    for sid, state in states.items():
        node = f"{prefix}__{sid}"
        for target, label, style in _edges(state):
            arrow = "-.->" if style == "dashed" else "-->"
            text = f'|"{_mermaid_text(label)}"|' if label else ""
            lines.append(f"{indent}{node} {arrow}{text} {prefix}__{target}")


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(doc: schema.FlowDoc) -> str:
    """Render ``doc`` as a Graphviz ``digraph``."""
    lines = [
        f'digraph "{doc.flow}" {{',
        f'  label="{_dot_text(doc.title)} (v{doc.version})"; labelloc=t; fontname="Helvetica";',
        "  rankdir=TB; compound=true;",
        '  node [fontname="Helvetica", style=filled, fillcolor="#ffffff"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  __start [shape=circle, label="", width=0.25, fillcolor="#000000"];',
    ]
    _dot_scope(doc.flow, doc.states, lines, "  ")
    lines.append(f"  __start -> {_dot_entry(doc.flow, doc.start, doc.states)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_entry(prefix: str, sid: str, states: Mapping[str, schema.StateDoc]) -> str:
    """The node an arrow into ``sid`` points at (a parallel's fork node)."""
    state = states.get(sid)
    if isinstance(state, schema.ParallelState):
        return f'"{prefix}__{sid}__fork"'
    return f'"{prefix}__{sid}"'


def _dot_scope(
    prefix: str, states: Mapping[str, schema.StateDoc], lines: list[str], indent: str
) -> None:
    for sid, state in states.items():
        node = f"{prefix}__{sid}"
        if isinstance(state, schema.ParallelState):
            lines.append(f'{indent}subgraph "cluster_{node}" {{')
            title = _dot_text((state.title or sid) + _join_text(state.join))
            lines.append(f'{indent}  label="∥ {title}"; style=rounded;')
            lines.append(f'{indent}  "{node}__fork" [shape=box, label="", height=0.08, width=2,')
            lines.append(f'{indent}     fillcolor="#000000"];')
            lines.append(f'{indent}  "{node}__join" [shape=box, label="", height=0.08, width=2,')
            lines.append(f'{indent}     fillcolor="#000000"];')
            for bid, branch in state.branches.items():
                bnode = f"{node}__{bid}"
                lines.append(f'{indent}  subgraph "cluster_{bnode}" {{')
                lines.append(f'{indent}    label="{_dot_text(bid)}"; style=dashed;')
                _dot_scope(bnode, branch.states, lines, indent + "    ")
                lines.append(f"{indent}  }}")
                entry = _dot_entry(bnode, branch.start, branch.states)
                when = f' [label="{_dot_text(branch.when)}"]' if branch.when else ""
                lines.append(f'{indent}  "{node}__fork" -> {entry}{when};')
                for bsid, bstate in branch.states.items():
                    if isinstance(bstate, schema.EndState):
                        lines.append(
                            f'{indent}  "{bnode}__{bsid}" -> "{node}__join" [style=dotted];'
                        )
            lines.append(f"{indent}}}")
        else:
            shape = _DOT_SHAPES[state.type]
            fill = _DOT_FILL[state.type]
            label = _dot_text(_label(sid, state))
            lines.append(f'{indent}"{node}" [shape={shape}, fillcolor="{fill}", label="{label}"];')
    for sid, state in states.items():
        source = (
            f'"{prefix}__{sid}__join"'
            if isinstance(state, schema.ParallelState)
            else f'"{prefix}__{sid}"'
        )
        for target, label, style in _edges(state):
            attrs = [f'label="{_dot_text(label)}"'] if label else []
            if style == "dashed":
                attrs.append("style=dashed")
            suffix = f" [{', '.join(attrs)}]" if attrs else ""
            lines.append(f"{indent}{source} -> {_dot_entry(prefix, target, states)}{suffix};")

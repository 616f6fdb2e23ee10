"""Rich renderings of flow documents for the terminal (used by the CLI).

Owns how a flow looks in a terminal; imports rich lazily via its callers.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from rich.tree import Tree

from flowengine import schema
from flowengine.checks import events_of

_ICONS = {
    "task": "■",
    "approval": "✔",
    "decision": "◆",
    "parallel": "∥",
    "subflow": "↳",
    "action": "⚙",
    "end": "●",
}


def flow_tree(doc: schema.FlowDoc, organization: schema.OrganizationDoc | None) -> Tree:
    """A tree: flow → states → events/branches, with roles and SLAs."""
    header = Text.assemble(
        (doc.title, "bold"), f"  ({doc.flow} v{doc.version}, {doc.directorate}/{doc.unit})"
    )
    tree = Tree(header)
    if doc.sla:
        tree.add(f"süre (SLA): {doc.sla}")
    roles = tree.add("roller")
    org_roles = organization.roles if organization else {}
    for rid, role in {**org_roles, **doc.roles}.items():
        roles.add(f"{rid}: {role.title}")
    _add_states(tree.add(f"durumlar (başlangıç: {doc.start})"), doc.states)
    return tree


def _add_states(parent: Tree, states: Mapping[str, schema.StateDoc]) -> None:
    for sid, state in states.items():
        label = Text.assemble(
            (f"{_ICONS[state.type]} {sid}", "bold"),
            f"  {state.title or ''}",
            (f"  [{state.type}]", "dim"),
        )
        node = parent.add(label)
        if isinstance(state, (schema.TaskState, schema.ApprovalState)):
            who = f"rol: {state.role}"
            if state.assignee:
                who += f", atanan: {state.assignee}"
            if state.sla:
                who += f", süre: {state.sla}"
            node.add(who)
            for timer in state.timers:
                action = f"→ {timer.to}" if timer.to else f"bildir: {', '.join(timer.notify or [])}"
                node.add(f"⏱ {timer.after} sonra {action}")
        for eid, event in events_of(state).items():
            extra = []
            if event.requires:
                extra.append(f"gerekli: {', '.join(event.requires)}")
            if event.when:
                extra.append(f"koşul: {event.when}")
            if event.comment == "required" or eid == "reject":
                extra.append("açıklama zorunlu")
            suffix = f"  ({'; '.join(extra)})" if extra else ""
            node.add(f"{eid} → {event.to}{suffix}")
        if isinstance(state, schema.DecisionState):
            for choice in state.choices:
                node.add(f"{choice.when} → {choice.to}")
            node.add(f"aksi halde → {state.otherwise}")
        elif isinstance(state, schema.ParallelState):
            for bid, branch in state.branches.items():
                _add_states(node.add(f"kol {bid} (başlangıç: {branch.start})"), branch.states)
            node.add(f"hepsi bitince → {state.next}")
        elif isinstance(state, schema.SubflowState):
            node.add(
                f"akış: {state.flow}, bekle: {'evet' if state.wait else 'hayır'} → {state.next}"
            )
        elif isinstance(state, schema.ActionState):
            for effect in state.effects:
                node.add(f"etki: {effect.kind}")
            node.add(f"→ {state.next}")
        elif isinstance(state, schema.EndState):
            node.add(f"sonuç: {state.outcome}")

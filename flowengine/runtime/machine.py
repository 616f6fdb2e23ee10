"""The compiled state machine of a flow version: one ``transitions`` Machine per
version, built once and cached, and the names of the automatic triggers.

This is the only module that imports ``transitions``. A command attaches a
fresh carrier, fires, and detaches it (attaching every instance would be
quadratic). Conditions given to ``transitions`` are Python callables of this
module; no callback is ever named by a string from YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from flowengine import schema
from flowengine.definition import FlowDefinition
from flowengine.expressions import Expression

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

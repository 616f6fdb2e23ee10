"""Executing one command on one instance: pure, no I/O.

Given a compiled definition, an instance record, an event, its payload, the
actor and the time, compute the new record plus everything the step causes:
history entries, work items opened and closed, effects for the outbox and
child instances to start. Automatic states (decision, action, parallel fork
and join, subflow hand-off, end) are chained here, so a command never leaves
an instance in a state that needs no human.

The package's parts, each used only by the ones after it:

    machine      the one ``transitions`` Machine per flow version (the only
                 importer of ``transitions``), cached; the automatic triggers
    effects      an effect's outbox payload, templates filled
    step         :class:`Step`, which chains automatic states, and the frozen
                 :class:`StepResult`
    commands     start, fire, signal, timers, children; who may fire what
    management   cancel, merge, unmerge, reassign, migrate
"""

from flowengine.runtime.commands import (
    active_event_states,
    allowed_events,
    authorize,
    child_ended,
    fire,
    fire_timer,
    is_active,
    new_instance_data,
    signal,
    start,
)
from flowengine.runtime.effects import render_effect
from flowengine.runtime.machine import (
    ALL_CHILDREN,
    AUTO,
    CHILD_ENDED,
    JOIN,
    SYSTEM_ACTOR,
    TIMER,
    CompiledMachine,
    machine_for,
)
from flowengine.runtime.management import (
    MERGED_REPLY,
    MIGRATION_EVENT,
    answer_merged,
    cancel,
    merge,
    migrate,
    reassign,
    unmerge,
)
from flowengine.runtime.step import SpawnRequest, Step, StepResult, check_values

__all__ = [
    "ALL_CHILDREN",
    "AUTO",
    "CHILD_ENDED",
    "JOIN",
    "MERGED_REPLY",
    "MIGRATION_EVENT",
    "SYSTEM_ACTOR",
    "TIMER",
    "CompiledMachine",
    "SpawnRequest",
    "Step",
    "StepResult",
    "active_event_states",
    "allowed_events",
    "answer_merged",
    "authorize",
    "cancel",
    "check_values",
    "child_ended",
    "fire",
    "fire_timer",
    "is_active",
    "machine_for",
    "merge",
    "migrate",
    "new_instance_data",
    "reassign",
    "render_effect",
    "signal",
    "start",
    "unmerge",
]

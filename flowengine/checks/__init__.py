"""Semantic validation of flows: everything the schema alone cannot see.

Owns the rules of "What validation rejects" in the flow-language contract:
references between states, reachability, declared roles/fields/directorates/
flows, expressions, templates, durations, reference patterns and subflow
cycles. Every rule adds an :class:`Issue` and goes on, so one pass reports all
errors of a file. Imports ``schema``, ``loader``, ``expressions``,
``durations``, ``errors``; never storage or runtime.
"""

from flowengine.checks.flow import FlowChecker
from flowengine.checks.walk import (
    ParsedFlow,
    Scope,
    events_of,
    iter_scopes,
    subflow_cycles,
    template_names,
    unreplied_ends,
)

__all__ = [
    "FlowChecker",
    "ParsedFlow",
    "Scope",
    "events_of",
    "iter_scopes",
    "subflow_cycles",
    "template_names",
    "unreplied_ends",
]

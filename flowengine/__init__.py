"""flowengine: declarative YAML workflows for municipal work charts.

The public API is re-exported here; heavy modules load on first use so that
``import flowengine`` and the CLI stay fast.
"""

from __future__ import annotations

from flowengine.errors import (
    ConcurrentUpdate,
    ConfigurationError,
    DefinitionError,
    FlowEngineError,
    GuardRefused,
    IdempotencyConflict,
    InvalidData,
    Issue,
    NotFound,
    PermissionDenied,
    StateWaiting,
    StorageError,
    TransitionNotAllowed,
    UnknownFlow,
    UnknownInstance,
    UnknownPerson,
)

__version__ = "0.1.0"

__all__ = [
    "ConcurrentUpdate",
    "ConfigurationError",
    "DefinitionError",
    "FlowEngineError",
    "GuardRefused",
    "IdempotencyConflict",
    "InvalidData",
    "Issue",
    "NotFound",
    "PermissionDenied",
    "StateWaiting",
    "StorageError",
    "TransitionNotAllowed",
    "UnknownFlow",
    "UnknownInstance",
    "UnknownPerson",
    "__version__",
]

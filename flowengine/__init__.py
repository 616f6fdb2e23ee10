"""flowengine: declarative YAML workflows for municipal work charts.

The public API is importable from here::

    from flowengine import Engine, Worker, TransitionNotAllowed

Every name loads its module on first use (PEP 562), so ``import flowengine``
and the CLI's start-up pay for nothing they do not touch. ``CsrfRefused`` is
the web layer's own :class:`PermissionDenied` and is not exported: the library
never imports the web layer.
"""

from __future__ import annotations

import importlib

# not typing's: importing typing would be most of what ``import flowengine`` costs
# (type checkers treat any constant named TYPE_CHECKING as true)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from flowengine.durations import DurationSyntaxError as DurationSyntaxError
    from flowengine.engine import Engine as Engine
    from flowengine.engine import InstanceView as InstanceView
    from flowengine.errors import AuthenticationFailed as AuthenticationFailed
    from flowengine.errors import ConcurrentUpdate as ConcurrentUpdate
    from flowengine.errors import ConfigurationError as ConfigurationError
    from flowengine.errors import DefinitionError as DefinitionError
    from flowengine.errors import DeliveryError as DeliveryError
    from flowengine.errors import DuplicateKey as DuplicateKey
    from flowengine.errors import FlowEngineError as FlowEngineError
    from flowengine.errors import GuardRefused as GuardRefused
    from flowengine.errors import IdempotencyConflict as IdempotencyConflict
    from flowengine.errors import InvalidData as InvalidData
    from flowengine.errors import Issue as Issue
    from flowengine.errors import NotFound as NotFound
    from flowengine.errors import PermissionDenied as PermissionDenied
    from flowengine.errors import StateWaiting as StateWaiting
    from flowengine.errors import StorageError as StorageError
    from flowengine.errors import TooManyAttempts as TooManyAttempts
    from flowengine.errors import TransitionNotAllowed as TransitionNotAllowed
    from flowengine.errors import UnknownFlow as UnknownFlow
    from flowengine.errors import UnknownInstance as UnknownInstance
    from flowengine.errors import UnknownPerson as UnknownPerson
    from flowengine.expressions import ExpressionError as ExpressionError
    from flowengine.instance import Effect as Effect
    from flowengine.instance import HistoryEntry as HistoryEntry
    from flowengine.instance import Instance as Instance
    from flowengine.instance import Notification as Notification
    from flowengine.instance import OutboxItem as OutboxItem
    from flowengine.instance import Person as Person
    from flowengine.instance import RoleGrant as RoleGrant
    from flowengine.instance import Timer as Timer
    from flowengine.instance import WorkItem as WorkItem
    from flowengine.loader import YamlLoadError as YamlLoadError
    from flowengine.worker import Worker as Worker

__version__ = "0.1.0"

# public name → the module that defines it (kept in step with the imports above
# by tests/unit/test_public_api.py)
_HOMES = {
    "Engine": "flowengine.engine",
    "InstanceView": "flowengine.engine",
    "Worker": "flowengine.worker",
    **dict.fromkeys(
        (
            "Effect",
            "HistoryEntry",
            "Instance",
            "Notification",
            "OutboxItem",
            "Person",
            "RoleGrant",
            "Timer",
            "WorkItem",
        ),
        "flowengine.instance",
    ),
    **dict.fromkeys(
        (
            "AuthenticationFailed",
            "ConcurrentUpdate",
            "ConfigurationError",
            "DefinitionError",
            "DeliveryError",
            "DuplicateKey",
            "FlowEngineError",
            "GuardRefused",
            "IdempotencyConflict",
            "InvalidData",
            "Issue",
            "NotFound",
            "PermissionDenied",
            "StateWaiting",
            "StorageError",
            "TooManyAttempts",
            "TransitionNotAllowed",
            "UnknownFlow",
            "UnknownInstance",
            "UnknownPerson",
        ),
        "flowengine.errors",
    ),
    "DurationSyntaxError": "flowengine.durations",
    "ExpressionError": "flowengine.expressions",
    "YamlLoadError": "flowengine.loader",
}

__all__ = sorted([*_HOMES, "__version__"])


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flowengine' has no attribute '{name}'")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup skips __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})

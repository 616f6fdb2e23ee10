"""The exceptions flowengine raises, all rooted in :class:`FlowEngineError`.

This module imports nothing from flowengine, so every layer may use it.

    FlowEngineError
    ├── DefinitionError          a flow or organisation file is not valid (carries issues)
    │   └── YamlLoadError        loader.py: the file is not flowengine YAML (carries its issue)
    ├── NotFound
    │   ├── UnknownFlow
    │   ├── UnknownInstance
    │   └── UnknownPerson
    ├── TransitionNotAllowed     the event is not one of the current state's events
    ├── StateWaiting             the state's work waits for a mutex another state holds
    ├── PermissionDenied         the actor does not hold the role the step needs
    │   └── CsrfRefused          web/security.py: a signed-in change without its CSRF token
    ├── InvalidData              data does not fit the flow's fields (carries field paths)
    ├── GuardRefused             the event's `when` guard is false, or fails
    ├── ExpressionError          expressions.py: a CEL expression does not compile or fails
    ├── DurationSyntaxError      durations.py: not a duration such as `3d` (also a ValueError)
    ├── ConcurrentUpdate         someone else changed the instance first
    ├── IdempotencyConflict      a key was reused with a different request
    ├── ConfigurationError       a bad option, URL or setting
    ├── StorageError             the database failed (the driver's error is `__cause__`)
    │   └── DuplicateKey         a unique or primary key is taken
    ├── DeliveryError            a connector did not get an effect through; it is retried
    ├── AuthenticationFailed     a password, session or token identified nobody
    └── TooManyAttempts          failed logins or status lookups are throttled

A class defined elsewhere names its module; the tree is checked against the
classes by ``tests/unit/test_errors.py``.

Every message is one line that says what is wrong and what to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Issue:
    """One finding of validation, pointing at a place in a file."""

    path: str
    line: int
    column: int
    severity: Severity
    message: str
    code: str = ""

    def format(self) -> str:
        """Render as ``path:line:col: error: message``, the form compilers use."""
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` when a close match exists, else ``""``."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


class FlowEngineError(Exception):
    """Base of every error flowengine raises on purpose."""


class DefinitionError(FlowEngineError):
    """One or more flow files are not valid; ``issues`` lists every error found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        first = errors[0].format() if errors else "invalid flow definition"
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(first + more)


class NotFound(FlowEngineError):
    """Something named by the user does not exist."""


class UnknownFlow(NotFound):
    def __init__(self, flow: str, known: Iterable[str] = ()) -> None:
        self.flow = flow
        known = list(known)
        hint = did_you_mean(flow, known)
        listing = f"; known flows: {', '.join(sorted(known))}" if known and not hint else ""
        super().__init__(f"unknown flow '{flow}'{hint}{listing}")


class UnknownInstance(NotFound):
    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(
            f"no instance with reference or id '{ref}'; list them with 'flowengine instances'"
        )


class UnknownPerson(NotFound):
    def __init__(self, person: str) -> None:
        self.person = person
        super().__init__(
            f"unknown person '{person}'; add them with "
            f"'flowengine people add {person} --name … --role …'"
        )


class TransitionNotAllowed(FlowEngineError):
    """The event does not leave the instance's current state."""

    def __init__(self, ref: str, event: str, state: str, allowed: Sequence[str]) -> None:
        self.ref, self.event, self.state, self.allowed = ref, event, state, list(allowed)
        hint = did_you_mean(event, allowed)
        options = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"{ref}: event '{event}' is not possible in state '{state}'{hint}; "
            f"possible events: {options}"
        )


class StateWaiting(FlowEngineError):
    """The state's work waits for a mutex another state holds."""

    def __init__(self, ref: str, state: str, mutex: str, holder: str) -> None:
        self.ref, self.state, self.mutex, self.holder = ref, state, mutex, holder
        super().__init__(
            f"{ref}: '{state}' waits for '{mutex}', which '{holder}' holds; "
            "it can be worked on once that step is done"
        )


class PermissionDenied(FlowEngineError):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class InvalidData(FlowEngineError):
    """Data does not fit the flow's fields; ``problems`` maps field path → message."""

    def __init__(self, problems: dict[str, str], context: str = "") -> None:
        self.problems = dict(problems)
        text = "; ".join(f"{k}: {v}" for k, v in sorted(self.problems.items()))
        prefix = f"{context}: " if context else ""
        super().__init__(f"{prefix}invalid data: {text}")


class GuardRefused(FlowEngineError):
    """The event's ``when`` condition is false, or could not be evaluated (``reason``)."""

    def __init__(self, ref: str, event: str, guard: str, reason: str | None = None) -> None:
        self.ref, self.event, self.guard, self.reason = ref, event, guard, reason
        why = f"could not be evaluated ({reason})" if reason else "is false"
        super().__init__(f"{ref}: event '{event}' refused: its condition `{guard}` {why}")


class ConcurrentUpdate(FlowEngineError):
    def __init__(self, ref: str, current_version: int, changed_by: str, changed_at: str) -> None:
        self.ref, self.current_version = ref, current_version
        self.changed_by, self.changed_at = changed_by, changed_at
        super().__init__(
            f"{ref} was changed by {changed_by} at {changed_at} "
            f"(now version {current_version}); reload it and retry"
        )


class IdempotencyConflict(FlowEngineError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"idempotency key '{key}' was already used for a different request; "
            "use a new key for a new request"
        )


class ConfigurationError(FlowEngineError):
    pass


class StorageError(FlowEngineError):
    pass


class DeliveryError(FlowEngineError):
    """An effect could not be delivered this time; it will be retried.

    Raised by connectors (``flowengine.connectors``); it lives here so that a
    connector module need not import its own package's registry.
    """


class AuthenticationFailed(FlowEngineError):
    """A password, session or API token did not identify anyone."""


class TooManyAttempts(FlowEngineError):
    """Too many failed attempts from one place or for one account; wait and retry."""

    def __init__(self, what: str, retry_after: int) -> None:
        self.what, self.retry_after = what, retry_after
        super().__init__(
            f"too many failed {what} attempts; wait {retry_after} seconds and try again"
        )


class DuplicateKey(StorageError):
    """A row's unique or primary key is taken (a racing twin, a reused key)."""

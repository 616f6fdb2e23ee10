"""Crash points for the reliability tests (failpoints, as TiKV and etcd have them).

With ``FLOWENGINE_CRASH_AT=<point>`` in its environment, a process kills itself
with SIGKILL when it reaches that point, exactly as a power cut or ``kill -9``
would stop it there. The tests use it to prove that nothing is half-applied.
Unset (always, in production), :func:`point` is one comparison.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_instance_write",  # the instance row is written, its history not yet
    "after_history_insert",  # instance and history written, the transaction not committed
    "after_commit",  # committed, the command's answer not yet printed
    "during_delivery",  # an effect handed to its connector, not yet marked delivered
    "after_one_migration",  # one instance migrated and committed, the others not yet
)

_CRASH_AT = os.environ.get("FLOWENGINE_CRASH_AT")


def point(name: str) -> None:
    """Die here, at once and without cleanup, if the environment asks for it."""
    if name == _CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)

"""One command, one transaction: idempotency keys, and refusals audited in a
transaction of their own after the command's rolled back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flowengine import faults
from flowengine.engine.context import Context
from flowengine.errors import DuplicateKey, IdempotencyConflict, PermissionDenied, UnknownInstance
from flowengine.instance import Instance
from flowengine.storage.ports import UnitOfWork


def refusal(
    exc: PermissionDenied, instance_id: str | None, flow: str | None, actor: str, action: str
) -> PermissionDenied:
    """Attach what the audit record needs to a refusal on its way out."""
    exc.audit = (instance_id, flow, actor, action)  # type: ignore[attr-defined]
    return exc


def request_hash(*parts: Any) -> str:
    """What a command asked, to tell a repeated idempotency key from a reused one."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reload(unit: UnitOfWork, instance_id: str) -> Instance:
    instance = unit.load_instance(instance_id)
    if instance is None:
        raise UnknownInstance(instance_id)
    return instance


class Transactions:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def command(
        self, key: str | None, request: str, run: Callable[[UnitOfWork], Instance]
    ) -> Instance:
        """Run one command in one transaction, with idempotency and refusal auditing.

        A repeated ``key`` returns the instance it produced; the same key with another
        request is an :class:`IdempotencyConflict`. Two racing commands with one key
        collide on its primary key; the loser returns the winner's result.
        """
        try:
            with self.ctx.store.unit() as unit:
                if key:
                    repeated = self._repeated(unit, key, request)
                    if repeated:
                        return repeated
                saved = run(unit)
                if key:
                    unit.remember_idempotent(
                        key, request, saved.id, saved.row_version, self.ctx.clock()
                    )
                answer = saved  # exactly what was written; no second round trip
            faults.point("after_commit")
            return answer
        except PermissionDenied as exc:
            self.record_refusal(exc)
            raise
        except DuplicateKey:
            if key:
                return self._after_race(key, request)
            raise

    def audit_refusal(self, ref: str, actor: str, action: str, reason: str) -> None:
        """Record a refused action on ``ref`` (after its own transaction rolled back)."""
        with self.ctx.store.unit() as unit:
            instance = unit.load_instance(ref)
            unit.record_refusal(
                instance.id if instance else None,
                instance.flow if instance else None,
                actor,
                action,
                reason,
                self.ctx.clock(),
            )

    def record_refusal(self, exc: PermissionDenied) -> None:
        """Audit a refusal in its own transaction, after the command's own rolled back."""
        audit: tuple[str | None, str | None, str, str] | None = getattr(exc, "audit", None)
        if audit is None:
            return
        instance_id, flow, actor, action = audit
        with self.ctx.store.unit() as unit:
            unit.record_refusal(instance_id, flow, actor, action, str(exc), self.ctx.clock())

    def _repeated(self, unit: UnitOfWork, key: str, request: str) -> Instance | None:
        seen = unit.idempotent_result(key)
        if seen is None:
            return None
        request_hash, instance_id, _ = seen
        if request_hash != request:
            raise IdempotencyConflict(key)
        return reload(unit, instance_id)

    def _after_race(self, key: str, request: str) -> Instance:
        with self.ctx.store.unit(writes=False) as unit:
            repeated = self._repeated(unit, key, request)
        if repeated is None:
            raise IdempotencyConflict(key)
        return repeated

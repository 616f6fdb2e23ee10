"""The worker: fires due timers and delivers recorded effects, until told to stop.

Owns the delivery loop: effects are leased in a batch (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so workers never wait for or share an item), handed to their
connector with the effect's idempotency key, then marked delivered, or retried
with exponential backoff and jitter, or dead-lettered after
``max_attempts``. A failed delivery never touches the workflow itself. A worker
killed while delivering loses nothing: its lease expires and another takes the
item again (at least once). Timers are fired one per transaction by
:meth:`Engine.fire_due_timer`.

Logs carry ids, kinds, counts and error classes, never effect contents (which
may hold personal data).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

from flowengine import faults
from flowengine.config import DeliverySettings
from flowengine.connectors import Connector, DeliveryError, build_connectors
from flowengine.engine import Engine
from flowengine.instance import OutboxItem

log = logging.getLogger("flowengine.worker")


@dataclass
class TickResult:
    """What one pass did."""

    timers_fired: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def add(self, other: TickResult) -> None:
        self.timers_fired += other.timers_fired
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead

    @property
    def busy(self) -> bool:
        return bool(self.timers_fired or self.delivered or self.retried or self.dead)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        connectors: dict[str, Connector] | None = None,
        settings: DeliverySettings | None = None,
        worker_id: str | None = None,
        config: dict[str, object] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or DeliverySettings()
        self.connectors = (
            connectors if connectors is not None else build_connectors(config or {}, engine.store)
        )
        self.worker_id = worker_id or default_worker_id()
        self.stop = threading.Event()

    def backoff(self, attempts: int) -> timedelta:
        """Exponential delay before attempt ``attempts + 1``, with jitter (50–100 %)."""
        delay = min(self.settings.max_delay, self.settings.base_delay * 2 ** (attempts - 1))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter

    def fire_timers(self, limit: int = 1000) -> int:
        fired = 0
        while fired < limit and not self.stop.is_set():
            if not self.engine.fire_due_timer(self.worker_id):
                break
            fired += 1
        if fired:
            log.info("timers fired count=%d worker=%s", fired, self.worker_id)
        return fired

    def deliver(self, limit: int = 100) -> TickResult:
        result = TickResult()
        with self.engine.outbox_rows() as unit:
            now = self.engine.due_clock(unit)
            lease = now + timedelta(seconds=self.settings.lease)
            items = unit.claim_outbox(now, self.worker_id, lease, limit)
        for item in items:
            if self.stop.is_set():
                break  # unclaimed items' leases expire; another pass takes them
            self._deliver_one(item, result)
        return result

    def _deliver_one(self, item: OutboxItem, result: TickResult) -> None:
        attempts = item.attempts + 1
        connector = self.connectors.get(item.kind)
        error: str | None = None
        try:
            if connector is None:
                raise DeliveryError(f"no connector for effect kind '{item.kind}'")
            connector.deliver(item)
            faults.point("during_delivery")
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a third-party connector's own failure: record, retry
            error = f"{type(exc).__name__} in connector for '{item.kind}'"
        with self.engine.outbox_rows() as unit:
            now = self.engine.due_clock(unit)
            if error is None:
                unit.finish_delivery(
                    item.id, self.worker_id, status="delivered", attempts=attempts, now=now
                )
                result.delivered += 1
                log.info("effect delivered id=%d kind=%s attempt=%d", item.id, item.kind, attempts)
            elif attempts >= self.settings.max_attempts:
                unit.finish_delivery(
                    item.id, self.worker_id, status="dead", attempts=attempts, now=now, error=error
                )
                result.dead += 1
                log.error("effect dead id=%d kind=%s attempts=%d", item.id, item.kind, attempts)
            else:
                unit.finish_delivery(
                    item.id,
                    self.worker_id,
                    status="failed",
                    attempts=attempts,
                    now=now,
                    next_attempt_at=now + self.backoff(attempts),
                    error=error,
                )
                result.retried += 1
                log.warning(
                    "effect failed id=%d kind=%s attempt=%d will retry",
                    item.id,
                    item.kind,
                    attempts,
                )

    def tick(self) -> TickResult:
        """One pass: every due timer, then one batch of deliverable effects."""
        result = TickResult(timers_fired=self.fire_timers())
        result.add(self.deliver())
        return result

    def run(self, interval: float = 1.0) -> TickResult:
        """Tick until :attr:`stop` is set, sleeping ``interval`` when idle."""
        total = TickResult()
        while not self.stop.is_set():
            result = self.tick()
            total.add(result)
            if not result.busy:
                self.stop.wait(interval)
        return total

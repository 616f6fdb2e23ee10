"""Peak memory of a worker firing 100,000 due timers: it must stay flat, not grow.

The timers (Bizim Masa's 7-day reminder on cases waiting in a directorate) are
generated straight into an SQLite database; a fresh worker process then fires
them all, in the batches `flowengine worker` uses, and reports its resident
memory (VmRSS) as it goes and its peak (VmHWM) at the end. Flat means the
memory after the last timer is close to the memory after the first thousand.

FLOWENGINE_BENCH_TIMERS overrides the count.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import emit

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
BATCH = 10_000


def _rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _generate(url: str, count: int) -> None:
    from sqlalchemy import insert

    from flowengine.engine import Engine
    from flowengine.storage.tables import instances, timers, work_items

    engine = Engine.open(url, FLOWS, upgrade=True)
    engine.deploy()
    now = datetime.now(UTC)
    with engine.store.engine.begin() as connection:
        for first in range(0, count, BATCH):
            rows, items, due = [], [], []
            for i in range(first, min(first + BATCH, count)):
                iid = str(uuid.UUID(int=i + 1))
                opened = now - timedelta(days=8)
                rows.append(
                    {
                        "id": iid, "reference": f"ZMN-{i:07d}", "flow": "bizim_masa",
                        "version": 1, "states": ["mudurluk_incelemesi"], "status": "active",
                        "data": {"konu": "Kaldırım onarımı", "mudurluk": "fen_isleri"},
                        "row_version": 2, "created_at": opened, "updated_at": opened,
                        "updated_by": "gen",
                    }
                )  # fmt: skip
                items.append(
                    {
                        "instance_id": iid, "state": "mudurluk_incelemesi",
                        "role": "ilgili_mudurluk", "assignee": "fen_isleri",
                        "title": "Müdürlük incelemesi", "opened_at": opened,
                    }
                )  # fmt: skip
                due.append(
                    {
                        "instance_id": iid, "state": "mudurluk_incelemesi", "timer_index": 0,
                        "after": "7d", "due_at": opened + timedelta(days=7),
                        "status": "pending", "created_at": opened,
                    }
                )  # fmt: skip
            connection.execute(insert(instances), rows)
            connection.execute(insert(work_items), items)
            connection.execute(insert(timers), due)
    engine.close()


def _work(url: str, count: int, queue: multiprocessing.Queue[Any]) -> None:
    from flowengine.engine import Engine
    from flowengine.worker import Worker

    engine = Engine.open(url, FLOWS)
    worker = Worker(engine, connectors={}, worker_id="bench-memory")
    samples: list[tuple[int, float]] = [(0, _rss_mib())]
    fired = 0
    started = time.perf_counter()
    while fired < count:
        batch = worker.fire_timers(limit=1000)
        if not batch:
            break
        fired += batch
        samples.append((fired, _rss_mib()))
    elapsed = time.perf_counter() - started
    engine.close()
    queue.put((fired, elapsed, samples, _rss_mib("VmHWM")))


def main() -> None:
    count = int(os.environ.get("FLOWENGINE_BENCH_TIMERS", "100000"))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/timers.db"
        _generate(url, count)
        queue: multiprocessing.Queue[Any] = multiprocessing.Queue()
        process = multiprocessing.Process(target=_work, args=(url, count, queue))
        process.start()
        fired, elapsed, samples, peak = queue.get(timeout=3600)
        process.join()
    after_first = next(rss for n, rss in samples if n >= min(1000, fired))
    last = samples[-1][1]
    print(f"worker memory firing {fired:,} due timers (SQLite, one process)")
    for n, rss in samples:
        if n in (0, 1000, 10_000, 50_000) or n == fired:
            print(f"  after {n:>7,} timers: {rss:7.1f} MiB resident")
    growth = last - after_first
    print(f"  peak (VmHWM): {peak:.1f} MiB; growth after the first 1,000: {growth:+.1f} MiB")
    print(f"  timers fired per second: {fired / elapsed:.0f}")
    emit(
        "memory",
        {
            "timers": fired,
            "rss_mib_after_1000": round(after_first, 1),
            "rss_mib_at_end": round(last, 1),
            "peak_rss_mib": round(peak, 1),
            "growth_ratio_end_vs_1000": round(last / after_first, 3),
            "timers_per_s": round(fired / elapsed, 1),
        },
    )

"""Timers fired and effects delivered per second, with 1 and 4 worker processes.

PostgreSQL only (a scratch database on the server of FLOWENGINE_BENCH_POSTGRES_URL
or FLOWENGINE_TEST_POSTGRES_URL):
that is where several workers share the work with SKIP LOCKED. Each round
generates its cases through the engine, makes every timer due by the database's
clock, then times the workers draining first the timers, then the outbox (in-app
notices). The ratio 4 workers / 1 worker is the scaling figure. Times include
each worker process starting (about 0.6 s), so small rounds understate the rate.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import BIZIM_MASA_PAYLOAD, emit, postgres_server_url, scratch_postgres
from flowengine.engine import Engine
from flowengine.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"


def _prepare(url: str, cases: int) -> None:
    """Cases referred to a directorate, every timer due by the database's clock."""
    engine = create_engine(url)
    flowengine = Engine.open(url, FLOWS, upgrade=True)
    flowengine.add_person("ayse", "Ayşe", ["bizim_masa"])
    for _ in range(cases):
        case = flowengine.start("bizim_masa", BIZIM_MASA_PAYLOAD, actor="ayse")
        flowengine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    flowengine.close()
    with engine.begin() as connection:
        connection.execute(text("UPDATE timers SET due_at = now() - interval '1 minute'"))
        connection.execute(text("DELETE FROM outbox"))  # time only what the timers produce
    engine.dispose()


def _drain(url: str, what: str) -> None:
    engine = Engine.open(url, FLOWS)
    worker = Worker(engine)
    if what == "timers":
        while worker.fire_timers(limit=50):
            pass
    else:
        while worker.deliver(limit=50).busy:
            pass
    engine.close()


def _timed(url: str, what: str, workers: int) -> float:
    processes = [multiprocessing.Process(target=_drain, args=(url, what)) for _ in range(workers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return time.perf_counter() - started


def main() -> None:
    server = postgres_server_url()
    if not server:
        print("delivery: set FLOWENGINE_BENCH_POSTGRES_URL to a PostgreSQL server")
        return
    cases = int(os.environ.get("FLOWENGINE_BENCH_CASES", "300"))
    figures: dict[str, float] = {}
    for workers in (1, 4):
        with scratch_postgres(server) as url:
            _prepare(url, cases)
            timers = 2 * cases
            figures[f"timers_per_s_{workers}w"] = timers / _timed(url, "timers", workers)
            figures[f"effects_per_s_{workers}w"] = timers / _timed(url, "effects", workers)
    print(f"delivery on PostgreSQL ({2 * cases} timers, then their {2 * cases} notices)")
    for key, value in figures.items():
        print(f"  {key:24s} {value:10.1f}")
    timer_ratio = figures["timers_per_s_4w"] / figures["timers_per_s_1w"]
    effect_ratio = figures["effects_per_s_4w"] / figures["effects_per_s_1w"]
    print(
        f"  4 workers / 1 worker: timers {timer_ratio:.2f}×, effects {effect_ratio:.2f}×"
        " (2 cores: the ceiling is about 2×)"
    )
    emit("delivery", {k: round(v, 1) for k, v in figures.items()})

"""Persisted steps per second for Bizim Masa, and the `tasks` inbox with 100,000 cases.

Figures: one process on SQLite and PostgreSQL (when FLOWENGINE_BENCH_POSTGRES_URL
or FLOWENGINE_TEST_POSTGRES_URL is set), two processes on distinct instances,
and the median latency of `Engine.tasks` with 100,000 instances in the table.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import BIZIM_MASA_PAYLOAD, emit, postgres_server_url, scratch_postgres
from flowengine.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"


def _case(engine: Engine) -> int:
    """One Bizim Masa case start to end: 4 persisted steps."""
    case = engine.start("bizim_masa", BIZIM_MASA_PAYLOAD, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.fire(case.reference, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    engine.fire(case.reference, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Tamam."})
    return 4


def _prepare(url: str) -> None:
    engine = Engine.open(url, FLOWS, upgrade=True)
    engine.add_person("ayse", "Ayşe", ["bizim_masa"])
    engine.add_person("mehmet", "Mehmet", ["ilgili_mudurluk:fen_isleri"])
    engine.close()


def _worker(url: str, cases: int, queue: multiprocessing.Queue[float]) -> None:
    engine = Engine.open(url, FLOWS)
    _case(engine)  # warm-up
    started = time.perf_counter()
    steps = sum(_case(engine) for _ in range(cases))
    queue.put(steps / (time.perf_counter() - started))
    engine.close()


def steps_per_second(url: str, processes: int, cases: int) -> float:
    queue: multiprocessing.Queue[float] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_worker, args=(url, cases, queue)) for _ in range(processes)
    ]
    for w in workers:
        w.start()
    rates = [queue.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    return sum(rates)


def tasks_latency(url: str, count: int) -> float:
    """Median seconds of `tasks()` with ``count`` instances generated into the tables."""
    from sqlalchemy import insert

    from flowengine.storage.tables import instances, work_items

    engine = Engine.open(url, FLOWS, upgrade=True)
    now = datetime.now(UTC)
    batch = 5000
    with engine.store.engine.begin() as connection:
        for start in range(0, count, batch):
            rows, items = [], []
            for i in range(start, min(start + batch, count)):
                iid = str(uuid.uuid4())
                rows.append(
                    {
                        "id": iid, "reference": f"GEN-{i:07d}", "flow": "bizim_masa",
                        "version": 1, "states": ["mudurluk_incelemesi"], "status": "active",
                        "data": {"konu": "Üretilmiş kayıt"}, "row_version": 2,
                        "created_at": now, "updated_at": now, "updated_by": "gen",
                    }
                )  # fmt: skip
                items.append(
                    {
                        "instance_id": iid, "state": "mudurluk_incelemesi",
                        "role": "ilgili_mudurluk", "assignee": f"d{i % 20}", "title": "İnceleme",
                        "opened_at": now, "due_at": now + timedelta(days=i % 30),
                        # most generated work is already closed, as in a real year
                        "closed_at": None if i % 50 == 0 else now,
                    }
                )  # fmt: skip
            connection.execute(insert(instances), rows)
            connection.execute(insert(work_items), items)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        engine.tasks("mehmet")
        times.append(time.perf_counter() - started)
    engine.close()
    return statistics.median(times[1:])


def main() -> None:
    cases = int(os.environ.get("FLOWENGINE_BENCH_CASES", "150"))
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        _prepare(url)
        figures["sqlite_steps_per_s_1proc"] = steps_per_second(url, 1, cases)
        figures["sqlite_steps_per_s_2proc"] = steps_per_second(url, 2, cases)
        inbox_url = f"sqlite:///{folder}/inbox.db"
        _prepare(inbox_url)
        figures["sqlite_tasks_ms_100k"] = tasks_latency(inbox_url, 100_000) * 1000
    server = postgres_server_url()
    if server:
        with scratch_postgres(server) as pg:
            _prepare(pg)
            figures["postgres_steps_per_s_1proc"] = steps_per_second(pg, 1, cases)
            figures["postgres_steps_per_s_2proc"] = steps_per_second(pg, 2, cases)
    print("persisted steps (Bizim Masa, 4 steps a case, ~1 KB payload)")
    for key, value in figures.items():
        print(f"  {key:32s} {value:10.1f}")
    if "postgres_steps_per_s_1proc" in figures:
        ratio = figures["postgres_steps_per_s_2proc"] / figures["postgres_steps_per_s_1proc"]
        print(f"  PostgreSQL 2 processes / 1 process: {ratio:.2f}×")
    ratio = figures["sqlite_steps_per_s_2proc"] / figures["sqlite_steps_per_s_1proc"]
    print(f"  SQLite 2 processes / 1 process: {ratio:.2f}× (one writer at a time by design)")
    emit("steps", {k: round(v, 1) for k, v in figures.items()})

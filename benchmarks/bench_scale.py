"""Latency of the read commands as the tables grow: 10,000 / 100,000 / 1,000,000 instances.

The rows are generated straight into the tables (a year of Bizim Masa cases,
all closed but 1,000 open ones spread over five directorates, a third overdue),
then `tasks` (the inbox), `instances --overdue` and `status` are timed through
the `Engine`, as the CLI calls them. The table grows in place, so each size is
measured on the same database. The figure that matters is the ratio of the
largest size to the smallest: cost should follow the answer, not the table.

FLOWENGINE_BENCH_SCALES overrides the sizes (e.g. ``10000,100000``).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import emit, postgres_server_url, scratch_postgres, spread
from flowengine.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
DIRECTORATES = ("fen_isleri", "zabita", "park_ve_bahceler", "temizlik_isleri", "imar")
BATCH = 10_000


def _generate(engine: Engine, start: int, stop: int) -> None:
    """Insert instances ``start`` .. ``stop - 1`` with their work items."""
    from sqlalchemy import insert

    from flowengine.storage.tables import instances, work_items

    now = datetime.now(UTC)
    with engine.store.engine.begin() as connection:
        for first in range(start, stop, BATCH):
            rows, items = [], []
            for i in range(first, min(first + BATCH, stop)):
                iid = str(uuid.UUID(int=i + 1))
                # 1,000 cases open at any size, as at a real desk; the rest of the
                # year is closed. Open cases are from the last 45 days, so about a
                # third of them are past the 30-day deadline.
                open_case = i < 10_000 and i % 10 == 0
                if open_case:
                    created = now - timedelta(days=i % 45, minutes=i % 600)
                else:
                    created = now - timedelta(minutes=i % 525_600)
                rows.append(
                    {
                        "id": iid, "reference": f"GEN-{i:07d}", "flow": "bizim_masa",
                        "version": 1,
                        "states": ["mudurluk_incelemesi"] if open_case else ["cozuldu"],
                        "status": "active" if open_case else "completed",
                        "outcome": None if open_case else "resolved",
                        "data": {"konu": "Üretilmiş kayıt", "mahalle": "Sakarya"},
                        "row_version": 2, "created_at": created, "updated_at": created,
                        "updated_by": "gen", "due_at": created + timedelta(days=30),
                    }
                )  # fmt: skip
                items.append(
                    {
                        "instance_id": iid, "state": "mudurluk_incelemesi",
                        "role": "ilgili_mudurluk",
                        "assignee": DIRECTORATES[i % len(DIRECTORATES)],
                        "title": "Müdürlük incelemesi", "opened_at": created,
                        "due_at": created + timedelta(days=10),
                        "closed_at": None if open_case else created + timedelta(days=3),
                        "closed_by": None if open_case else "gen",
                    }
                )  # fmt: skip
            connection.execute(insert(instances), rows)
            connection.execute(insert(work_items), items)


def _latency(fn: Callable[[], Any], rounds: int = 9) -> dict[str, float]:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(times) * 1000, "spread": spread(times)}


def _measure(label: str, url: str, scales: list[int]) -> dict[str, Any]:
    engine = Engine.open(url, FLOWS, upgrade=True)
    engine.add_person("mehmet", "Mehmet Şahin", ["ilgili_mudurluk:fen_isleri"])
    engine.add_person("ayse", "Ayşe Demir", ["bizim_masa"])
    figures: dict[str, Any] = {}
    have = 0
    for size in scales:
        started = time.perf_counter()
        _generate(engine, have, size)
        have = size
        print(f"  {label}: {size:,} instances generated in {time.perf_counter() - started:.0f} s")
        with engine.store.engine.begin() as connection:
            from sqlalchemy import text

            connection.execute(text("ANALYZE"))
        middle = f"GEN-{size // 2:07d}"  # a case in the middle of the table
        figures[f"{label}_tasks_{size}"] = _latency(lambda: engine.tasks("mehmet"))
        figures[f"{label}_overdue_{size}"] = _latency(lambda: engine.instances(overdue=True))
        figures[f"{label}_status_{size}"] = _latency(lambda m=middle: engine.view(m, "ayse"))
    engine.close()
    smallest, largest = scales[0], scales[-1]
    for query in ("tasks", "overdue", "status"):
        figures[f"{label}_{query}_growth_{largest}_vs_{smallest}"] = (
            figures[f"{label}_{query}_{largest}"]["median_ms"]
            / figures[f"{label}_{query}_{smallest}"]["median_ms"]
        )
    return figures


def main() -> None:
    scales = [
        int(s) for s in os.environ.get("FLOWENGINE_BENCH_SCALES", "10000,100000,1000000").split(",")
    ]
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        figures.update(_measure("sqlite", f"sqlite:///{folder}/scale.db", scales))
    server = postgres_server_url()
    if server:
        with scratch_postgres(server) as pg:
            figures.update(_measure("postgres", pg, scales))
    print("read latency as the tables grow (median of 9, ms)")
    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"  {key:40s} {value['median_ms']:9.2f} ms  (spread {value['spread']:.0%})")
        else:
            print(f"  {key:40s} {value:9.2f}×  (target ≤ 2×; inbox under 50 ms)")
    emit(
        "scale",
        {k: round(v["median_ms"] if isinstance(v, dict) else v, 3) for k, v in figures.items()},
    )

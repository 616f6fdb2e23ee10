"""Timing helpers shared by the benchmarks: warm-up, rounds, median and spread."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any


def spread(values: list[float]) -> float:
    """(max - min) / median: how far apart the rounds were."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def measure(fn: Callable[[], Any], *, rounds: int = 5, warmup: int = 1) -> dict[str, float]:
    """Run ``fn`` ``warmup`` times unmeasured, then ``rounds`` times; seconds per run."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "spread": spread(times),
    }


def emit(name: str, figures: dict[str, Any]) -> None:
    print(json.dumps({"benchmark": name, **figures}, ensure_ascii=False))


# A Bizim Masa request as it arrives: realistic Turkish text, about 1 KB in all.
BIZIM_MASA_PAYLOAD = {
    "kanal": "whatsapp",
    "basvuru_turu": "sikayet",
    "ad_soyad": "Zeynep Kaya",
    "konu": "Sokak lambası yanmıyor",
    "metin": "Sakarya Mahallesi 12. sokaktaki aydınlatma direği üç gündür yanmıyor. " * 12,
}


def postgres_server_url() -> str | None:
    """The PostgreSQL server to benchmark on, if any (a scratch database is made there)."""
    return os.environ.get("FLOWENGINE_BENCH_POSTGRES_URL") or os.environ.get(
        "FLOWENGINE_TEST_POSTGRES_URL"
    )


@contextlib.contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for one benchmark, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"flowengine_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

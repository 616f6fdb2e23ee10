"""Persisted steps per second, beside the limit of the storage and the state-machine floor.

Two workloads, both with a realistic Turkish payload of about 1 KB:

* Bizim Masa, start to end (start + 3 steps, one person per role);
* the press flow's approval loop: the Director rejects, the three preparation
  branches are redone, again and again (4 steps a round).

Each figure is the median of several rounds after a warm-up, with its spread,
and is divided by a baseline measured in the same run (``baselines.py``): the
bare writes of a step by plain SQLAlchemy Core on the same database, and the same
events on a bare ``transitions`` machine. PostgreSQL (when
FLOWENGINE_BENCH_POSTGRES_URL or FLOWENGINE_TEST_POSTGRES_URL is set) runs in a
scratch database, with 1, 2 and 4 processes on distinct instances.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baselines import machine_floor_events_per_second, storage_limit_steps_per_second
from benchmarks.common import (
    BIZIM_MASA_PAYLOAD,
    emit,
    postgres_server_url,
    scratch_postgres,
    spread,
)
from flowengine.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
ROUNDS = int(os.environ.get("FLOWENGINE_BENCH_ROUNDS", "3"))

PRESS_PAYLOAD = {
    "kaynak": "mudurlukler",
    "baslik": "Sahil yolu yenileme çalışması tamamlandı",
    "aciklama": "Ayvalık sahil yolunda kaldırım ve aydınlatma yenilendi. " * 10,
}


def _case(engine: Engine) -> int:
    """One Bizim Masa case start to end: 4 persisted steps."""
    case = engine.start("bizim_masa", BIZIM_MASA_PAYLOAD, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.fire(case.reference, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    engine.fire(case.reference, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Tamam."})
    return 4


def _press_to_approval(engine: Engine) -> str:
    """A press release carried to the Director's approval; returns its reference."""
    case = engine.start("basin_yayin", PRESS_PAYLOAD, actor="elif")
    ref = case.reference
    engine.fire(ref, "planla", "elif")
    engine.fire(ref, "gerek_yok", "elif", comment="Çalışma bitmiş.")
    engine.fire(ref, "kaydedildi", "elif", data={"sonrasi_kayitlar": ["sonra.jpg"]})
    _prepare_release(engine, ref, 0)
    return ref


def _prepare_release(engine: Engine, ref: str, round_: int) -> None:
    engine.fire(ref, "gerek_yok", "elif", state="montaj")
    engine.fire(ref, "tamamlandi", "elif", state="gorsel_tasarim", data={"gorseller": ["a.png"]})
    engine.fire(
        ref,
        "tamamlandi",
        "elif",
        state="haber_metni_yazimi",
        data={"haber_metni": f"Düzeltilmiş haber metni, {round_}. tur. " * 20},
    )


def _approval_round(engine: Engine, ref: str, round_: int) -> int:
    """The Director rejects; the three branches are redone: 4 persisted steps."""
    engine.fire(ref, "reject", "mudur", comment="Görseller yeniden düzenlensin.")
    _prepare_release(engine, ref, round_)
    return 4


def _prepare(url: str) -> None:
    engine = Engine.open(url, FLOWS, upgrade=True)
    engine.add_person("ayse", "Ayşe Demir", ["bizim_masa"])
    engine.add_person("mehmet", "Mehmet Şahin", ["ilgili_mudurluk:fen_isleri"])
    engine.add_person("elif", "Elif Yıldız", ["basin_yayin_tanitim"])
    engine.add_person("mudur", "Arda Bayri", ["mudur"])
    engine.close()


def _workload(name: str, engine: Engine, cases: int) -> tuple[int, list[float]]:
    """Run ``cases`` units of the workload; (steps, seconds of each unit)."""
    latencies: list[float] = []
    steps = 0
    if name == "bizim_masa":
        for _ in range(cases):
            started = time.perf_counter()
            steps += _case(engine)
            latencies.append(time.perf_counter() - started)
        return steps, latencies
    ref = _press_to_approval(engine)
    for round_ in range(cases):
        started = time.perf_counter()
        steps += _approval_round(engine, ref, round_)
        latencies.append(time.perf_counter() - started)
    return steps, latencies


def _worker(url: str, name: str, cases: int, queue: multiprocessing.Queue[Any]) -> None:
    engine = Engine.open(url, FLOWS)
    _workload(name, engine, max(cases // 10, 2))  # warm-up: caches, prepared statements
    started = time.perf_counter()
    steps, latencies = _workload(name, engine, cases)
    queue.put((steps / (time.perf_counter() - started), latencies))
    engine.close()


def run(url: str, name: str, processes: int, cases: int) -> tuple[float, list[float]]:
    """Steps/s summed over ``processes`` processes, and every unit's latency."""
    queue: multiprocessing.Queue[Any] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_worker, args=(url, name, cases, queue))
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    results = [queue.get(timeout=900) for _ in workers]
    for w in workers:
        w.join()
    return sum(r[0] for r in results), [x for r in results for x in r[1]]


def _rounds(fn: Callable[[], float]) -> dict[str, float]:
    values = [fn() for _ in range(ROUNDS)]
    return {"median": statistics.median(values), "spread": spread(values)}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _backend(label: str, url: str, cases: int, process_counts: tuple[int, ...]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    limit = _rounds(lambda: storage_limit_steps_per_second(url, 1500))
    figures[f"{label}_storage_limit_steps_per_s"] = limit
    for name in ("bizim_masa", "basin_onay_dongusu"):
        latencies: list[float] = []

        def one(processes: int, name: str = name, latencies: list[float] = latencies) -> float:
            rate, lat = run(url, name, processes, cases)
            latencies.extend(lat)
            return rate

        single = _rounds(lambda: one(1))
        figures[f"{label}_{name}_steps_per_s_1proc"] = single
        figures[f"{label}_{name}_vs_storage_limit"] = single["median"] / limit["median"]
        unit = "case_ms" if name == "bizim_masa" else "round_ms"
        figures[f"{label}_{name}_{unit}_p50"] = _percentile(latencies, 0.5) * 1000
        figures[f"{label}_{name}_{unit}_p95"] = _percentile(latencies, 0.95) * 1000
        for processes in process_counts:
            many = _rounds(lambda processes=processes: one(processes))
            figures[f"{label}_{name}_steps_per_s_{processes}proc"] = many
            figures[f"{label}_{name}_scaling_{processes}proc"] = many["median"] / single["median"]
    return figures


def main() -> None:
    cases = int(os.environ.get("FLOWENGINE_BENCH_CASES", "150"))
    figures: dict[str, Any] = {}
    floor = _rounds(lambda: machine_floor_events_per_second(200_000))
    figures["transitions_floor_events_per_s"] = floor
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        _prepare(url)
        figures.update(_backend("sqlite", url, cases, (2,)))
    server = postgres_server_url()
    if server:
        with scratch_postgres(server) as pg:
            _prepare(pg)
            figures.update(_backend("postgres", pg, cases, (2, 4)))
    else:
        print("  (PostgreSQL skipped: set FLOWENGINE_BENCH_POSTGRES_URL)")
    for key, value in list(figures.items()):
        if key.endswith("_steps_per_s_1proc"):
            figures[key.replace("_steps_per_s_1proc", "_vs_transitions_floor")] = (
                value["median"] / floor["median"]
            )
    _print(figures)
    emit(
        "steps",
        {
            k: round(v["median"] if isinstance(v, dict) else v, 4 if "_vs_" in k else 1)
            for k, v in figures.items()
        },
    )


def _print(figures: dict[str, Any]) -> None:
    print(f"persisted steps (~1 KB Turkish payload; median of {ROUNDS} rounds)")
    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"  {key:48s} {value['median']:10.1f}  (spread {value['spread']:.0%})")
        elif "_vs_" in key or "scaling" in key:
            print(f"  {key:48s} {value:10.3f}×")
        else:
            print(f"  {key:48s} {value:10.1f}")

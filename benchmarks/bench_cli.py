"""CLI cold start: whole `flowengine` processes, as an operator waits for them.

Baseline in the same run: `python -c pass` (the interpreter alone). Each command
is started afresh every round, after one unmeasured run (so the page cache is
warm and the SQLite database exists and is upgraded).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import emit, spread

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 9


def _time(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    times = []
    for round_ in range(ROUNDS + 1):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, cwd=ROOT)
        if round_:  # the first run warms up
            times.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(times) * 1000, "spread": spread(times)}


def main() -> None:
    flowengine = [sys.executable, "-m", "flowengine"]
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "FLOWENGINE_DATABASE_URL": f"sqlite:///{folder}/cli.db",
            "NO_COLOR": "1",
        }
        subprocess.run(
            [*flowengine, "people", "add", "mehmet", "--name", "Mehmet Şahin",
             "--role", "ilgili_mudurluk:fen_isleri"],
            env=env, check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        figures = {
            "python_pass": _time([sys.executable, "-c", "pass"], env),
            "help": _time([*flowengine, "--help"], env),
            "validate_seeds": _time([*flowengine, "validate", "flows"], env),
            "tasks": _time([*flowengine, "tasks", "--as", "mehmet"], env),
            "instances": _time([*flowengine, "instances"], env),
        }
    base = figures["python_pass"]["median_ms"]
    print(f"CLI cold start, whole processes (median of {ROUNDS}, ms)")
    for name, value in figures.items():
        ratio = value["median_ms"] / base
        print(
            f"  {name:16s} {value['median_ms']:8.1f} ms  ({ratio:4.1f}× python -c pass; "
            f"spread {value['spread']:.0%})"
        )
    print("  target: flowengine --help under 300 ms")
    emit("cli", {f"{k}_ms": round(v["median_ms"], 1) for k, v in figures.items()})

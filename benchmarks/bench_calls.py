"""Python function calls and SQL statements per persisted step: figures that
do not move with the machine's load.

On a shared 2-core machine steps/s swing by a fifth between runs; what a step
*does* does not. cProfile counts every Python call of the benchmark's two
workloads (``bench_steps``) on a fresh SQLite file, and a SQLAlchemy event
counts the statements sent, after a warm-up. Compare these between commits to
see whether a change added work to the hot path; compare steps/s for what it
costs in time.
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

from benchmarks.bench_steps import FLOWS, _approval_round, _case, _prepare, _press_to_approval
from benchmarks.common import emit
from flowengine.engine import Engine

STEPS = 200


def _count(engine: Engine, work: Callable[[], int]) -> tuple[float, float]:
    """(Python calls, SQL statements) per persisted step of ``work``, run until STEPS."""
    statements = 0

    def _sent(*_: object) -> None:
        nonlocal statements
        statements += 1

    sql_engine = engine.store.engine  # type: ignore[attr-defined]
    event.listen(sql_engine, "before_cursor_execute", _sent)
    profile = cProfile.Profile()
    steps = 0
    profile.enable()
    while steps < STEPS:
        steps += work()
    profile.disable()
    event.remove(sql_engine, "before_cursor_execute", _sent)
    return pstats.Stats(profile).total_calls / steps, statements / steps  # type: ignore[attr-defined]


def main() -> None:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'calls.db'}"
        _prepare(url)
        engine = Engine.open(url, FLOWS)
        for _ in range(10):
            _case(engine)  # warm-up: caches, compiled statements
        calls, sent = _count(engine, lambda: _case(engine))
        figures["bizim_masa_python_calls_per_step"] = round(calls)
        figures["bizim_masa_sql_statements_per_step"] = round(sent, 2)
        ref = _press_to_approval(engine)
        rounds = iter(range(10**6))
        for _ in range(10):
            _approval_round(engine, ref, next(rounds))
        calls, sent = _count(engine, lambda: _approval_round(engine, ref, next(rounds)))
        figures["basin_onay_dongusu_python_calls_per_step"] = round(calls)
        figures["basin_onay_dongusu_sql_statements_per_step"] = round(sent, 2)
        engine.close()
    emit("calls", figures)


if __name__ == "__main__":
    main()

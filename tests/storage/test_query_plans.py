"""Reads whose cost must follow the answer, not the table, use indexes (SQLite's EXPLAIN).

The statements explained are the ones the engine really sends, captured as they go:
the inbox, `instances --overdue`, `status`, a step's own reads, the due-timer claim.
benchmarks/bench_scale.py measures the same commands at 10,000 to 1,000,000 cases.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event

from flowengine.engine import Engine
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

GROWING_TABLES = ("instances", "work_items", "timers", "history", "outbox")


def _plans(path: Path, sent: list[tuple[str, Any]]) -> dict[str, str]:
    plans = {}
    with sqlite3.connect(path) as connection:
        for statement, parameters in sent:
            if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans[statement] = "\n".join(str(row[-1]) for row in rows.fetchall())
    return plans


def test_reads_search_growing_tables_by_index(tmp_path: Path) -> None:
    """No `SCAN` of a table that grows with the years: instances, work, timers, history."""
    path = tmp_path / "plans.db"
    engine = Engine.open(f"sqlite:///{path}", FLOWS, upgrade=True)
    add_people(engine)
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine.store.engine, "before_cursor_execute")
    def _capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.tasks("mehmet")
    engine.instances(overdue=True)
    engine.view(case.reference, "ayse")
    engine.fire_due_timer("plan-test")
    engine.close()
    plans = _plans(path, sent)
    wanted = {
        "inbox": "FROM work_items JOIN instances",
        "overdue": "instances.due_at <",
        "instance with its work": "LEFT OUTER JOIN work_items",
        "timer claim": "FROM timers JOIN instances",
    }
    for name, marker in wanted.items():
        assert any(marker in statement for statement in plans), f"no {name} query sent"
    for statement, plan in plans.items():
        for table in GROWING_TABLES:
            assert f"SCAN {table}" not in plan, f"{plan}\n-- for --\n{statement}"
    overdue = next(plan for statement, plan in plans.items() if "instances.due_at <" in statement)
    assert "ix_instances_due" in overdue, overdue

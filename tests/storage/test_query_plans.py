"""The inbox and the due-timer claim use indexes, not scans (SQLite's planner, EXPLAIN).

The statements explained are the ones the engine really sends, captured as they go.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event

from flowengine.engine import Engine
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people


def test_inbox_and_timer_queries_search_by_index(tmp_path: Path) -> None:
    """No `SCAN work_items` or `SCAN timers`: their cost follows open work, not the table."""
    path = tmp_path / "plans.db"
    engine = Engine.open(f"sqlite:///{path}", FLOWS, upgrade=True)
    add_people(engine)
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine.store.engine, "before_cursor_execute")
    def _capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    engine.tasks("mehmet")
    engine.fire_due_timer("plan-test")
    engine.close()
    inbox = [s for s in sent if "FROM work_items JOIN instances" in s[0]]
    timers = [s for s in sent if "FROM timers JOIN instances" in s[0]]
    assert inbox and timers, [s for s, _ in sent]
    with sqlite3.connect(path) as connection:
        for statement, parameters in inbox + timers:
            rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            steps = "\n".join(str(row[-1]) for row in rows)
            assert "SCAN work_items" not in steps and "SCAN timers" not in steps, steps
            assert "USING INDEX" in steps, steps

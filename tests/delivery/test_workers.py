"""Several worker processes against one database: every timer fires exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from flowengine.engine import Engine
from tests.conftest import FLOWS, ROOT
from tests.engine.helpers import LAMBA, add_people

CASES = 500  # two timers each (7d and 10d): 1,000 timers


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = int(connection.execute(text(sql)).scalar_one())
    engine.dispose()
    return value


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.acceptance
def test_four_workers_fire_a_thousand_timers_exactly_once_even_after_kill_9(
    postgres_url: str,
) -> None:
    """4 worker processes, one killed with SIGKILL mid-run: no timer lost or fired twice."""
    db_url = postgres_url
    engine = Engine.open(db_url, FLOWS)
    add_people(engine)
    for _ in range(CASES):
        case = engine.start("bizim_masa", LAMBA, actor="ayse")
        engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.close()
    # Make every timer due by the database's clock (what the workers judge by).
    writer = create_engine(db_url)
    with writer.begin() as connection:
        connection.execute(text("UPDATE timers SET due_at = now() - interval '1 minute'"))
    writer.dispose()
    assert count(db_url, "SELECT count(*) FROM timers WHERE status = 'pending'") == 2 * CASES

    command = [
        sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(FLOWS),
        "worker", "--interval", "0.2",
    ]  # fmt: skip
    workers = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(4)
    ]
    try:
        deadline = time.monotonic() + 60
        while count(db_url, "SELECT count(*) FROM timers WHERE status = 'fired'") < 100:
            assert time.monotonic() < deadline, "workers fired nothing"
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        while count(db_url, "SELECT count(*) FROM timers WHERE status = 'pending'") > 0:
            assert time.monotonic() < deadline, "timers left pending"
            time.sleep(0.2)
    finally:
        for process in workers[1:]:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in workers]
    assert codes[0] == -signal.SIGKILL
    assert codes[1:] == [0, 0, 0], "a worker did not stop cleanly on SIGTERM"
    assert count(db_url, "SELECT count(*) FROM timers WHERE status = 'fired'") == 2 * CASES
    assert count(db_url, "SELECT count(*) FROM history WHERE event = 'timer'") == 2 * CASES
    doubled = count(
        db_url,
        "SELECT count(*) FROM (SELECT instance_id, comment FROM history WHERE event = 'timer' "
        "GROUP BY instance_id, comment HAVING count(*) > 1) AS d",
    )
    assert doubled == 0

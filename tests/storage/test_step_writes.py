"""A step's writes go together or not at all, whether sent one by one or as one statement.

On PostgreSQL a step is one UPDATE carrying its history, work, timer and outbox
rows as data-modifying CTEs; these tests hold both backends to the same result.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flowengine import runtime
from flowengine.engine import Engine
from flowengine.errors import ConcurrentUpdate
from flowengine.storage import tables as t
from tests.engine.helpers import LAMBA, add_people


def _counts(engine: Engine, instance_id: str) -> dict[str, int]:
    with engine.store.engine.connect() as connection:
        return {
            table.name: connection.execute(
                select(func.count()).select_from(table).where(table.c.instance_id == instance_id)
            ).scalar_one()
            for table in (t.history, t.work_items, t.timers, t.outbox)
        }


def test_a_step_writes_history_work_timers_and_effects(engine: Engine) -> None:
    add_people(engine)
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    before = _counts(engine, case.id)
    moved = engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    after = _counts(engine, case.id)
    assert moved.states == ("mudurluk_incelemesi",)
    assert after["history"] == before["history"] + 1
    assert after["work_items"] == before["work_items"] + 1  # the directorate's item
    assert after["timers"] == before["timers"] + 2  # 7-day reminder, 10-day escalation
    with engine.store.unit(writes=False) as unit:
        assert list(unit.open_items(case.id)) == ["mudurluk_incelemesi"]
    assert engine.get(case.reference).data["mudurluk"] == "fen_isleri"


def test_a_stale_version_leaves_none_of_the_step(engine: Engine) -> None:
    add_people(engine)
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    before = _counts(engine, case.id)
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    stale = case  # row_version of the start, now behind
    after_fire = _counts(engine, case.id)

    definition = engine.definition("bizim_masa")
    person = engine.person("ayse")
    result = runtime.fire(
        definition,
        stale,
        "havale_et",
        person,
        {"mudurluk": "zabita"},
        None,
        engine.clock() + timedelta(seconds=1),
        engine.timezone,
        work={},
    )
    with pytest.raises(ConcurrentUpdate), engine.store.unit() as unit:
        engine.save_step(unit, result, stale, definition)
    assert _counts(engine, case.id) == after_fire != before
    assert engine.get(case.reference).data["mudurluk"] == "fen_isleri"


def test_timers_of_a_completed_case_are_cancelled(engine: Engine) -> None:
    add_people(engine)
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.fire(case.reference, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    engine.fire(case.reference, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Tamam."})
    with engine.store.engine.connect() as connection:
        statuses = connection.execute(
            select(t.timers.c.status).where(t.timers.c.instance_id == case.id)
        ).scalars()
        assert set(statuses) == {"cancelled"}

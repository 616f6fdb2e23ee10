"""The hash chain: intact histories verify; each kind of tampering is named."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from flowengine import trust
from flowengine.engine import Engine
from flowengine.instance import Instance
from tests.engine.helpers import LAMBA


def resolved_case(engine: Engine) -> Instance:
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    engine.fire(case.reference, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    return engine.fire(
        case.reference, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Lamba onarıldı."}
    )


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.store.engine.begin() as connection:
        connection.execute(text(statement), params)


def problems(engine: Engine) -> list[str | None]:
    return [f.problem for f in trust.verify(engine)]


def test_untouched_histories_verify_and_replay(engine: Engine) -> None:
    """A case run to its end verifies, and its history rebuilds exactly what is stored."""
    resolved_case(engine)
    engine.start("bizim_masa", LAMBA, actor="ayse")
    assert problems(engine) == [None, None]
    assert [f.problem for f in trust.replay(engine)] == [None, None]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            "UPDATE history SET comment = 'sonradan eklendi' WHERE seq = 2",
            "row 2 was changed (its hash does not match its content)",
        ),
        (
            "UPDATE history SET actor = 'mehmet' WHERE seq = 1",
            "row 1 was changed (its hash does not match its content)",
        ),
        ("DELETE FROM history WHERE seq = 3", "row 3 is missing (found seq 4 in its place)"),
        (
            "UPDATE history SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 END WHERE seq IN (2, 3)",
            "row 2 does not follow row 1 (rows deleted or reordered)",
        ),
    ],
)
def test_tampering_is_named_at_its_row(engine: Engine, tamper: str, expected: str) -> None:
    """Edited, deleted and reordered rows are each reported at the first broken row."""
    case = resolved_case(engine)
    if "CASE seq" in tamper:  # two-step swap: the unique (instance, seq) index forbids one step
        sql(engine, "UPDATE history SET seq = 1000 WHERE seq = 2")
        sql(engine, "UPDATE history SET seq = 2 WHERE seq = 3")
        sql(engine, "UPDATE history SET seq = 3 WHERE seq = 1000")
    else:
        sql(engine, tamper)
    [finding] = trust.verify(engine, case.reference)
    assert finding.problem == expected


def test_a_changed_personal_value_is_caught(engine: Engine) -> None:
    """Rewriting the citizen's name in the start row breaks that row's digest."""
    case = resolved_case(engine)
    rows = engine.history(case.reference)
    changes = dict(rows[0].changes)
    changes["ad_soyad"] = [None, "Başka Biri"]
    import json

    sql(engine, "UPDATE history SET changes = :c WHERE seq = 1", c=json.dumps(changes))
    assert problems(engine) == ["row 1: the value of 'ad_soyad' was changed"]


def test_a_forged_row_at_the_end_is_caught(engine: Engine) -> None:
    """A row appended behind the engine's back does not match the recorded head."""
    case = resolved_case(engine)
    last = len(engine.history(case.reference, "ayse"))
    sql(
        engine,
        "INSERT INTO history"
        " (instance_id, seq, event, actor, at, changes, digests, prev_hash, hash)"
        " SELECT instance_id, seq + 1, 'sahte', actor, at, changes, digests, hash, hash"
        f" FROM history WHERE seq = {last}",
    )
    [finding] = trust.verify(engine, case.reference)
    assert finding.problem == f"row {last + 1} was changed (its hash does not match its content)"


def test_a_truncated_tail_is_caught_by_the_checkpoint(engine: Engine) -> None:
    """Cutting the last row and rewinding the head passes inside the database; the
    checkpoint kept outside catches it."""
    case = resolved_case(engine)
    last = len(engine.history(case.reference, "ayse"))
    saved = trust.checkpoint(engine)
    with engine.store.engine.begin() as connection:
        previous = connection.execute(
            text("SELECT hash FROM history WHERE seq = :s AND instance_id = :i"),
            {"s": last - 1, "i": case.id},
        ).scalar_one()
        connection.execute(text("DELETE FROM history WHERE seq = :s"), {"s": last})
        connection.execute(
            text("UPDATE instances SET history_head = :h, row_version = :v WHERE id = :i"),
            {"h": previous, "v": last - 1, "i": case.id},
        )
    assert problems(engine) == [None]
    [finding] = trust.verify_checkpoint(engine, saved)
    assert finding.problem == f"had {last} rows at the checkpoint, now {last - 1}"

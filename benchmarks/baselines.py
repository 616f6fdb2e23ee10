"""The two baselines every step figure is divided by, measured in the same run.

*Storage limit*: the rows one step writes, by plain SQLAlchemy Core on flowengine's
own schema and connection settings (WAL + ``synchronous=FULL`` + ``BEGIN IMMEDIATE``
on SQLite): update the instance row with a version check, insert the history row,
close the open work item and insert the next one, one transaction per step. No
reads, no permission checks, no audit chain: what the database alone costs.

*State-machine floor*: the same event sequence on a bare ``transitions`` machine
in memory, nothing persisted.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import BIZIM_MASA_PAYLOAD

# Bizim Masa's states in the order a case walks them, and the event leaving each.
BIZIM_MASA_PATH = (
    ("degerlendirme", "havale_et", "mudurluk_incelemesi"),
    ("mudurluk_incelemesi", "cevap_ver", "vatandasa_donus"),
    ("vatandasa_donus", "geri_donus_yap", "cozuldu"),
)


def storage_limit_steps_per_second(url: str, steps: int) -> float:
    """Steps/s of the bare writes of a step, one transaction each (see module doc)."""
    from sqlalchemy import bindparam, insert, update

    from flowengine.storage.sql import create_db_engine
    from flowengine.storage.tables import history, instances, work_items

    engine = create_db_engine(url)
    now = datetime.now(UTC)
    instance_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            insert(instances).values(
                id=instance_id, reference=f"LIMIT-{instance_id[:8]}", flow="bizim_masa",
                version=1, states=["degerlendirme"], status="active",
                data=BIZIM_MASA_PAYLOAD, row_version=0, created_at=now, updated_at=now,
                updated_by="ayse",
            )
        )  # fmt: skip
    bump = (
        update(instances)
        .where(instances.c.id == bindparam("b_id"), instances.c.row_version == bindparam("b_rv"))
        .values(
            states=bindparam("states"),
            data=bindparam("data"),
            row_version=bindparam("row_version"),
            updated_at=bindparam("updated_at"),
            updated_by=bindparam("updated_by"),
        )
    )
    close = (
        update(work_items)
        .where(
            work_items.c.instance_id == bindparam("b_id"),
            work_items.c.state == bindparam("b_state"),
            work_items.c.closed_at.is_(None),
        )
        .values(closed_at=bindparam("closed_at"), closed_by=bindparam("closed_by"))
    )
    add_history = insert(history)
    add_work = insert(work_items)
    data = dict(BIZIM_MASA_PAYLOAD)
    started = time.perf_counter()
    for seq in range(1, steps + 1):
        source, event, target = BIZIM_MASA_PATH[seq % len(BIZIM_MASA_PATH)]
        at = datetime.now(UTC)
        data["adim"] = seq
        with engine.connect() as connection, connection.begin():
            result = connection.execute(
                bump,
                {
                    "b_id": instance_id, "b_rv": seq - 1, "states": [target], "data": data,
                    "row_version": seq, "updated_at": at, "updated_by": "ayse",
                },
            )  # fmt: skip
            if result.rowcount != 1:
                raise RuntimeError("storage limit: version check failed")
            connection.execute(
                add_history,
                {
                    "instance_id": instance_id, "seq": seq, "event": event,
                    "from_state": source, "to_state": target, "actor": "ayse", "at": at,
                    "changes": {"adim": seq}, "digests": {"adim": "0" * 64},
                    "prev_hash": "0" * 64, "hash": "1" * 64,
                },
            )  # fmt: skip
            connection.execute(
                close,
                {"b_id": instance_id, "b_state": source, "closed_at": at, "closed_by": "ayse"},
            )
            connection.execute(
                add_work,
                {
                    "instance_id": instance_id, "state": target, "role": "bizim_masa",
                    "assignee": None, "title": "Değerlendirme", "opened_at": at,
                },
            )  # fmt: skip
    elapsed = time.perf_counter() - started
    engine.dispose()
    return steps / elapsed


def machine_floor_events_per_second(events: int) -> float:
    """Events/s of Bizim Masa's path on a bare in-memory ``transitions`` machine."""
    from transitions import Machine

    states = sorted({s for step in BIZIM_MASA_PATH for s in (step[0], step[2])})
    transitions_list: list[dict[str, Any]] = [
        {"trigger": event, "source": source, "dest": target}
        for source, event, target in BIZIM_MASA_PATH
    ]
    # back to the start, so the loop can run as long as asked
    transitions_list.append({"trigger": "yeniden", "source": "cozuldu", "dest": "degerlendirme"})
    machine = Machine(
        model=None,
        states=states,
        transitions=transitions_list,
        initial="degerlendirme",
        auto_transitions=False,
    )

    class Case:
        state = "degerlendirme"

    sequence = [event for _, event, _ in BIZIM_MASA_PATH] + ["yeniden"]
    started = time.perf_counter()
    fired = 0
    while fired < events:
        case = Case()
        machine.add_model(case, initial="degerlendirme")
        for event in sequence:
            machine.events[event].trigger(case)
        machine.remove_model(case)
        fired += len(sequence)
    return fired / (time.perf_counter() - started)

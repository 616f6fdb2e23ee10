"""Records for the contract suite: instances, history, work and effects with Turkish text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flowengine.audit import GENESIS, SealedEntry
from flowengine.instance import Effect, HistoryEntry, Instance, Timer, WorkItem
from flowengine.storage.ports import StepWrites, UnitOfWork

NOW = datetime(2026, 5, 18, 7, 30, 15, 123456, tzinfo=UTC)
TURKISH = "Şişli'de çarşı ışıkları yanmıyor; İğdır, Ödemiş, Ümraniye — ğüşıöç ĞÜŞİÖÇ"


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def instance(reference: str = "BM-2026-000001", **changes: Any) -> Instance:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "reference": reference,
        "flow": "bizim_masa",
        "version": 1,
        "states": ("degerlendirme",),
        "status": "active",
        "data": {"konu": TURKISH, "ad_soyad": "Zeynep Kaya", "ekler": ["a.jpg"], "sayi": 3},
        "row_version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        "updated_by": "ayşe",
        "audit_salt": "00ff" * 8,
        "history_head": "a" * 64,
    }
    values.update(changes)
    return Instance(**values)


def sealed(case: Instance, seq: int, event: str = "baslat", **changes: Any) -> SealedEntry:
    entry = HistoryEntry(
        instance_id=case.id,
        seq=seq,
        event=event,
        from_state=None if seq == 1 else "degerlendirme",
        to_state="degerlendirme",
        actor="ayşe",
        at=at(seq),
        changes=changes or {"konu": [None, TURKISH]},
        comment=f"{seq}. adım: {TURKISH}",
    )
    return SealedEntry(entry, {"konu": ["d1", "d2"]}, GENESIS, f"{seq:064d}")


def work(case: Instance, state: str = "degerlendirme", **changes: Any) -> WorkItem:
    values: dict[str, Any] = {
        "instance_id": case.id,
        "state": state,
        "role": "bizim_masa",
        "assignee": None,
        "opened_at": NOW,
        "due_at": None,
        "title": f"Değerlendir: {TURKISH}",
    }
    values.update(changes)
    return WorkItem(**values)


def effect(case: Instance, kind: str = "email", state: str = "degerlendirme") -> Effect:
    return Effect(case.id, kind, {"subject": TURKISH, "to": ["vatandas@ornek.tr"]}, state)


def timer(case: Instance, due: datetime, state: str = "bekleme", index: int = 0) -> Timer:
    return Timer(case.id, state, index, "3d", due)


def start(unit: UnitOfWork, case: Instance, **writes: Any) -> Instance:
    """Write ``case`` as a new instance with its first history row (and ``writes``)."""
    values: dict[str, Any] = {
        "instance": case,
        "previous": None,
        "history": [sealed(case, 1)],
        "closed": [],
        "opened": [],
        "cancel_timers": [],
        "timers": [],
        "effects": [],
        "now": NOW,
    }
    values.update(writes)
    unit.write_step(StepWrites(**values))
    return case


def step(unit: UnitOfWork, previous: Instance, **writes: Any) -> Instance:
    """Write the next step of ``previous``: one more history row and row version."""
    after = previous.evolve(
        row_version=previous.row_version + 1,
        updated_at=at(previous.row_version),
        updated_by="mehmet",
        states=writes.pop("states", previous.states),
        data=writes.pop("data", previous.data),
    )
    values: dict[str, Any] = {
        "instance": after,
        "previous": previous,
        "history": [sealed(previous, previous.row_version + 1, "havale_et")],
        "closed": [],
        "opened": [],
        "cancel_timers": [],
        "timers": [],
        "effects": [],
        "now": at(previous.row_version),
    }
    values.update(writes)
    unit.write_step(StepWrites(**values))
    return after

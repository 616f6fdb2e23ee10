"""Acting authority (vekalet): a delegate acts in the role for a period, recorded as such."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from flowengine import trust
from flowengine.engine import Engine
from flowengine.errors import InvalidData, PermissionDenied
from tests.conftest import FLOWS
from tests.engine.helpers import add_people


@pytest.fixture
def clocked(db_url: str) -> Iterator[tuple[Engine, list[datetime]]]:
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]  # 12:00 in Istanbul
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=lambda: now[0])
    add_people(engine)
    engine.add_person("vekil", "Deniz Vekil", ["basin_yayin_tanitim"])
    yield engine, now
    engine.close()


def test_a_delegate_approves_recorded_with_both_names_until_the_period_ends(
    clocked: tuple[Engine, list[datetime]],
) -> None:
    """The Director is on leave 1–3 December: the delegate approves as 'acting for';
    on 4 December the same approval is refused."""
    engine, now = clocked
    engine.delegate("arda", "vekil", "mudur", date(2026, 12, 1), date(2026, 12, 3), "yıllık izin")
    case = engine.start("basin_yayin", {"kaynak": "mudurlukler", "baslik": "Fuar"}, "basin")
    ref = case.reference
    for event, data, state in (
        ("planla", {}, None), ("gerek_yok", {}, None),
        ("kaydedildi", {"sonrasi_kayitlar": ["a.jpg"]}, None),
        ("gerek_yok", {}, "montaj"), ("tamamlandi", {"gorseller": ["g.png"]}, "gorsel_tasarim"),
        ("tamamlandi", {"haber_metni": "Metin"}, "haber_metni_yazimi"),
    ):  # fmt: skip
        engine.fire(ref, event, "basin", data=data, state=state)
    assert [t.state for t in engine.tasks("vekil") if t.reference == ref] == ["mudur_onayi"]
    engine.fire(ref, "approve", "vekil")
    approval = engine.history(ref)[-1]
    assert (approval.event, approval.actor, approval.acting_for) == ("approve", "vekil", "arda")
    assert engine.acting_title(ref, approval) == "Müdür V."
    assert [f.problem for f in trust.verify(engine, ref)] == [None]
    engine.fire(ref, "reject", "baskan", comment="Başlık değişsin.")
    for event, data, state in (
        ("gerek_yok", {}, "montaj"), ("tamamlandi", {"gorseller": ["g.png"]}, "gorsel_tasarim"),
        ("tamamlandi", {"haber_metni": "Metin 2"}, "haber_metni_yazimi"),
    ):  # fmt: skip
        engine.fire(ref, event, "basin", data=data, state=state)
    now[0] = datetime(2026, 12, 3, 20, 59, tzinfo=UTC)  # 23:59 on the last day, Istanbul
    assert "approve" in engine.allowed_events(ref, "vekil")
    now[0] += timedelta(minutes=2)  # 00:01 on 4 December
    with pytest.raises(PermissionDenied):
        engine.fire(ref, "approve", "vekil")
    assert engine.fire(ref, "approve", "arda").states == ("baskan_onayi",)
    assert engine.history(ref)[-1].acting_for is None


def test_only_a_held_role_can_be_delegated(clocked: tuple[Engine, list[datetime]]) -> None:
    """Nobody delegates a role they do not hold; the period must make sense."""
    engine, _ = clocked
    with pytest.raises(InvalidData, match="does not hold baskan"):
        engine.delegate("arda", "vekil", "baskan", date(2026, 12, 1), date(2026, 12, 2), "izin")
    with pytest.raises(InvalidData, match="is before"):
        engine.delegate("arda", "vekil", "mudur", date(2026, 12, 5), date(2026, 12, 2), "izin")
    assert engine.delegations() == []

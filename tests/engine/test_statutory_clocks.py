"""Statutory clocks on Bizim Masa: Law 3071, Law 4982 in working days across the
bayrams, pause and resume (audited), the extension rule, the final reply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flowengine.engine import Engine
from flowengine.errors import InvalidData
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, add_people

ISTANBUL = ZoneInfo("Europe/Istanbul")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ISTANBUL).astimezone(UTC)


def last_moment(year: int, month: int, day: int) -> datetime:
    """The law counts days in Istanbul: a deadline is the end of its last day."""
    return datetime(year, month, day, 23, 59, 59, tzinfo=ISTANBUL)


@pytest.fixture
def clock() -> Clock:
    return Clock(at(2026, 5, 18))  # a Monday, the day before 19 Mayıs


@pytest.fixture
def desk(db_url: str, clock: Clock) -> Iterator[Engine]:
    engine = Engine.open(db_url, FLOWS, upgrade=True, clock=clock)
    add_people(engine)
    yield engine
    engine.close()


def request(engine: Engine, basis: str) -> str:
    return engine.start("bizim_masa", {**LAMBA, "yasal_dayanak": basis}, actor="ayse").reference


def test_a_petition_has_thirty_calendar_days(desk: Engine) -> None:
    case = desk.get(request(desk, "dilekce_3071"))
    assert case.due_at == last_moment(2026, 6, 17)
    assert case.clock is not None and case.clock["basis"] == "dilekce_3071"


def test_information_requests_count_working_days_across_kurban_bayrami(desk: Engine) -> None:
    """15 working days from Monday 18 May 2026 skip 19 Mayıs, the weekends and
    Kurban Bayramı (27–30 May): they end on Friday 12 June."""
    case = desk.get(request(desk, "bilgi_edinme_4982"))
    assert case.due_at == last_moment(2026, 6, 12)


def test_working_days_across_ramazan_bayrami(desk: Engine, clock: Clock) -> None:
    """From Monday 16 March 2026, 15 working days skip Ramazan Bayramı (Friday 20
    March; its Saturday and Sunday are weekend anyway): 7 April."""
    clock.now = at(2026, 3, 16)
    assert desk.get(request(desk, "bilgi_edinme_4982")).due_at == last_moment(2026, 4, 7)


def test_a_pause_moves_the_deadline_by_the_time_it_stood(desk: Engine, clock: Clock) -> None:
    ref = request(desk, "dilekce_3071")
    clock.now += timedelta(days=2)
    paused = desk.fire(ref, "bilgi_iste", "ayse", comment="Adres eksik, tamamlanması istendi.")
    assert paused.due_at is None and paused.clock and paused.clock["paused_at"]
    assert ref not in {i.reference for i in desk.instances(overdue=True)}
    clock.now += timedelta(days=10)
    resumed = desk.fire(ref, "bilgi_geldi", "ayse")
    # 17 June + the 10 days it stood is Saturday 27 June: the next working day
    assert resumed.due_at == last_moment(2026, 6, 29)
    notes = [h.comment for h in desk.history(ref, "ayse") if h.event == "clock"]
    assert notes[0] == "yasal süre durduruldu" and "yeniden başladı" in (notes[1] or "")


def test_a_working_day_clock_stands_for_working_days(desk: Engine, clock: Clock) -> None:
    """Due Wednesday 24 June; paused Monday 8 to Thursday 11 June it stood three
    working days, so it is due Monday 29 June (not Saturday 27)."""
    clock.now = at(2026, 6, 3)
    ref = request(desk, "bilgi_edinme_4982")
    assert desk.get(ref).due_at == last_moment(2026, 6, 24)
    clock.now = at(2026, 6, 8, 9)
    desk.fire(ref, "bilgi_iste", "ayse", comment="Dilekçe imzasız.")
    clock.now = at(2026, 6, 11, 16)
    assert desk.fire(ref, "bilgi_geldi", "ayse").due_at == last_moment(2026, 6, 29)


def test_an_answer_late_on_the_last_day_is_on_time(desk: Engine, clock: Clock) -> None:
    ref = request(desk, "dilekce_3071")  # due 17 June
    desk.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    desk.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    clock.now = at(2026, 6, 17, 22)
    desk.fire(ref, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Onarıldı."})
    notes = [h.comment for h in desk.history(ref, "ayse") if h.event == "clock"]
    assert notes == ["son cevap verildi, yasal sürede"]


def test_the_legal_basis_cannot_change_after_the_start(desk: Engine) -> None:
    ref = request(desk, "bilgi_edinme_4982")
    with pytest.raises(InvalidData, match="cannot change"):
        desk.fire(
            ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri", "yasal_dayanak": "kvkk_13"}
        )


def test_an_extension_only_before_the_first_period_ends(desk: Engine, clock: Clock) -> None:
    early, late = request(desk, "bilgi_edinme_4982"), request(desk, "bilgi_edinme_4982")
    for ref in (early, late):
        desk.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    clock.now = at(2026, 6, 10)
    extended = desk.fire(early, "sure_uzat", "mehmet", comment="Arşiv taraması sürüyor.")
    # 30 working days from 18 May: the 15 to 12 June, then 15 more to 3 July
    assert extended.due_at == last_moment(2026, 7, 3)
    with pytest.raises(InvalidData, match="once already"):
        desk.fire(early, "sure_uzat", "mehmet", comment="Yine")
    clock.now = at(2026, 6, 13)
    with pytest.raises(InvalidData, match="before the first period ends"):
        desk.fire(late, "sure_uzat", "mehmet", comment="Geç kaldık")


def test_a_petition_under_3071_cannot_be_extended(desk: Engine) -> None:
    ref = request(desk, "dilekce_3071")
    desk.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    with pytest.raises(InvalidData, match="allows no extension"):
        desk.fire(ref, "sure_uzat", "mehmet", comment="Daha fazla zaman")


def test_the_final_reply_stops_the_clock(desk: Engine, clock: Clock) -> None:
    ref = request(desk, "kvkk_13")
    desk.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    desk.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Veriler silindi."})
    clock.now += timedelta(days=3)
    done = desk.fire(ref, "geri_donus_yap", "ayse", data={"vatandasa_cevap": "Talebiniz yapıldı."})
    assert done.clock is not None and done.clock["replied_at"] == clock.now.isoformat()
    assert done.due_at is None
    assert [h.comment for h in desk.history(ref, "ayse") if h.event == "clock"] == [
        "son cevap verildi, yasal sürede"
    ]


def test_breaching_within_lists_the_cases_about_to_miss(desk: Engine, clock: Clock) -> None:
    soon = request(desk, "bilgi_edinme_4982")  # due 12 June
    later = request(desk, "dilekce_3071")  # due 17 June
    paused = request(desk, "bilgi_edinme_4982")
    desk.fire(paused, "bilgi_iste", "ayse", comment="Kimlik fotokopisi eksik.")
    clock.now = at(2026, 6, 10)
    assert [i.reference for i in desk.instances(breaching_within="3d")] == [soon]
    assert {i.reference for i in desk.instances(breaching_within="8d")} == {soon, later}
    with pytest.raises(InvalidData, match="not a duration"):
        desk.instances(breaching_within="üç gün")

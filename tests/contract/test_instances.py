"""Instances, history, reference numbers and the flow catalogue on every backend."""

from __future__ import annotations

from datetime import timedelta

from flowengine.audit import StoredRow
from flowengine.storage.ports import Store
from tests.contract.helpers import NOW, TURKISH, at, effect, instance, sealed, start, step


class TestRoundTrip:
    def test_an_instance_comes_back_as_written(self, store: Store) -> None:
        """Every field, Turkish text, lists, nested data, times in UTC: equal on reading."""
        case = instance(
            states=("mudurluk_incelemesi", "basin_incelemesi"),
            data={"konu": TURKISH, "adres": {"mahalle": "Işıklar", "no": 12}, "liste": [1, "ğ"]},
            outcome=None,
            due_at=at(60 * 24 * 30),
            signals=("belge_geldi",),
            locks={"kasa": "mudurluk_incelemesi"},
            clock={"basis": "dilekce_3071", "paused": None, "days": 30},
        )
        with store.unit() as unit:
            start(unit, case)
        with store.unit(writes=False) as unit:
            by_reference = unit.load_instance(case.reference)
            by_id = unit.load_instance(case.id)
        assert by_reference == case and by_id == case
        assert by_reference is not None and by_reference.created_at.utcoffset() == timedelta(0)

    def test_what_a_caller_changes_in_a_loaded_record_is_not_stored(self, store: Store) -> None:
        """Records read are copies: mutating their data changes nothing stored."""
        with store.unit() as unit:
            case = start(unit, instance())
        with store.unit(writes=False) as unit:
            loaded = unit.load_instance(case.id)
            assert loaded is not None
            loaded.data["konu"] = "değişti"
            again = unit.load_instance(case.id)
        assert again is not None and again.data["konu"] == TURKISH

    def test_history_comes_back_in_order_with_its_seals(self, store: Store) -> None:
        """History is ordered by seq; audit rows carry digests and hashes as written."""
        with store.unit() as unit:
            case = start(unit, instance())
            case = step(unit, case)
            case = step(unit, case)
        with store.unit(writes=False) as unit:
            history = unit.history(case.id)
            rows = unit.audit_rows(case.id)
            first_actor = unit.started_by(case.id)
            counts = unit.event_counts(case.id, "havale_et")
        assert [h.seq for h in history] == [1, 2, 3]
        assert history[0] == sealed(case, 1).entry and history[0].comment.endswith(TURKISH)
        assert rows[1] == StoredRow(
            sealed(case, 2, "havale_et").entry, {"konu": ["d1", "d2"]}, "0" * 64, f"{2:064d}"
        )
        assert first_actor == "ayşe" and counts == {"degerlendirme": 2}

    def test_erasure_rewrites_values_and_scrubs_texts(self, store: Store) -> None:
        """A history row's values are replaced; a secret word leaves outbox payloads."""
        case = instance()
        with store.unit() as unit:
            start(unit, case, effects=[effect(case)])
        with store.unit() as unit:
            unit.rewrite_history_values(case.id, 1, {"konu": [None, {"silindi": True}]})
            unit.scrub_texts(case.id, ["Şişli", ""])
        with store.unit(writes=False) as unit:
            assert unit.history(case.id)[0].changes == {"konu": [None, {"silindi": True}]}
            payload = unit.outbox(case.id)[0].payload
        assert "Şişli" not in payload["subject"] and payload["subject"].startswith("***")


class TestNumbers:
    def test_reference_numbers_count_per_flow_and_year(self, store: Store) -> None:
        """next_sequence counts 1, 2, … per (flow, year); a reservation takes a block."""
        with store.unit() as unit:
            assert [unit.next_sequence("bizim_masa", 2026) for _ in range(3)] == [1, 2, 3]
            assert unit.next_sequence("bizim_masa", 2027) == 1
            assert unit.next_sequence("basin_yayin", 2026) == 1
            assert unit.reserve_sequence("bizim_masa", 2026, 10) == 4
            assert unit.next_sequence("bizim_masa", 2026) == 14


class TestListings:
    def _cases(self, store: Store) -> list[str]:
        """Five instances: three started at NOW (ties), two later; references returned."""
        refs = []
        with store.unit() as unit:
            for n, minutes in enumerate((0, 0, 0, 10, 20), start=1):
                case = instance(
                    f"BM-2026-{n:06d}",
                    id=f"00000000-0000-0000-0000-00000000000{n}",
                    created_at=at(minutes),
                    due_at=at(60 * n),
                    status="completed" if n == 2 else "active",
                )
                refs.append(start(unit, case).reference)
        return refs

    def test_newest_first_then_by_id_with_limit_and_offset(self, store: Store) -> None:
        """list_instances orders by start time descending, ties by id; pages cut that order."""
        refs = self._cases(store)
        with store.unit(writes=False) as unit:
            every = [i.reference for i in unit.list_instances()]
            second_page = [i.reference for i in unit.list_instances(limit=2, offset=2)]
            active = [i.reference for i in unit.list_instances(status="active")]
        assert every == [refs[4], refs[3], refs[0], refs[1], refs[2]]
        assert second_page == [refs[0], refs[1]]
        assert active == [refs[4], refs[3], refs[0], refs[2]]

    def test_overdue_and_due_between_see_active_instances_only(self, store: Store) -> None:
        """Overdue: active and due before the time; due_between: [start, end)."""
        refs = self._cases(store)
        with store.unit(writes=False) as unit:
            overdue = {i.reference for i in unit.list_instances(overdue_at=at(60 * 3 + 1))}
            window = {i.reference for i in unit.list_instances(due_between=(at(60), at(60 * 4)))}
            flows = unit.list_instances(flows=["basin_yayin"])
        assert overdue == {refs[0], refs[2]}  # refs[1] is completed
        assert window == {refs[0], refs[2]}
        assert flows == []

    def test_instances_by_flow_and_time(self, store: Store) -> None:
        """Ids by start time, open ones of a flow in a window, and reports' streams."""
        refs = self._cases(store)
        with store.unit(writes=False) as unit:
            ids = unit.instance_ids(flow="bizim_masa")
            ended = unit.instance_ids(ended_before=at(60))
            candidates = {i.reference for i in unit.open_of_flow("bizim_masa", at(5), at(20))}
            started = {c["reference"] for c in unit.cases_started("bizim_masa", NOW, at(20))}
            data = list(unit.data_of_flow("bizim_masa"))
            count = unit.count_instances("bizim_masa", 1)
        assert len(ids) == 5 and ids[-1].endswith("5")
        assert len(ended) == 1 and candidates == {refs[3], refs[4]}
        assert started == {refs[0], refs[1], refs[2], refs[3]}
        assert [d[0] for d in data][-2:] == [refs[3], refs[4]] and data[0][4]["konu"] == TURKISH
        assert count == 5

    def test_first_events_are_the_earliest_of_each_instance(self, store: Store) -> None:
        """first_events maps each started instance to when it first took one of the events."""
        with store.unit() as unit:
            case = start(unit, instance())
            case = step(unit, case)
            step(unit, case)
        with store.unit(writes=False) as unit:
            first = unit.first_events("bizim_masa", ["havale_et"], NOW, at(1))
        assert first == {case.id: at(2)}

    def test_children_and_merged_duplicates(self, store: Store) -> None:
        """Children are found by parent; duplicates by the request they are merged into."""
        with store.unit() as unit:
            parent = start(unit, instance("BM-2026-000001"))
            child = start(unit, instance("BY-2026-000001", parent_id=parent.id))
            twin = start(unit, instance("BM-2026-000002", status="merged", merged_into=parent.id))
        with store.unit(writes=False) as unit:
            assert unit.children(parent.id) == [child]
            assert unit.merged_into(parent.id) == [twin]
            assert unit.children(child.id) == []


class TestCatalogue:
    def test_versions_are_kept_and_listed_in_order(self, store: Store) -> None:
        """Deployed versions come back with their source; the newest is the highest."""
        with store.unit() as unit:
            for version in (2, 1, 3):
                unit.put_flow_version("bizim_masa", version, f"h{version}", TURKISH, at(version))
        with store.unit(writes=False) as unit:
            assert unit.flow_version("bizim_masa", 2) == ("h2", TURKISH)
            assert unit.flow_version("bizim_masa", 4) is None
            assert unit.flow_versions("bizim_masa") == [(1, at(1)), (2, at(2)), (3, at(3))]
            assert unit.latest_version("bizim_masa") == 3
            assert unit.latest_version("basin_yayin") is None

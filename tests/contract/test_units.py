"""Units of work on every backend: all or nothing, isolation, and the errors a store raises."""

from __future__ import annotations

import threading

import pytest

from flowengine.errors import ConcurrentUpdate, DuplicateKey, StorageError
from flowengine.instance import Person, RoleGrant
from flowengine.storage.ports import Store
from tests.contract.helpers import NOW, effect, instance, sealed, start, step, timer, work


class Boom(Exception):
    pass


class TestAllOrNothing:
    def test_an_exception_rolls_back_every_write_of_the_unit(self, store: Store) -> None:
        """A unit that raises leaves no instance, history, work, effect, person or token."""
        case = instance()

        def write_everything_then_fail() -> None:
            with store.unit() as unit:
                unit.save_person(Person("ayse", "Ayşe Yılmaz", (RoleGrant("bizim_masa"),)), NOW)
                start(unit, case, opened=[work(case)], effects=[effect(case)])
                unit.schedule_timers([timer(case, NOW)], NOW)
                unit.add_token("t1", "ayse", "e-Devlet", "0" * 64, NOW)
                unit.add_attempts(["login:person:ayse"], NOW)
                unit.next_sequence("bizim_masa", 2026)
                raise Boom

        with pytest.raises(Boom):
            write_everything_then_fail()
        with store.unit(writes=False) as unit:
            assert unit.load_instance(case.reference) is None
            assert unit.history(case.id) == []
            assert unit.person("ayse") is None
            assert unit.outbox() == []
            assert unit.timers() == []
            assert unit.token("t1") is None
            assert unit.count_attempts(["login:person:ayse"], NOW) == 0
        with store.unit() as unit:
            # the number drawn in the rolled-back unit is not used up on any backend
            assert unit.next_sequence("bizim_masa", 2026) == 1

    def test_a_unit_that_ends_normally_commits(self, store: Store) -> None:
        """What a unit wrote is there for the next one."""
        case = instance()
        with store.unit() as unit:
            start(unit, case, opened=[work(case)])
        with store.unit(writes=False) as unit:
            assert unit.load_instance(case.id) == case
            assert list(unit.open_items(case.id)) == ["degerlendirme"]

    def test_a_stale_step_writes_nothing(self, store: Store) -> None:
        """A step on an outdated row version is a ConcurrentUpdate naming who wrote first."""
        with store.unit() as unit:
            first = start(unit, instance())
        with store.unit() as unit:
            current = step(unit, first)
        with pytest.raises(ConcurrentUpdate) as raised, store.unit() as unit:
            step(unit, first, effects=[effect(first)], opened=[work(first, "yeni")])
        assert (raised.value.ref, raised.value.current_version) == (first.reference, 2)
        assert raised.value.changed_by == "mehmet"
        with store.unit(writes=False) as unit:
            assert unit.load_instance(first.id) == current
            assert [h.seq for h in unit.history(first.id)] == [1, 2]
            assert unit.outbox() == [] and unit.open_items(first.id) == {}

    def test_update_instance_checks_the_expected_row_version(self, store: Store) -> None:
        """update_instance with another version than stored raises and changes nothing."""
        with store.unit() as unit:
            case = start(unit, instance())
        changed = case.evolve(row_version=2, status="cancelled")
        with pytest.raises(ConcurrentUpdate), store.unit() as unit:
            unit.update_instance(changed, expected_row_version=5)
        with store.unit() as unit:
            unit.update_instance(changed, expected_row_version=1)
        with store.unit(writes=False) as unit:
            assert unit.load_instance(case.id) == changed


class TestKeys:
    def test_a_taken_idempotency_key_is_a_duplicate_key(self, store: Store) -> None:
        """The second remember of one key fails with DuplicateKey; the first result stays."""
        with store.unit() as unit:
            case = start(unit, instance())
            unit.remember_idempotent("anahtar-ç", "hash-1", case.id, 1, NOW)
        with pytest.raises(DuplicateKey), store.unit() as unit:
            unit.remember_idempotent("anahtar-ç", "hash-2", case.id, 1, NOW)
        with store.unit(writes=False) as unit:
            assert unit.idempotent_result("anahtar-ç") == ("hash-1", case.id, 1)
            assert unit.idempotent_result("başka") is None

    def test_references_are_unique(self, store: Store) -> None:
        """A second instance with a taken reference is refused."""
        with store.unit() as unit:
            start(unit, instance("BM-2026-000007"))
        with pytest.raises(DuplicateKey), store.unit() as unit:
            start(unit, instance("BM-2026-000007"))

    def test_history_sequence_numbers_are_unique(self, store: Store) -> None:
        """Two history rows of one instance cannot share a seq."""
        with store.unit() as unit:
            case = start(unit, instance())
        with pytest.raises(DuplicateKey), store.unit() as unit:
            unit.insert_history([sealed(case, 1, "tekrar")])

    def test_a_flow_version_is_deployed_once(self, store: Store) -> None:
        """The same (flow, version) twice is a DuplicateKey, a StorageError like others."""
        with store.unit() as unit:
            unit.put_flow_version("bizim_masa", 1, "h1", "id: bizim_masa", NOW)
        with pytest.raises(StorageError) as raised, store.unit() as unit:
            unit.put_flow_version("bizim_masa", 1, "h2", "id: bizim_masa", NOW)
        assert isinstance(raised.value, DuplicateKey)

    def test_a_row_naming_nothing_is_refused_but_is_not_a_duplicate(self, store: Store) -> None:
        """A foreign key to no row is a StorageError, and not a DuplicateKey."""
        with pytest.raises(StorageError) as raised, store.unit() as unit:
            unit.add_token("t1", "kimse", "e-Devlet", "0" * 64, NOW)
        assert not isinstance(raised.value, DuplicateKey)


class TestIsolation:
    def test_readers_see_committed_data_only(self, store: Store) -> None:
        """While a writer's unit is open, another reader does not see what it wrote."""
        case = instance()
        written, release = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def writer() -> None:
            try:
                with store.unit() as unit:
                    start(unit, case)
                    written.set()
                    release.wait(10)
            except BaseException as exc:  # reported by the main thread below
                failures.append(exc)
                written.set()

        thread = threading.Thread(target=writer)
        thread.start()
        assert written.wait(10)
        try:
            with store.unit(writes=False) as unit:
                assert unit.load_instance(case.reference) is None
        finally:
            release.set()
            thread.join(10)
        assert failures == []
        with store.unit(writes=False) as unit:
            assert unit.load_instance(case.reference) == case

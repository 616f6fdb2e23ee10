"""Work items, outbox leases, timers and notifications on every backend."""

from __future__ import annotations

import dataclasses

from flowengine.instance import Instance, OutboxItem, RoleGrant, WorkItem
from flowengine.storage.ports import Store
from tests.contract.helpers import NOW, TURKISH, at, effect, instance, start, step, timer, work


def _started(store: Store, case: Instance, **writes: object) -> Instance:
    with store.unit() as unit:
        return start(unit, case, **writes)


# Rows one step writes come in no promised order (PostgreSQL writes a step as
# one statement of CTEs), so orderings by id are checked across separate writes.
def _opened(store: Store, case: Instance, items: list[WorkItem]) -> None:
    with store.unit() as unit:
        start(unit, case)
        for item in items:
            unit.open_work([item])


class TestWork:
    def test_the_inbox_is_soonest_due_first_and_pages(self, store: Store) -> None:
        """open_work_for: due soonest first, undated last, then by opening; limit/offset cut it."""
        case = instance()
        items = [
            work(case, "a", due_at=at(30)),
            work(case, "b"),
            work(case, "c", due_at=at(10)),
            work(case, "d", due_at=at(30)),
        ]
        _opened(store, case, items)
        grants = [RoleGrant("bizim_masa")]
        with store.unit(writes=False) as unit:
            every = [w.state for w in unit.open_work_for(grants, "ayse")]
            page = [w.state for w in unit.open_work_for(grants, "ayse", limit=2, offset=1)]
            first = unit.open_work_for(grants, "ayse", limit=1)[0]
        assert every == ["c", "a", "d", "b"] and page == ["a", "d"]
        assert (first.reference, first.flow, first.title) == (
            case.reference,
            "bizim_masa",
            f"Değerlendir: {TURKISH}",
        )

    def test_a_scoped_role_sees_its_directorate_and_work_named_to_it(self, store: Store) -> None:
        """Fen İşleri sees its own and unassigned work, not Zabıta's; a reassignment by
        name reaches the person whatever their roles."""
        case = instance()
        items = [
            work(case, "fen", role="ilgili_mudurluk", assignee="fen_isleri"),
            work(case, "zabita", role="ilgili_mudurluk", assignee="zabita"),
            work(case, "acik", role="ilgili_mudurluk"),
        ]
        _started(store, case, opened=items)
        fen = [RoleGrant("ilgili_mudurluk", "fen_isleri")]
        with store.unit() as unit:
            assert {w.state for w in unit.open_work_for(fen, "mehmet")} == {"fen", "acik"}
            unit.reassign(case.id, "zabita", "ilgili_mudurluk", "mehmet")
            assert {w.state for w in unit.open_work_for(fen, "mehmet")} == {"fen", "acik", "zabita"}
            assert unit.open_work_for([], "mehmet") == []
            assert unit.assignees(case.id) == {"fen_isleri", "mehmet"}

    def test_closed_work_leaves_the_open_items(self, store: Store) -> None:
        """A step closing a state's work takes it out of the inbox and open items."""
        first = instance()
        with store.unit() as unit:
            start(unit, first, opened=[work(first, "degerlendirme"), work(first, "ikinci")])
            step(unit, first, closed=["degerlendirme"])
        with store.unit(writes=False) as unit:
            assert list(unit.open_items(first.id)) == ["ikinci"]
            loaded = unit.load_with_work(first.reference)
        assert loaded is not None and list(loaded[1]) == ["ikinci"]
        assert loaded[0].row_version == 2


class TestOutbox:
    def _two_effects(self, store: Store) -> Instance:
        case = instance()
        with store.unit() as unit:
            start(unit, case)
            unit.insert_effects([effect(case)], NOW)
            unit.insert_effects([effect(case, "sms")], NOW)
        return case

    def test_a_lease_keeps_other_workers_off_until_it_expires(self, store: Store) -> None:
        """Leased effects are skipped; after the lease ends another worker claims them,
        and the first worker can no longer record an outcome."""
        self._two_effects(store)
        with store.unit() as unit:
            leased = unit.claim_outbox(NOW, "w1", at(1), limit=1)
        with store.unit() as unit:
            others = unit.claim_outbox(at(0.5), "w2", at(1.5), limit=10)
        assert [i.kind for i in leased] == ["email"] and [i.kind for i in others] == ["sms"]
        assert leased[0].payload["subject"] == TURKISH
        with store.unit() as unit:
            assert unit.claim_outbox(at(0.9), "w3", at(2), limit=10) == []
            again = unit.claim_outbox(at(2), "w3", at(3), limit=10)
        assert [i.id for i in again] == sorted(i.id for i in (*leased, *others))
        with store.unit() as unit:
            assert not unit.finish_delivery(
                leased[0].id, "w1", status="delivered", attempts=1, now=at(2)
            )
            assert unit.finish_delivery(
                leased[0].id, "w3", status="delivered", attempts=1, now=at(2)
            )
            delivered = unit.outbox_item(leased[0].id)
        assert delivered is not None
        assert (delivered.status, delivered.attempts, delivered.delivered_at) == (
            "delivered",
            1,
            at(2),
        )

    def test_a_failed_effect_waits_for_its_next_attempt(self, store: Store) -> None:
        """A failure with a next attempt time is not claimed before it; retry puts a dead
        effect back at once with its attempts reset."""
        self._two_effects(store)
        with store.unit() as unit:
            item = unit.claim_outbox(NOW, "w1", at(1), limit=1)[0]
            unit.finish_delivery(
                item.id, "w1", status="failed", attempts=1, now=NOW, next_attempt_at=at(5),
                error="bağlantı reddedildi",
            )  # fmt: skip
        with store.unit() as unit:
            assert [i.kind for i in unit.claim_outbox(at(4), "w2", at(6), limit=5)] == ["sms"]
            assert [i.id for i in unit.claim_outbox(at(5), "w2", at(6), limit=5)] == [item.id]
            assert unit.finish_delivery(item.id, "w2", status="dead", attempts=8, now=at(5))
            assert not unit.retry_outbox(10_000, at(5))
            assert unit.retry_outbox(item.id, at(6))
            back = unit.outbox_item(item.id)
        assert back is not None and (back.status, back.attempts) == ("pending", 0)

    def test_listing_and_cancelling_effects(self, store: Store) -> None:
        """outbox() lists by id; cancelling a state's effects spares a leased one."""
        case = self._two_effects(store)
        with store.unit() as unit:
            leased = unit.claim_outbox(NOW, "w1", at(10), limit=1)[0]
            unit.cancel_effects(case.id, ["degerlendirme"], at(1))
            listed = unit.outbox(case.id)
            pending = unit.outbox(status="pending")
            first = unit.outbox(limit=1)
        assert [(i.kind, i.status) for i in listed] == [("email", "pending"), ("sms", "cancelled")]
        assert [i.id for i in pending] == [leased.id] and first[0].reference == case.reference


class TestTimers:
    def test_the_soonest_due_timer_is_claimed_and_fires_once(self, store: Store) -> None:
        """claim_due_timer takes the soonest due one; a timer closes once only."""
        case = instance()
        _started(store, case, timers=[timer(case, at(20)), timer(case, at(10), "ikinci")])
        with store.unit() as unit:
            assert unit.claim_due_timer(at(5)) is None
            due = unit.claim_due_timer(at(30))
            assert due is not None and due.state == "ikinci" and due.id is not None
            assert unit.close_timer(due.id, "fired", at(30), "w1")
            assert not unit.close_timer(due.id, "fired", at(30), "w2")
            listed = unit.timers()
            pending = unit.timers(status="pending", due_at=at(25))
        assert [(t.state, status) for t, _, status in listed] == [
            ("ikinci", "fired"),
            ("bekleme", "pending"),
        ]
        assert [(t.due_at, ref) for t, ref, _ in pending] == [(at(20), case.reference)]

    def test_leaving_a_state_cancels_its_timers(self, store: Store) -> None:
        """Cancelling by state spares the others; None cancels every pending timer."""
        case = instance()
        timers = [timer(case, at(10), "a"), timer(case, at(20), "b"), timer(case, at(30), "c")]
        _started(store, case, timers=timers)
        with store.unit() as unit:
            unit.cancel_timers(case.id, ["a"], at(1))
            unit.cancel_timers(case.id, [], at(1))
            assert [t.state for t, _, _ in unit.timers(status="pending")] == ["b", "c"]
            unit.cancel_timers(case.id, None, at(2))
            assert unit.timers(status="pending") == []
            assert unit.claim_due_timer(at(100)) is None


class TestNotifications:
    def _notice(self, case: Instance, item_id: int, directorate: str | None) -> OutboxItem:
        payload = {"roles": ["ilgili_mudurluk", "bizim_masa"], "message": TURKISH}
        if directorate:
            payload["directorate"] = directorate
        return OutboxItem(item_id, case.id, "s", "notify", payload, "pending", 0, NOW)

    def test_a_notice_is_stored_once_per_role_and_shown_to_its_scope(self, store: Store) -> None:
        """Delivering twice adds nothing; a scoped role sees its directorate's and unscoped
        notices, newest first."""
        case = instance()
        _started(store, case, effects=[effect(case), effect(case)])
        with store.unit() as unit:
            ids = [i.id for i in unit.outbox()]
            fen = self._notice(case, ids[0], "fen_isleri")
            unit.add_notifications(fen, NOW)
            unit.add_notifications(fen, NOW)
            unit.add_notifications(self._notice(case, ids[1], None), at(1))
            unit.add_notifications(dataclasses.replace(fen, payload={"roles": []}), NOW)
        with store.unit(writes=False) as unit:
            zabita = unit.notifications_for([RoleGrant("ilgili_mudurluk", "zabita")])
            fen_side = unit.notifications_for([RoleGrant("ilgili_mudurluk", "fen_isleri")])
            desk = unit.notifications_for([RoleGrant("bizim_masa")], limit=1, offset=1)
            nobody = unit.notifications_for([])
        assert len(zabita) == 1 and zabita[0].message == TURKISH
        assert [n.id for n in fen_side] == sorted((n.id for n in fen_side), reverse=True)
        assert len(fen_side) == 2 and fen_side[0].reference == case.reference
        assert len(desk) == 1 and desk[0].created_at == NOW and nobody == []

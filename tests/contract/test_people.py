"""People, delegations, refusals and accounts (tokens, passwords, throttle, secrets)
on every backend."""

from __future__ import annotations

from datetime import date

import pytest

from flowengine.errors import DuplicateKey
from flowengine.instance import Person, RoleGrant
from flowengine.storage.ports import Store
from tests.contract.helpers import NOW, TURKISH, at, instance, start

AYSE = Person(
    "ayse",
    "Ayşe Yılmaz",
    (RoleGrant("ilgili_mudurluk", "fen_isleri"), RoleGrant("bizim_masa")),
)
ARDA = Person("arda", "Arda BAYRİ", (RoleGrant("mudur", "fen_isleri"),))


def _people(store: Store) -> None:
    with store.unit() as unit:
        unit.save_person(AYSE, NOW)
        unit.save_person(ARDA, NOW)


class TestPeople:
    def test_a_person_comes_back_with_roles_in_order(self, store: Store) -> None:
        """Name in Turkish and role grants (scoped and not) survive; roles sorted by name."""
        _people(store)
        with store.unit(writes=False) as unit:
            ayse = unit.person("ayse")
            everyone = unit.people()
            nobody = unit.person("kimse")
        assert ayse == Person(
            "ayse",
            "Ayşe Yılmaz",
            (RoleGrant("bizim_masa"), RoleGrant("ilgili_mudurluk", "fen_isleri")),
        )
        assert [p.id for p in everyone] == ["arda", "ayse"] and nobody is None

    def test_saving_again_replaces_the_name_and_roles(self, store: Store) -> None:
        """save_person of a known id replaces, never adds to, their grants."""
        _people(store)
        with store.unit() as unit:
            unit.save_person(
                Person("ayse", "Ayşe Şahin", (RoleGrant("basin_yayin_tanitim"),)), at(1)
            )
        with store.unit(writes=False) as unit:
            assert unit.person("ayse") == Person(
                "ayse", "Ayşe Şahin", (RoleGrant("basin_yayin_tanitim"),)
            )

    def test_the_same_grant_twice_is_refused(self, store: Store) -> None:
        """A person cannot hold one grant twice: the key (person, role, directorate) holds."""
        twice = Person("ali", "Ali", (RoleGrant("mudur"), RoleGrant("mudur")))
        with pytest.raises(DuplicateKey), store.unit() as unit:
            unit.save_person(twice, NOW)

    def test_a_delegation_counts_on_its_days_only(self, store: Store) -> None:
        """A delegated role is held from its first to its last day, marked whose it is."""
        _people(store)
        with store.unit() as unit:
            unit.add_delegation(
                "arda", "ayse", RoleGrant("mudur", "fen_isleri"), date(2026, 7, 1),
                date(2026, 7, 14), f"Yıllık izin: {TURKISH}", NOW,
            )  # fmt: skip
        with store.unit(writes=False) as unit:
            before = unit.person("ayse", date(2026, 6, 30))
            first = unit.person("ayse", date(2026, 7, 1))
            last = unit.person("ayse", date(2026, 7, 14))
            listed = unit.delegations(date(2026, 7, 14))
            gone = unit.delegations(date(2026, 7, 15))
        delegated = RoleGrant("mudur", "fen_isleri", "arda")
        assert before is not None and delegated not in before.roles
        assert first is not None and first.roles[-1] == delegated
        assert last is not None and delegated in last.roles
        assert [(d["from_person"], d["to_person"], d["reason"]) for d in listed] == [
            ("arda", "ayse", f"Yıllık izin: {TURKISH}")
        ]
        assert listed[0]["starts_on"] == date(2026, 7, 1) and gone == []


class TestRefusals:
    def test_refusals_are_kept_in_order(self, store: Store) -> None:
        """Refusals of an instance come back oldest first with what was refused."""
        with store.unit() as unit:
            case = start(unit, instance())
            unit.record_refusal(case.id, "bizim_masa", "zabita_ali", "cevap_ver", TURKISH, NOW)
            unit.record_refusal(case.id, "bizim_masa", "ayse", "iptal", "yetki yok", at(1))
            unit.record_refusal(None, "bizim_masa", "ayse", "start", "rol yok", at(2))
        with store.unit(writes=False) as unit:
            refusals = unit.refusals(case.id)
        assert [(r["actor"], r["action"], r["reason"]) for r in refusals] == [
            ("zabita_ali", "cevap_ver", TURKISH),
            ("ayse", "iptal", "yetki yok"),
        ]
        assert refusals[0]["at"] == NOW


class TestAccounts:
    def test_a_password_is_set_then_replaced(self, store: Store) -> None:
        """set_password_hash stores one hash per person and remembers when."""
        _people(store)
        with store.unit() as unit:
            assert unit.password_hash("ayse") is None and unit.password_set_at("ayse") is None
            unit.set_password_hash("ayse", "$argon2id$bir", NOW)
            unit.set_password_hash("ayse", "$argon2id$iki", at(5))
        with store.unit(writes=False) as unit:
            assert unit.password_hash("ayse") == "$argon2id$iki"
            assert unit.password_set_at("ayse") == at(5)

    def test_tokens_are_listed_in_order_and_revoked_once(self, store: Store) -> None:
        """Tokens list oldest first (per person or all); a revocation happens once."""
        _people(store)
        with store.unit() as unit:
            unit.add_token("b2", "ayse", "e-Belediye", "1" * 64, at(1))
            unit.add_token("a1", "ayse", "e-Devlet uygulaması", "0" * 64, at(1))
            unit.add_token("c3", "arda", "rapor", "2" * 64, NOW)
        with pytest.raises(DuplicateKey), store.unit() as unit:
            unit.add_token("a1", "arda", "yinelenen", "3" * 64, NOW)
        with store.unit() as unit:
            assert [t["id"] for t in unit.tokens("ayse")] == ["a1", "b2"]
            assert [t["id"] for t in unit.tokens(None)] == ["c3", "a1", "b2"]
            assert unit.revoke_token("a1", at(2)) and not unit.revoke_token("a1", at(3))
            token = unit.token("a1")
        assert token is not None and token["revoked_at"] == at(2)
        assert token["name"] == "e-Devlet uygulaması" and token["person_id"] == "ayse"

    def test_attempts_are_counted_in_a_window_and_cleared(self, store: Store) -> None:
        """Failures count per key since a time; a success clears its key; old rows prune."""
        keys = ["login:person:ayşe", "login:client:10.0.0.1"]
        with store.unit() as unit:
            unit.add_attempts(keys, NOW)
            unit.add_attempts(keys[:1], at(10))
            assert unit.count_attempts(keys[:1], NOW) == 2
            assert unit.count_attempts(keys[:1], at(5)) == 1
            assert unit.count_attempts(keys, NOW) == 3
            unit.clear_attempts(keys[:1])
            assert unit.count_attempts(keys, NOW) == 1
            unit.clear_attempts((), before=at(1))
            assert unit.count_attempts(keys, NOW) == 0

    def test_the_first_stored_secret_wins(self, store: Store) -> None:
        """secret() stores the value offered only when there is none yet."""
        with store.unit() as unit:
            assert unit.secret("session_signing_key", "ilk-değer") == "ilk-değer"
        with store.unit() as unit:
            assert unit.secret("session_signing_key", "ikinci") == "ilk-değer"

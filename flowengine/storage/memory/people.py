"""In-memory people, idempotency keys, refusals and accounts (ports ``People``,
``Idempotency``, ``Refusals``, ``Accounts``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flowengine.instance import Person, RoleGrant
from flowengine.storage.memory.base import UnitBase, aware, insert_all


class IdempotencyMixin(UnitBase):
    def idempotent_result(self, key: str) -> tuple[str, str, int] | None:
        row = self._tx.get("idempotency_keys", key)
        return (row["request_hash"], row["instance_id"], row["row_version"]) if row else None

    def remember_idempotent(
        self, key: str, request_hash: str, instance_id: str, row_version: int, now: datetime
    ) -> None:
        self._tx.insert(
            "idempotency_keys",
            {
                "key": key,
                "request_hash": request_hash,
                "instance_id": instance_id,
                "row_version": row_version,
                "created_at": now,
            },
        )


class PeopleMixin(UnitBase):
    def person(self, person_id: str, on: date | None = None) -> Person | None:
        row = self._tx.get("people", person_id)
        if row is None:
            return None
        own = sorted(
            (r["role"], r["directorate"])
            for r in self._tx.values("person_roles")
            if r["person_id"] == person_id
        )
        roles = [RoleGrant(role, directorate or None) for role, directorate in own]
        if on is not None:
            delegated = sorted(
                (r["id"], r["role"], r["directorate"], r["from_person"])
                for r in self._tx.values("delegations")
                if r["to_person"] == person_id and r["starts_on"] <= on <= r["ends_on"]
            )
            roles += [RoleGrant(role, d or None, by) for _, role, d, by in delegated]
        return Person(id=person_id, name=row["name"], roles=tuple(roles))

    def people(self) -> list[Person]:
        found = (self.person(i) for i in sorted(self._tx.rows("people")))
        return [p for p in found if p is not None]

    def save_person(self, person: Person, now: datetime) -> None:
        if self._tx.get("people", person.id) is not None:
            self._tx.update("people", person.id, {"name": person.name})
            for key, r in list(self._tx.rows("person_roles").items()):
                if r["person_id"] == person.id:
                    self._tx.delete("person_roles", key)
        else:
            self._tx.insert("people", {"id": person.id, "name": person.name, "created_at": now})
        insert_all(
            self._tx,
            "person_roles",
            [
                {"person_id": person.id, "role": g.role, "directorate": g.directorate or ""}
                for g in person.roles
            ],
        )

    def add_delegation(
        self,
        from_person: str,
        to_person: str,
        grant: RoleGrant,
        starts_on: date,
        ends_on: date,
        reason: str,
        now: datetime,
    ) -> None:
        self._tx.insert(
            "delegations",
            {
                "from_person": from_person,
                "to_person": to_person,
                "role": grant.role,
                "directorate": grant.directorate or "",
                "starts_on": starts_on,
                "ends_on": ends_on,
                "reason": reason,
                "created_at": now,
            },
        )

    def delegations(self, on_or_after: date) -> list[dict[str, Any]]:
        rows = [r for r in self._tx.values("delegations") if r["ends_on"] >= on_or_after]
        return [dict(r) for r in sorted(rows, key=lambda r: (r["starts_on"], r["id"]))]


class RefusalsMixin(UnitBase):
    def record_refusal(
        self,
        instance_id: str | None,
        flow: str | None,
        actor: str,
        action: str,
        reason: str,
        now: datetime,
    ) -> None:
        self._tx.insert(
            "refusals",
            {
                "instance_id": instance_id,
                "flow": flow,
                "actor": actor,
                "action": action,
                "reason": reason,
                "at": now,
            },
        )

    def refusals(self, instance_id: str) -> list[dict[str, Any]]:
        rows = [r for r in self._tx.values("refusals") if r["instance_id"] == instance_id]
        return [dict(r) for r in sorted(rows, key=lambda r: r["id"])]


class AccountsMixin(UnitBase):
    def password_hash(self, person_id: str) -> str | None:
        row = self._tx.get("passwords", person_id)
        return str(row["hash"]) if row else None

    def password_set_at(self, person_id: str) -> datetime | None:
        row = self._tx.get("passwords", person_id)
        return row["updated_at"] if row else None

    def set_password_hash(self, person_id: str, hashed: str, now: datetime) -> None:
        changes = {"hash": hashed, "updated_at": now}
        if self._tx.get("passwords", person_id) is None:
            self._tx.insert("passwords", {"person_id": person_id, **changes})
        else:
            self._tx.update("passwords", person_id, changes)

    def add_token(
        self, token_id: str, person_id: str, name: str, secret_hash: str, now: datetime
    ) -> None:
        self._tx.insert(
            "api_tokens",
            {
                "id": token_id,
                "person_id": person_id,
                "name": name,
                "secret_hash": secret_hash,
                "created_at": now,
            },
        )

    def token(self, token_id: str) -> dict[str, Any] | None:
        row = self._tx.get("api_tokens", token_id)
        return dict(row) if row else None

    def tokens(self, person_id: str | None) -> list[dict[str, Any]]:
        rows = [
            r
            for r in self._tx.values("api_tokens")
            if person_id is None or r["person_id"] == person_id
        ]
        return [dict(r) for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]))]

    def revoke_token(self, token_id: str, now: datetime) -> bool:
        row = self._tx.get("api_tokens", token_id)
        if row is None or row["revoked_at"] is not None:
            return False
        self._tx.update("api_tokens", token_id, {"revoked_at": now})
        return True

    def count_attempts(self, keys: Sequence[str], since: datetime) -> int:
        return sum(
            1 for r in self._tx.values("attempts") if r["key"] in keys and r["at"] >= aware(since)
        )

    def add_attempts(self, keys: Sequence[str], now: datetime) -> None:
        insert_all(self._tx, "attempts", [{"key": k, "at": now} for k in keys])

    def clear_attempts(self, keys: Sequence[str], before: datetime | None = None) -> None:
        for key, r in list(self._tx.rows("attempts").items()):
            if r["key"] in keys or (before is not None and r["at"] < aware(before)):
                self._tx.delete("attempts", key)

    def secret(self, name: str, new_value: str) -> str:
        row = self._tx.get("secrets", name)
        if row is None:
            row = self._tx.insert("secrets", {"name": name, "value": new_value})
        return str(row["value"])

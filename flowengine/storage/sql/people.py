"""SQL idempotency keys, people, refusals and accounts (ports ``Idempotency``,
``People``, ``Refusals``, ``Accounts``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from flowengine.instance import Person, RoleGrant
from flowengine.storage import tables as t
from flowengine.storage.sql.connection import UnitBase
from flowengine.storage.sql.statements import _PERSON, _PERSON_ON


class IdempotencyMixin(UnitBase):
    """Keys of repeat-safe commands."""

    def idempotent_result(self, key: str) -> tuple[str, str, int] | None:
        row = self.connection.execute(
            select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
        ).first()
        return (row.request_hash, row.instance_id, row.row_version) if row else None

    def remember_idempotent(
        self, key: str, request_hash: str, instance_id: str, row_version: int, now: datetime
    ) -> None:
        self.connection.execute(
            t.idempotency_keys.insert().values(
                key=key,
                request_hash=request_hash,
                instance_id=instance_id,
                row_version=row_version,
                created_at=now,
            )
        )


class PeopleMixin(UnitBase):
    """People, grants and delegations."""

    def person(self, person_id: str, on: date | None = None) -> Person | None:
        """A person with their roles, plus roles delegated to them that are in force ``on``."""
        if on is None:
            rows = self.connection.execute(_PERSON, {"person_id": person_id}).all()
        else:
            rows = self.connection.execute(_PERSON_ON, {"person_id": person_id, "on": on}).all()
        if not rows or rows[0].kind != 0:
            return None
        roles = [RoleGrant(r.a, r.b or None, r.c if r.kind == 2 else None) for r in rows if r.kind]
        return Person(id=person_id, name=rows[0].a, roles=tuple(roles))

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
        self.connection.execute(
            t.delegations.insert().values(
                from_person=from_person,
                to_person=to_person,
                role=grant.role,
                directorate=grant.directorate or "",
                starts_on=starts_on,
                ends_on=ends_on,
                reason=reason,
                created_at=now,
            )
        )

    def delegations(self, on_or_after: date) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(t.delegations)
            .where(t.delegations.c.ends_on >= on_or_after)
            .order_by(t.delegations.c.starts_on, t.delegations.c.id)
        )
        return [dict(r._mapping) for r in rows]

    def people(self) -> list[Person]:
        ids = self.connection.execute(select(t.people.c.id).order_by(t.people.c.id)).scalars()
        return [p for p in (self.person(i) for i in list(ids)) if p is not None]

    def save_person(self, person: Person, now: datetime) -> None:
        """Create or replace a person and their role grants."""
        exists = self.connection.execute(
            select(t.people.c.id).where(t.people.c.id == person.id)
        ).first()
        if exists:
            self.connection.execute(
                update(t.people).where(t.people.c.id == person.id).values(name=person.name)
            )
            self.connection.execute(
                t.person_roles.delete().where(t.person_roles.c.person_id == person.id)
            )
        else:
            self.connection.execute(
                t.people.insert().values(id=person.id, name=person.name, created_at=now)
            )
        if person.roles:
            self.connection.execute(
                t.person_roles.insert(),
                [
                    {"person_id": person.id, "role": g.role, "directorate": g.directorate or ""}
                    for g in person.roles
                ],
            )


class RefusalsMixin(UnitBase):
    """Audited refusals."""

    def record_refusal(
        self,
        instance_id: str | None,
        flow: str | None,
        actor: str,
        action: str,
        reason: str,
        now: datetime,
    ) -> None:
        self.connection.execute(
            t.refusals.insert().values(
                instance_id=instance_id,
                flow=flow,
                actor=actor,
                action=action,
                reason=reason,
                at=now,
            )
        )

    def refusals(self, instance_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(t.refusals)
            .where(t.refusals.c.instance_id == instance_id)
            .order_by(t.refusals.c.id)
        )
        return [dict(r._mapping) for r in rows]


class AccountsMixin(UnitBase):
    """The web layer's secrets."""

    def password_hash(self, person_id: str) -> str | None:
        row = self.connection.execute(
            select(t.passwords.c.hash).where(t.passwords.c.person_id == person_id)
        ).first()
        return row.hash if row else None

    def password_set_at(self, person_id: str) -> datetime | None:
        return self.connection.execute(
            select(t.passwords.c.updated_at).where(t.passwords.c.person_id == person_id)
        ).scalar_one_or_none()

    def set_password_hash(self, person_id: str, hashed: str, now: datetime) -> None:
        statement = self._insert(t.passwords).values(
            person_id=person_id, hash=hashed, updated_at=now
        )
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[t.passwords.c.person_id],
                set_={"hash": hashed, "updated_at": now},
            )
        )

    def add_token(
        self, token_id: str, person_id: str, name: str, secret_hash: str, now: datetime
    ) -> None:
        self.connection.execute(
            t.api_tokens.insert().values(
                id=token_id, person_id=person_id, name=name, secret_hash=secret_hash, created_at=now
            )
        )

    def token(self, token_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(t.api_tokens).where(t.api_tokens.c.id == token_id)
        ).first()
        return dict(row._mapping) if row else None

    def tokens(self, person_id: str | None) -> list[dict[str, Any]]:
        query = select(t.api_tokens).order_by(t.api_tokens.c.created_at, t.api_tokens.c.id)
        if person_id is not None:
            query = query.where(t.api_tokens.c.person_id == person_id)
        return [dict(r._mapping) for r in self.connection.execute(query)]

    def revoke_token(self, token_id: str, now: datetime) -> bool:
        done = self.connection.execute(
            update(t.api_tokens)
            .where(t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(done.rowcount)

    def count_attempts(self, keys: Sequence[str], since: datetime) -> int:
        return int(
            self.connection.execute(
                select(func.count())
                .select_from(t.attempts)
                .where(t.attempts.c.key.in_(list(keys)), t.attempts.c.at >= since)
            ).scalar_one()
        )

    def add_attempts(self, keys: Sequence[str], now: datetime) -> None:
        self._insert_rows(t.attempts, [{"key": k, "at": now} for k in keys])

    def clear_attempts(self, keys: Sequence[str], before: datetime | None = None) -> None:
        """Forget attempts of ``keys`` (a success), or of every key before a time (pruning)."""
        condition: ColumnElement[bool] = t.attempts.c.key.in_(list(keys))
        if before is not None:
            condition = or_(condition, t.attempts.c.at < before)
        self.connection.execute(t.attempts.delete().where(condition))

    def secret(self, name: str, new_value: str) -> str:
        """The stored secret ``name``; ``new_value`` is stored first if there is none.

        Two processes starting together both insert; one wins, both read its value.
        """
        self.connection.execute(
            self._insert(t.secrets)
            .values(name=name, value=new_value)
            .on_conflict_do_nothing(index_elements=[t.secrets.c.name])
        )
        return str(
            self.connection.execute(
                select(t.secrets.c.value).where(t.secrets.c.name == name)
            ).scalar_one()
        )

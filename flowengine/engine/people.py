"""People, their role grants and delegations (vekalet)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flowengine.engine.catalogue import Catalogue
from flowengine.engine.context import Context
from flowengine.errors import InvalidData, UnknownPerson
from flowengine.instance import Person, RoleGrant
from flowengine.storage.ports import UnitOfWork


def parse_grant(text: str) -> RoleGrant:
    """``role`` or ``role:directorate`` → :class:`RoleGrant` (ids match exactly)."""
    role, _, directorate = text.partition(":")
    if not role:
        raise InvalidData({"role": f"'{text}' is not ROLE or ROLE:DIRECTORATE"})
    return RoleGrant(role, directorate or None)


class People:
    def __init__(self, ctx: Context, catalogue: Catalogue) -> None:
        self.ctx = ctx
        self.catalogue = catalogue

    def add(self, person_id: str, name: str, roles: Sequence[RoleGrant | str]) -> Person:
        """Create or replace a person with their roles (``role`` or ``role:directorate``)."""
        grants = tuple(r if isinstance(r, RoleGrant) else parse_grant(r) for r in roles)
        self.catalogue.check_grants(grants)
        person = Person(person_id, name, grants)
        with self.ctx.store.unit() as unit:
            unit.save_person(person, self.ctx.clock())
        return person

    def all(self) -> list[Person]:
        with self.ctx.store.unit(writes=False) as unit:
            return unit.people()

    def get(self, person_id: str) -> Person:
        with self.ctx.store.unit(writes=False) as unit:
            return self.in_unit(unit, person_id)

    def in_unit(self, unit: UnitOfWork, person_id: str) -> Person:
        """The person with today's roles, delegated ones included; or UnknownPerson."""
        person = unit.person(person_id, self.ctx.today())
        if person is None:
            raise UnknownPerson(person_id)
        return person

    def delegate(
        self,
        from_person: str,
        to_person: str,
        role: str,
        starts_on: date,
        ends_on: date,
        reason: str,
    ) -> None:
        """Give ``to_person`` ``from_person``'s ``role`` (vekalet) for those days, inclusive."""
        grant = parse_grant(role)
        if ends_on < starts_on:
            raise InvalidData({"until": f"{ends_on} is before {starts_on}"})
        today = self.ctx.today()
        if ends_on < today:
            raise InvalidData(
                {"until": f"{ends_on} has passed (today is {today}); give a last day from today on"}
            )
        if not reason.strip():
            raise InvalidData({"reason": "give the reason for the delegation with --reason"})
        with self.ctx.store.unit() as unit:
            principal = self.in_unit(unit, from_person)
            self.in_unit(unit, to_person)
            if not principal.grant(grant.role, grant.directorate):
                raise InvalidData({"role": f"{from_person} does not hold {grant} to delegate it"})
            unit.add_delegation(
                from_person, to_person, grant, starts_on, ends_on, reason, self.ctx.clock()
            )

    def delegations(self) -> list[dict[str, Any]]:
        """Delegations in force today or later."""
        with self.ctx.store.unit(writes=False) as unit:
            return unit.delegations(self.ctx.today())

"""The catalogue: the flows of the folder, the versions deployed in the database,
and the roles and directorates a grant may name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flowengine import schema
from flowengine.definition import FlowDefinition, compile_flow
from flowengine.documents import parse_document
from flowengine.engine.context import Context
from flowengine.errors import ConfigurationError, DefinitionError, InvalidData, UnknownFlow
from flowengine.instance import RoleGrant
from flowengine.loader import load_text
from flowengine.storage.ports import FlowCatalogue, UnitOfWork


class Catalogue:
    def __init__(self, ctx: Context, definitions: Mapping[str, FlowDefinition]) -> None:
        self.ctx = ctx
        self.current = dict(definitions)
        self._versions: dict[tuple[str, int], FlowDefinition] = {
            (d.flow, d.version): d for d in definitions.values()
        }
        # (flow, version) → content hash of versions read back from the database;
        # a deployed version is never changed or removed, so one read per process.
        self._deployed: dict[tuple[str, int], str] = {}

    def definition(
        self, flow: str, version: int | None = None, unit: FlowCatalogue | None = None
    ) -> FlowDefinition:
        """The definition of ``flow`` at ``version`` (the current file when None)."""
        if version is None:
            if flow not in self.current:
                raise UnknownFlow(flow, self.current)
            return self.current[flow]
        cached = self._versions.get((flow, version))
        if cached is not None:
            return cached
        if unit is None:
            with self.ctx.store.unit(writes=False) as fresh:
                return self.definition(flow, version, fresh)
        stored = unit.flow_version(flow, version)
        if stored is None:
            raise UnknownFlow(f"{flow} v{version}", self.current)
        _, source = stored
        loaded = load_text(source, f"<{flow} v{version} in the database>")
        doc, issues = parse_document(schema.FlowDoc, loaded)
        if doc is None:
            raise DefinitionError(issues)
        organization = self.ctx.organization
        directorates = frozenset(organization.directorates if organization else ())
        compiled = compile_flow(doc, source, directorates)
        self._versions[(flow, version)] = compiled
        return compiled

    def deploy(self, flows: Sequence[str] | None = None) -> list[tuple[str, int, bool]]:
        """Store the current version of each flow (all when None): (flow, version, new?)."""
        chosen = sorted(flows) if flows is not None else sorted(self.current)
        done = []
        with self.ctx.store.unit() as unit:
            for flow in chosen:
                definition = self.definition(flow)
                done.append((flow, definition.version, self.deploy_in(unit, definition)))
        return done

    def deploy_in(self, unit: UnitOfWork, definition: FlowDefinition) -> bool:
        """Store ``definition`` unless that version is there; True when it was stored."""
        key = (definition.flow, definition.version)
        known = self._deployed.get(key)
        stored = (known, "") if known is not None else unit.flow_version(*key)
        if stored is None:
            unit.put_flow_version(
                definition.flow,
                definition.version,
                definition.content_hash,
                definition.source,
                self.ctx.clock(),
            )
            return True
        self._deployed[key] = stored[0]
        if stored[0] != definition.content_hash:
            raise ConfigurationError(
                f"flows/{definition.flow}.yaml changed but its version is still "
                f"{definition.version}, which is already deployed; raise 'version' to "
                f"{definition.version + 1}"
            )
        return False

    def newest(self, unit: UnitOfWork, flow: str) -> FlowDefinition:
        """The definition new instances of ``flow`` start on: the newest deployed or the file."""
        current = self.definition(flow)
        latest = unit.latest_version(flow)
        if latest is not None and latest > current.version:
            return self.definition(flow, latest, unit)
        return current

    def check_grants(self, grants: Sequence[RoleGrant]) -> None:
        """Every role is declared somewhere, every directorate in the organisation file."""
        organization = self.ctx.organization
        known_roles = set(organization.roles) if organization else set()
        for definition in self.current.values():
            known_roles |= set(definition.doc.roles)
        directorates = set(organization.directorates) if organization else set()
        for grant in grants:
            if grant.role not in known_roles:
                raise InvalidData(
                    {"role": f"'{grant.role}' is not declared in any flow or the organisation file"}
                )
            if grant.directorate and grant.directorate not in directorates:
                raise InvalidData(
                    {"role": f"'{grant.directorate}' is not a directorate of the organisation file"}
                )

    def role_title(self, role: str) -> str:
        """The title of a role, from the organisation file or any flow."""
        organization = self.ctx.organization
        if organization and role in organization.roles:
            return organization.roles[role].title
        for definition in self.current.values():
            if role in definition.doc.roles:
                return definition.doc.roles[role].title
        return role

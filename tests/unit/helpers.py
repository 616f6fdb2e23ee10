"""Flows compiled from YAML text in memory, and the records a pure step needs.

The same path as the engine's: load the text, parse it as a flow document,
check it with the validator against an organisation, compile it. Nothing here
touches a file or a database.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

from flowengine import runtime, schema
from flowengine.checks import FlowChecker, ParsedFlow, subflow_cycles
from flowengine.definition import FlowDefinition, compile_flow
from flowengine.documents import parse_document
from flowengine.errors import Issue
from flowengine.instance import Instance, Person, RoleGrant
from flowengine.loader import load_text

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, no holiday

ORGANIZATION = """
municipality: Ayvalık Belediyesi
directorates:
  yazi_isleri:
    title: Yazı İşleri Müdürlüğü
    units:
      evrak: {title: Evrak Birimi}
  fen_isleri:
    title: Fen İşleri Müdürlüğü
roles:
  masa: {title: Masa görevlisi}
  mudur: {title: Müdür}
  fen: {title: Fen İşleri görevlisi}
  zabita: {title: Zabıta memuru}
"""


def organization() -> schema.OrganizationDoc:
    doc, issues = parse_document(schema.OrganizationDoc, load_text(ORGANIZATION, "<org>"))
    assert doc is not None, issues
    return doc


def checked(text: str) -> tuple[schema.FlowDoc, list[Issue]]:
    """The flow written in ``text`` and every issue the validator finds in it."""
    loaded = load_text(textwrap.dedent(text), "<test flow>")
    doc, issues = parse_document(schema.FlowDoc, loaded)
    assert doc is not None, [i.format() for i in issues]
    parsed = ParsedFlow(doc, loaded)
    flows = {doc.flow: parsed}
    return doc, FlowChecker(parsed, organization(), flows, doc.flow).run() + subflow_cycles(flows)


def compiled(text: str) -> FlowDefinition:
    """The definition of a flow written in ``text``; it must validate without errors."""
    doc, issues = checked(text)
    errors = [i.format() for i in issues if i.severity == "error"]
    assert errors == [], errors
    return compile_flow(doc, textwrap.dedent(text), frozenset(organization().directorates))


def person(person_id: str, *roles: str) -> Person:
    """A person holding ``roles`` (``role:directorate`` scopes one)."""
    grants = []
    for role in roles:
        name, _, directorate = role.partition(":")
        grants.append(RoleGrant(name, directorate or None))
    return Person(person_id, person_id.title(), tuple(grants))


def blank(definition: FlowDefinition, data: dict[str, Any] | None = None) -> Instance:
    """A new instance before its start step, as the engine makes one."""
    merged = runtime.new_instance_data(definition, data or {})
    return Instance(
        id="11111111-2222-3333-4444-555555555555",
        reference="DL-2026-000001",
        flow=definition.flow,
        version=definition.version,
        states=(),
        status="active",
        data=merged,
        row_version=0,
        created_at=NOW,
        updated_at=NOW,
        updated_by="ayse",
    )


def started(
    definition: FlowDefinition, data: dict[str, Any] | None = None, actor: str = "ayse"
) -> runtime.StepResult:
    return runtime.start(definition, blank(definition, data), actor, NOW)

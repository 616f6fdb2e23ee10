"""The citizen desk: an application over the engine, not part of it.

    receipts    the receipt (alındı belgesi): printable HTML and message text
    reports     the desk report (``flowengine report bizim-masa``)
    citizen     ``/durum``: the status lookup, its second factor and throttle
    demo_data   a generated year of Bizim Masa requests (``flowengine demo-data``)

Every module here reads the fields it uses from the flow's ``desk:`` section
(``schema.DeskDoc``), never by a hard-coded name. The receipt's content and
text stay below the engine (``flowengine/receipt_text.py``), which sends it on
start. Nothing in the core (engine, runtime, storage, definition, checks…)
imports this package; the faces (cli, web) do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowengine import schema

if TYPE_CHECKING:
    from flowengine.definition import FlowDefinition
    from flowengine.engine import Engine


def desk_fields(engine: Engine, definition: FlowDefinition) -> schema.DeskDoc | None:
    """The ``desk:`` of ``definition`` (an instance's version), else of its flow's
    newest file: a request started before the section was added reads the same."""
    if definition.doc.desk is not None:
        return definition.doc.desk
    current = engine.current.get(definition.flow)
    return current.doc.desk if current is not None else None

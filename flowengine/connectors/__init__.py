"""Connectors deliver recorded effects to the world outside the database.

A connector is any object with ``deliver(item: OutboxItem) -> None`` that raises
:class:`DeliveryError` (or any exception) when the effect did not get through.
It receives the effect's stable ``item.idempotency_key`` and must pass it on
(an e-mail's Message-ID, a webhook header, a spool file name) so that a
re-delivery after a crash can be recognised downstream.

Connectors are found by name in the entry-point group ``flowengine.connectors``
(a municipality adds its own in its own package, without forking), and each
effect kind is mapped to a name in ``[connectors]`` of flowengine.toml
(defaults: email→smtp, webhook→webhook, publish→spool, notify→inbox). A
connector class is built with ``(settings: dict, store)``: its own
``[connectors.NAME]`` table and the SQL store (only ``inbox`` uses the store).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Protocol

from flowengine.errors import ConfigurationError
from flowengine.errors import DeliveryError as DeliveryError  # connectors raise it from here
from flowengine.instance import OutboxItem

GROUP = "flowengine.connectors"
DEFAULT_CONNECTORS = {"email": "smtp", "webhook": "webhook", "publish": "spool", "notify": "inbox"}


class Connector(Protocol):
    def deliver(self, item: OutboxItem) -> None: ...


def _builtin(name: str) -> Any:
    # Built-ins are importable without installed metadata (e.g. from a source tree).
    if name == "smtp":
        from flowengine.connectors.email import SmtpConnector

        return SmtpConnector
    if name == "webhook":
        from flowengine.connectors.webhook import WebhookConnector

        return WebhookConnector
    if name == "spool":
        from flowengine.connectors.spool import SpoolConnector

        return SpoolConnector
    if name == "inbox":
        from flowengine.connectors.inbox import InboxConnector

        return InboxConnector
    return None


def connector_class(name: str) -> Any:
    """The connector class registered under ``name`` (entry points win over built-ins)."""
    for point in entry_points(group=GROUP):
        if point.name == name:
            return point.load()
    found = _builtin(name)
    if found is None:
        known = sorted(
            {p.name for p in entry_points(group=GROUP)} | set(DEFAULT_CONNECTORS.values())
        )
        raise ConfigurationError(
            f"no connector named '{name}' (entry point group {GROUP}); known: {', '.join(known)}"
        )
    return found


def build_connectors(config: dict[str, Any], store: Any) -> dict[str, Connector]:
    """Effect kind → connector instance, from ``[connectors]`` of flowengine.toml."""
    section = dict(config.get("connectors", {}))
    chosen = {**DEFAULT_CONNECTORS}
    for kind, name in section.items():
        if isinstance(name, str):
            chosen[kind] = name
    connectors: dict[str, Connector] = {}
    for kind, name in chosen.items():
        settings = section.get(name, {})
        if not isinstance(settings, dict):
            raise ConfigurationError(f"flowengine.toml: [connectors.{name}] must be a table")
        connectors[kind] = connector_class(name)(settings, store)
    return connectors

"""``notify`` effects become in-app notifications, shown in the recipients' inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowengine.instance import OutboxItem


class InboxConnector:
    def __init__(self, settings: dict[str, Any], store: Any) -> None:
        self.store = store

    def deliver(self, item: OutboxItem) -> None:
        # one row per (effect, role): a second delivery of the same effect adds nothing
        with self.store.unit() as unit:
            unit.add_notifications(item, datetime.now(UTC))

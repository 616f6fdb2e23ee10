"""``publish`` effects are written as JSON files to a spool folder, one per channel.

The real social networks are outside this machine's reach; an operator or
another tool picks the posts up from ``<directory>/<channel>/<key>.json``. The
file name is the effect's idempotency key, written atomically (temp + rename),
so a re-delivery rewrites the same file rather than posting twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flowengine.errors import DeliveryError
from flowengine.instance import OutboxItem


class SpoolConnector:
    def __init__(self, settings: dict[str, Any], store: Any) -> None:
        self.directory = Path(str(settings.get("directory", "spool")))

    def deliver(self, item: OutboxItem) -> None:
        channels = item.payload.get("channels") or ["default"]
        document = {
            "idempotency_key": item.idempotency_key,
            "instance": item.reference or item.instance_id,
            "text": item.payload.get("text", ""),
            "created_at": item.created_at.isoformat(),
        }
        try:
            for channel in channels:
                folder = self.directory / str(channel)
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"{item.idempotency_key}.json"
                temporary = target.with_suffix(".tmp")
                temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
                os.replace(temporary, target)
        except OSError as exc:
            raise DeliveryError(f"cannot write to spool {self.directory}: {exc.strerror}") from exc

"""``webhook`` effects: an HTTP POST with a timeout and an HMAC-SHA256 signature.

Headers: ``Idempotency-Key`` (the effect's stable key) and
``X-Flowengine-Signature: sha256=<hex>`` over the body, keyed by the secret named
in ``secret_env`` (default FLOWENGINE_WEBHOOK_SECRET). Any answer other than
2xx is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import httpx

from flowengine.errors import DeliveryError
from flowengine.instance import OutboxItem


class WebhookConnector:
    def __init__(self, settings: dict[str, Any], store: Any) -> None:
        self.timeout = float(settings.get("timeout", 10.0))
        secret_env = str(settings.get("secret_env", "FLOWENGINE_WEBHOOK_SECRET"))
        self.secret = os.environ.get(secret_env, "").encode("utf-8")

    def deliver(self, item: OutboxItem) -> None:
        url = str(item.payload.get("url", ""))
        body = item.payload.get("body") or json.dumps(
            {"instance": item.reference or item.instance_id, "state": item.state},
            ensure_ascii=False,
        )
        content = str(body).encode("utf-8")
        signature = hmac.new(self.secret, content, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": item.idempotency_key,
            "X-Flowengine-Signature": f"sha256={signature}",
        }
        try:
            response = httpx.post(url, content=content, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")

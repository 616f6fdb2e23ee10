"""What an effect of the flow (notify, email, publish, webhook) puts in the outbox:
its kind and payload, templates filled from the instance's data."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from flowengine import schema


def _render(template: str, data: Mapping[str, Any]) -> str:
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            value = data.get(name)
            out.append("" if value is None else str(value))
    return "".join(out)


def render_effect(effect: schema.EffectDoc, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The outbox payload of an effect, templates filled from ``data``."""
    if effect.notify:
        return "notify", {
            "roles": list(effect.notify.roles),
            "message": _render(effect.notify.message, data),
        }
    if effect.email:
        return "email", {
            "to": [_render(t, data) for t in effect.email.to],
            "subject": _render(effect.email.subject, data),
            "body": _render(effect.email.body, data),
        }
    if effect.publish:
        return "publish", {
            "channels": list(effect.publish.channels),
            "text": _render(effect.publish.text, data),
        }
    assert effect.webhook is not None  # noqa: S101 - EffectDoc validates exactly one kind
    return "webhook", {
        "url": _render(effect.webhook.url, data),
        "body": _render(effect.webhook.body or "", data),
    }

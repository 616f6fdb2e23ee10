"""``email`` effects over SMTP (smtplib), with optional STARTTLS and login.

The Message-ID is derived from the effect's idempotency key, so a message sent
again after a crash carries the same id and mail systems can drop the copy.
Settings (``[connectors.smtp]``): host, port, starttls, username,
password_env (the name of an environment variable, never the password itself),
sender, timeout.

A message to the citizen (the receipt) names the field holding their address
(``to_field``) instead of the address itself: it is read from the instance at
delivery, so the outbox never holds it, and after an erasure nothing is sent.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flowengine.errors import DeliveryError
from flowengine.instance import OutboxItem


class SmtpConnector:
    def __init__(self, settings: dict[str, Any], store: Any) -> None:
        self.store = store
        self.host = str(settings.get("host", "localhost"))
        self.port = int(settings.get("port", 25))
        self.starttls = bool(settings.get("starttls", False))
        self.username = settings.get("username")
        self.password_env = settings.get("password_env")
        self.sender = str(settings.get("sender", "flowengine@localhost"))
        self.timeout = float(settings.get("timeout", 30.0))

    def message(self, item: OutboxItem, recipients: list[str]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = str(item.payload.get("subject", ""))
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{item.idempotency_key}@flowengine>"
        message.set_content(str(item.payload.get("body", "")))
        return message

    def recipients(self, item: OutboxItem) -> list[str]:
        found = [str(a) for a in item.payload.get("to", []) if str(a).strip()]
        field = item.payload.get("to_field")
        if field and self.store is not None:
            with self.store.unit(writes=False) as unit:
                instance = unit.load_instance(item.instance_id)
            address = instance.data.get(str(field)) if instance else None
            if isinstance(address, str) and "@" in address:  # not erased, not empty
                found.append(address)
        return found

    def deliver(self, item: OutboxItem) -> None:
        recipients = self.recipients(item)
        if not recipients:
            raise DeliveryError("e-mail has no recipients (or the address was erased)")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    password = os.environ.get(str(self.password_env or ""), "")
                    smtp.login(str(self.username), password)
                smtp.send_message(self.message(item, recipients), to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "smtp_code", None)
            reason = f"SMTP {code}" if code else type(exc).__name__
            raise DeliveryError(
                f"e-mail not accepted by {self.host}:{self.port} ({reason})"
            ) from exc

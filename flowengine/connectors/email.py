"""``email`` effects over SMTP (smtplib), with optional STARTTLS and login.

The Message-ID is derived from the effect's idempotency key, so a message sent
again after a crash carries the same id and mail systems can drop the copy.
Settings (``[connectors.smtp]``): host, port, starttls, username,
password_env (the name of an environment variable, never the password itself),
sender, timeout.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flowengine.connectors import DeliveryError
from flowengine.instance import OutboxItem


class SmtpConnector:
    def __init__(self, settings: dict[str, Any], store: Any) -> None:
        self.host = str(settings.get("host", "localhost"))
        self.port = int(settings.get("port", 25))
        self.starttls = bool(settings.get("starttls", False))
        self.username = settings.get("username")
        self.password_env = settings.get("password_env")
        self.sender = str(settings.get("sender", "flowengine@localhost"))
        self.timeout = float(settings.get("timeout", 30.0))

    def message(self, item: OutboxItem) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(str(a) for a in item.payload.get("to", []))
        message["Subject"] = str(item.payload.get("subject", ""))
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{item.idempotency_key}@flowengine>"
        message.set_content(str(item.payload.get("body", "")))
        return message

    def deliver(self, item: OutboxItem) -> None:
        recipients = [str(a) for a in item.payload.get("to", []) if str(a).strip()]
        if not recipients:
            raise DeliveryError("e-mail has no recipients")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    password = os.environ.get(str(self.password_env or ""), "")
                    smtp.login(str(self.username), password)
                smtp.send_message(self.message(item), to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "smtp_code", None)
            reason = f"SMTP {code}" if code else type(exc).__name__
            raise DeliveryError(
                f"e-mail not accepted by {self.host}:{self.port} ({reason})"
            ) from exc

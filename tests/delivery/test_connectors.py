"""Delivery through real servers on loopback: SMTP (aiosmtpd) and HTTP (webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from flowengine import trust
from flowengine.config import DeliverySettings
from flowengine.connectors.email import SmtpConnector
from flowengine.connectors.inbox import InboxConnector
from flowengine.connectors.spool import SpoolConnector
from flowengine.connectors.webhook import WebhookConnector
from flowengine.engine import Engine
from flowengine.worker import Worker
from tests.engine.helpers import LAMBA, approve_press_release

TEST_FLOWS = Path(__file__).parent / "flows"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FlakySmtp:
    """Answers 451 (try later) to the first ``failures`` messages, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.failures > 0:
            self.failures -= 1
            return "451 4.3.0 try again later"
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[FlakySmtp, int]]:
    handler = FlakySmtp(failures=2)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_approved_release_is_emailed_once_despite_two_smtp_failures(
    engine: Engine, smtp: tuple[FlakySmtp, int], tmp_path: Path
) -> None:
    """Two 451s are retried; the third attempt delivers; later ticks send nothing more."""
    handler, port = smtp
    connectors = {
        "email": SmtpConnector({"host": "127.0.0.1", "port": port, "sender": "basin@x"}, None),
        "notify": InboxConnector({}, engine.store),
        "publish": SpoolConnector({"directory": str(tmp_path / "spool")}, None),
    }
    worker = Worker(engine, connectors, DeliverySettings(base_delay=0.0), worker_id="w1")
    ref = approve_press_release(engine)
    results = [worker.tick() for _ in range(5)]
    assert [r.retried for r in results[:2]] == [1, 1]
    assert len(handler.received) == 1
    message = message_from_bytes(handler.received[0], policy=policy.default)
    assert message["To"] == "basin@ayvalik.bel.tr"
    [email] = [i for i in engine.outbox(ref) if i.kind == "email"]
    assert (email.status, email.attempts) == ("delivered", 3)
    assert message["Message-ID"] == f"<{email.idempotency_key}@flowengine>"
    assert "Sahil yolu açılışı" in message["Subject"]


class Always500(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Always500.seen.append((body, dict(self.headers)))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def http_500() -> Iterator[str]:
    Always500.seen = []
    server = HTTPServer(("127.0.0.1", 0), Always500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_answering_500_is_retried_then_dead_lettered_and_can_be_retried(
    db_url: str, http_500: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three 500s: dead, with the error kept; `retry` queues it again; signed, no personal data."""
    monkeypatch.setenv("FLOWENGINE_WEBHOOK_SECRET", "gizli")
    engine = Engine.open(db_url, TEST_FLOWS, upgrade=True)
    engine.add_person("masa1", "Masa", ["masa"])
    case = engine.start(
        "duyuru", {"hedef_url": http_500, "metin": "Su kesintisi 14:00", "ad": "Ayla Tan"}, "masa1"
    )
    engine.fire(case.reference, "onayla", "masa1")
    worker = Worker(
        engine,
        {"webhook": WebhookConnector({}, None)},
        DeliverySettings(base_delay=0.0, max_attempts=3),
    )
    outcomes = [worker.tick() for _ in range(4)]
    assert [(o.retried, o.dead) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    [item] = engine.outbox(case.reference)
    assert (item.status, item.attempts, item.last_error) == ("dead", 3, "webhook answered HTTP 500")
    body, headers = Always500.seen[0]
    assert body.decode() == "Su kesintisi 14:00 (***)", "personal data left the building"
    expected = hmac.new(b"gizli", body, hashlib.sha256).hexdigest()
    assert headers["X-Flowengine-Signature"] == f"sha256={expected}"
    assert {h["Idempotency-Key"] for _, h in Always500.seen} == {item.idempotency_key}
    assert engine.retry_effect(item.id).status == "pending"
    assert worker.tick().retried == 1
    assert engine.get(case.reference).outcome == "sent", "a failed delivery changed the case"
    engine.close()


def test_spool_connector_writes_one_file_per_channel_idempotently(
    engine: Engine, tmp_path: Path
) -> None:
    """A publish effect lands once per channel, even when delivered twice."""
    from flowengine.instance import OutboxItem

    spool = SpoolConnector({"directory": str(tmp_path)}, None)
    ref = approve_press_release(engine)
    [case] = [i for i in engine.instances(flow="sosyal_medya")]
    assert case.parent_id == engine.get(ref).id
    item: OutboxItem = next(
        i for i in engine.outbox(ref) if i.kind == "email"
    )  # any item will do for the file format
    publish = OutboxItem(
        **{**vars(item), "kind": "publish", "payload": {"channels": ["facebook", "x"], "text": "Ç"}}
    )
    spool.deliver(publish)
    spool.deliver(publish)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert files == [
        f"facebook/{publish.idempotency_key}.json",
        f"x/{publish.idempotency_key}.json",
    ]


def test_the_receipt_reaches_the_citizen_without_their_address_in_the_outbox(
    engine: Engine,
) -> None:
    """Bizim Masa's `receipt:` e-mails the citizen; the address is read at delivery."""
    handler = FlakySmtp(failures=0)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        connectors = {
            "email": SmtpConnector({"host": "127.0.0.1", "port": port}, engine.store),
            "notify": InboxConnector({}, engine.store),
        }
        worker = Worker(engine, connectors, DeliverySettings(base_delay=0.0), worker_id="w1")
        sent = engine.start("bizim_masa", {**LAMBA, "eposta": "zeynep@example.org"}, "ayse")
        erased = engine.start("bizim_masa", {**LAMBA, "eposta": "ayla@example.org"}, "ayse")
        [receipt] = [i for i in engine.outbox(sent.reference) if i.kind == "email"]
        assert "@" not in json.dumps(receipt.payload)  # operators listing it see no address
        trust.erase(engine, erased.reference, "ayse", "KVKK başvurusu")
        for _ in range(4):
            worker.tick()
    finally:
        controller.stop()
    [message] = [message_from_bytes(m, policy=policy.default) for m in handler.received]
    assert message["To"] == "zeynep@example.org"
    assert sent.reference in message["Subject"]
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert "alınmıştır" in body and "en geç" in body and "Zeynep" not in body
    [never] = [i for i in engine.outbox(erased.reference) if i.kind == "email"]
    assert never.status in ("failed", "dead") and "erased" in (never.last_error or "")

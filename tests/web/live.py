"""A real `flowengine serve` process on a free port, over a database set up by the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.cli.helpers import cli, ok
from tests.conftest import FLOWS, ROOT
from tests.web.conftest import PASSWORD


@dataclass(frozen=True)
class LiveServer:
    url: str
    db_url: str
    app_token: str  # the civic app's API token (Open311)
    desk_token: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def set_up(db_url: str) -> tuple[str, str]:
    """People of the charts with passwords, and two API tokens; returns (app, desk) tokens."""
    ok(db_url, "db", "upgrade")
    people = [
        ("serkan.kibar", "Serkan KİBAR", "bizim_masa"),
        ("hakan.ozturk", "Hakan ÖZTÜRK", "ilgili_mudurluk:fen_isleri"),
        ("cepte", "Ayvalık Cepte", "open311_istemcisi"),
    ]
    for person, name, role in people:
        ok(db_url, "people", "add", person, "--name", name, "--role", role)
    for person in ("serkan.kibar", "hakan.ozturk"):
        result = cli(
            db_url, "people", "set-password", person, "--password-stdin", input=PASSWORD + "\n"
        )
        assert result.returncode == 0, result.stderr
    app = ok(db_url, "tokens", "create", "--as", "cepte", "--name", "Ayvalık Cepte")
    desk = ok(db_url, "tokens", "create", "--as", "serkan.kibar", "--name", "masa")
    return app, desk


@contextmanager
def serve(db_url: str) -> Iterator[LiveServer]:
    app_token, desk_token = set_up(db_url)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(FLOWS),
         "serve", "--port", str(port)],
        cwd=ROOT, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"{url}/login", timeout=1).status_code == 200
            except httpx.TransportError:
                ready = False  # not listening yet
            if ready:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"flowengine serve did not start: {output}")
            time.sleep(0.1)
        yield LiveServer(url, db_url, app_token, desk_token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stdout:
            process.stdout.close()

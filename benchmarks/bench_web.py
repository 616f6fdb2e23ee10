"""The web face under one client: a real `flowengine serve` process on SQLite.

Each figure is the median latency of one request, sent one after another
from this process over loopback (so it includes HTTP, the ASGI stack, the
engine and the database). Baseline in the same run: a static file from the
same server (the framework's floor). Login is argon2's cost by design.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import BIZIM_MASA_PAYLOAD, emit, measure

ROOT = Path(__file__).resolve().parents[1]
CASES = 300
PASSWORD = "bench-parola-2026"  # noqa: S105 - the benchmark's own


def wait_until_up(client: httpx.Client) -> None:
    for _ in range(300):
        try:
            client.get("/static/style.css")
            return
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet
    raise SystemExit("flowengine serve did not start")


def main() -> None:
    from flowengine.accounts import Accounts
    from flowengine.engine import Engine

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/web.db"
        engine = Engine.open(url, ROOT / "flows", upgrade=True)
        engine.add_person("ayse", "Ayşe Yılmaz", ["bizim_masa"])
        accounts = Accounts(engine)
        accounts.set_password("ayse", PASSWORD)
        token = accounts.create_token("ayse", "bench").text
        refs = [engine.start("bizim_masa", BIZIM_MASA_PAYLOAD, actor="ayse").reference
                for _ in range(CASES)]  # fmt: skip
        engine.close()
        port = 8000 + os.getpid() % 1000
        server = subprocess.Popen(
            [sys.executable, "-m", "flowengine", "--db", url, "serve", "--port", str(port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, timeout=10) as client:
                wait_until_up(client)
                pending = iter(refs)
                figures = {
                    "static_file": measure(lambda: client.get("/static/style.css"), rounds=50),
                    "get_instance": measure(
                        lambda: client.get(f"/api/v1/instances/{refs[0]}", headers=auth), rounds=50
                    ),
                    "tasks_page_50": measure(
                        lambda: client.get("/api/v1/tasks?limit=50", headers=auth), rounds=30
                    ),
                    "fire_event": measure(
                        lambda: client.post(
                            f"/api/v1/instances/{next(pending)}/events/kurum_disi", headers=auth
                        ),
                        rounds=50,
                    ),
                    "start_via_api": measure(
                        lambda: client.post(
                            "/api/v1/instances",
                            json={"flow": "bizim_masa", "data": BIZIM_MASA_PAYLOAD},
                            headers=auth,
                        ),
                        rounds=30,
                    ),
                }
            with Engine.open(url, ROOT / "flows") as reopened:
                accounts = Accounts(reopened)
                figures["login_argon2"] = measure(
                    lambda: accounts.login("ayse", PASSWORD, client="bench"), rounds=5
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    floor = figures["static_file"]["median_s"]
    print(f"Web face, one client, sequential requests (median, ms; {CASES} open cases)")
    for name, value in figures.items():
        ms = value["median_s"] * 1000
        print(f"  {name:16s} {ms:8.2f} ms  ({value['median_s'] / floor:5.1f}× a static file)")
    emit("web", {f"{k}_ms": round(v["median_s"] * 1000, 2) for k, v in figures.items()})

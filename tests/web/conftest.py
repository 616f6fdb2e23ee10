"""An app over an engine with the people of the charts, their passwords and a civic app's token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flowengine.accounts import Accounts
from flowengine.engine import Engine
from flowengine.web import create_app

PASSWORD = "gizli-parola-123"  # noqa: S105 - a test password


@dataclass
class Web:
    engine: Engine
    accounts: Accounts
    client: TestClient
    app_token: str  # the Open311 client's API token
    desk_token: str  # ayse's (bizim_masa)
    fen_token: str  # mehmet's (ilgili_mudurluk:fen_isleri)

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def prepare(engine: Engine) -> tuple[Accounts, str, str, str]:
    engine.add_person("cepte", "Ayvalık Cepte", ["open311_istemcisi"])
    accounts = Accounts(engine)
    for person in ("ayse", "mehmet"):
        accounts.set_password(person, PASSWORD)
    return (
        accounts,
        accounts.create_token("cepte", "Ayvalık Cepte").text,
        accounts.create_token("ayse", "masa betiği").text,
        accounts.create_token("mehmet", "fen betiği").text,
    )


@pytest.fixture
def web(engine: Engine) -> Iterator[Web]:
    accounts, app_token, desk_token, fen_token = prepare(engine)
    with TestClient(create_app(engine), base_url="http://testserver") as client:
        yield Web(engine, accounts, client, app_token, desk_token, fen_token)


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def log_in(client: TestClient, person: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "person": person, "password": password, "next": "/inbox"},
    )

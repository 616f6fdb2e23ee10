"""The OpenAPI document is checked against the live server by schemathesis.

schemathesis generates requests from the document (examples, boundary
values, then random fuzzing) and checks every answer against it: no server
error, only documented status codes, content types, headers and response
shapes, malformed input rejected, Allow on 405. One check is left out:
`positive_data_acceptance` expects every request the document allows to
succeed, but the document cannot state a flow's own rules (required fields,
enum values of `bizim_masa`); the engine enforces those with a 422 (400 in
Open311's format), which is what a client must be told.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import Web
from tests.web.live import serve

pytestmark = pytest.mark.slow


@pytest.mark.acceptance
def test_schemathesis_finds_nothing_against_the_live_server(db_url: str, tmp_path: Path) -> None:
    with serve(db_url) as live:
        document = httpx.get(f"{live.url}/openapi.json").json()
        assert "/api/v1/instances/{ref}/events/{event}" in document["paths"]
        assert "/open311/v2/requests.json" in document["paths"]
        result = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run", f"{live.url}/openapi.json",
                "-H", f"Authorization: Bearer {live.desk_token}",
                "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                "--phases", "examples,coverage,fuzzing", "--max-examples", "25",
                "--workers", "1", "--seed", "20261126", "--no-color",
            ],
            capture_output=True, text=True, check=False, timeout=600,
            cwd=tmp_path,  # its .schemathesis/ cache stays out of the repository
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout


def test_the_document_declares_auth_and_every_error_response(web: Web) -> None:
    document = web.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyCookie"]["name"] == "flowengine_session"
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path.startswith("/api/v1/"):
                assert operation["security"], (method, path)
                for status in ("400", "401", "403", "404", "409", "422", "429", "500", "503"):
                    content = responses[status]["content"]["application/json"]
                    assert content["schema"] == error, (method, path, status)
            else:  # Open311: GeoReport's arrays of {code, description}
                assert path.startswith("/open311/v2/")
                schema = responses["400"]["content"]["application/json"]["schema"]
                assert schema["items"] == {"$ref": "#/components/schemas/Open311Error"}

"""Operator commands that used to mislead: deploy by path, a delegation already
over, an empty delegation list, serve on a busy port (issue 16's defects)."""

from __future__ import annotations

import socket

from tests.cli.helpers import cli, ok
from tests.conftest import ROOT


def test_deploy_takes_flow_files_of_the_folder_as_well_as_ids(db_url: str) -> None:
    assert ok(db_url, "deploy", "flows/bizim_masa.yaml").startswith("bizim_masa v")
    assert "already deployed" in ok(db_url, "deploy", "bizim_masa", "flows/basin_yayin.yaml")
    elsewhere = cli(db_url, "deploy", str(ROOT / "examples" / "patterns" / "satin_alma.yaml"))
    assert elsewhere.returncode == 1
    assert "is not in the flows folder" in elsewhere.stderr
    assert elsewhere.stderr.count("\n") == 1 and "Traceback" not in elsewhere.stderr


def test_a_delegation_already_over_is_refused_and_none_is_said_so(db_url: str) -> None:
    ok(db_url, "people", "add", "arda", "--name", "Arda BAYRİ", "--role", "mudur")
    ok(db_url, "people", "add", "vekil", "--name", "Deniz Vekil", "--role", "bizim_masa")
    past = cli(
        db_url, "people", "delegate", "arda", "vekil", "--role", "mudur",
        "--from", "2020-12-01", "--until", "2020-12-05", "--reason", "yıllık izin",
    )  # fmt: skip
    assert past.returncode == 1
    assert "2020-12-05 has passed" in past.stderr
    assert ok(db_url, "people", "delegations") == "Bugün ya da sonrası için vekalet yok."


def test_serve_on_a_busy_port_says_so_and_never_that_it_serves(db_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli(db_url, "serve", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "serving on" not in result.stderr + result.stdout

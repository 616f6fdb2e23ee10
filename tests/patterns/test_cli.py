"""`flowengine signal` and `flowengine cancel` through the real CLI."""

from __future__ import annotations

import subprocess

from tests.cli import helpers
from tests.cli.helpers import cli
from tests.patterns.conftest import PATTERNS


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(db_url, *args, flows=PATTERNS)


def ok(db_url: str, *args: str) -> str:
    return helpers.ok(db_url, *args, flows=PATTERNS)


def test_signal_and_cancel_from_the_command_line(db_url: str) -> None:
    ok(db_url, "db", "upgrade")
    ok(db_url, "people", "add", "ayse", "--name", "Ayşe Yılmaz", "--role", "masa")
    ok(db_url, "people", "add", "fatma", "--name", "Fatma İnce", "--role", "muhasebe")
    ref = ok(db_url, "start", "odeme_sinyali", "--as", "ayse").split(":")[0]
    assert ok(db_url, "signal", ref, "odeme_alindi", "--as", "fatma") == f"{ref}: basvuru_inceleme"
    refused = run(db_url, "signal", ref, "odeme_alindi", "--as", "ayse")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "may not send the signal 'odeme_alindi'" in refused.stderr
    moved = ok(db_url, "fire", ref, "incelendi", "--as", "ayse")
    assert moved.startswith(f"{ref}: son_kontrol")  # the kept payment signal was used
    no_reason = run(db_url, "cancel", ref, "--as", "ayse", "--reason", " ")
    assert no_reason.returncode != 0 and "needs a reason" in no_reason.stderr
    cancelled = ok(db_url, "cancel", ref, "--as", "ayse", "--reason", "Vazgeçildi")
    assert cancelled == f"{ref}: cancelled"
    again = run(db_url, "cancel", ref, "--as", "ayse", "--reason", "Yine")
    assert again.returncode != 0 and "Traceback" not in again.stderr

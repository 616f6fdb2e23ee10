"""Running the real CLI as a process, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FLOWS, ROOT

LAMBA = [
    "--set", "kanal=whatsapp", "--set", "basvuru_turu=sikayet",
    "--set", "ad_soyad=Zeynep Kaya", "--set", "konu=Sokak lambası yanmıyor",
    "--set", "metin=Sakarya Mahallesi'nde lamba yanmıyor",
]  # fmt: skip


def cli(db_url: str, *args: str, flows: Path = FLOWS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(flows), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def ok(db_url: str, *args: str, flows: Path = FLOWS) -> str:
    result = cli(db_url, *args, flows=flows)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()

"""audit and personal-data commands as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import LAMBA, cli, ok


def test_verify_replay_erase_export_and_checkpoint(desk: str, tmp_path: Path) -> None:
    """The trust surface end to end: a clean chain, an erasure, and a checkpoint file."""
    ref = ok(desk, "start", "bizim_masa", "--as", "ayse", *LAMBA)
    assert json.loads(ok(desk, "audit", "verify", "--all", "--json")) == [
        {"reference": ref, "problem": None}
    ]
    exported = json.loads(ok(desk, "personal-data", "export", ref, "--as", "ayse"))
    assert exported["personal_data"]["ad_soyad"] == "Zeynep Kaya"
    denied = cli(desk, "personal-data", "erase", ref, "--as", "mehmet", "--reason", "x")
    assert denied.returncode == 1 and "may not erase" in denied.stderr
    heads = tmp_path / "heads.json"
    ok(desk, "audit", "checkpoint", "-o", str(heads))
    assert "ad_soyad" in ok(
        desk, "personal-data", "erase", ref, "--as", "ayse", "--reason", "talep"
    )
    assert "Zeynep Kaya" not in ok(desk, "status", ref, "--as", "ayse")
    ok(desk, "audit", "replay", ref)
    # the erasure appended a row: the saved head still stands at its place in the chain
    ok(desk, "audit", "verify", ref, "--checkpoint", str(heads))


def test_verify_needs_a_reference_or_all(desk: str) -> None:
    """Neither or both is one clear line."""
    result = cli(desk, "audit", "verify")
    assert result.returncode == 1 and "give a reference number or --all" in result.stderr

"""A canary citizen: their personal data never shows where it must not."""

from __future__ import annotations

import json

from flowengine.engine import Engine
from tests.cli.helpers import cli, ok
from tests.conftest import FLOWS

CANARY = {
    "ad_soyad": "Kanarya Testoğlu",
    "tc_kimlik_no": "10000000146",
    "telefon": "0555 111 22 33",
    "eposta": "kanarya.vatandas@example.org",
    "adres": "Kanarya Sokak No:7 Sakarya Mahallesi",
}
SETS = [a for key, value in CANARY.items() for a in ("--set", f"{key}={value}")]


def leaks(text: str) -> list[str]:
    return [value for value in CANARY.values() if value in text]


def test_personal_data_stays_with_the_entitled(desk: str) -> None:
    """Run the CLI surface as the directorate and the worker; find the canary nowhere."""
    ref = ok(
        desk, "start", "bizim_masa", "--as", "ayse", *SETS,
        "--set", "kanal=cagri_merkezi", "--set", "basvuru_turu=sikayet",
        "--set", "konu=Kaldırım kırık", "--set", "metin=Okul önündeki kaldırım kırık.",
    )  # fmt: skip
    assert leaks(ok(desk, "status", ref, "--as", "ayse")), "the entitled desk must see it"
    ok(desk, "fire", ref, "havale_et", "--as", "ayse", "--set", "mudurluk=fen_isleri")
    seen: list[str] = []
    for args in (
        ["status", ref, "--as", "mehmet"],
        ["status", ref, "--as", "mehmet", "--json"],
        ["history", ref, "--as", "mehmet"],
        ["history", ref, "--as", "mehmet", "--json"],
        ["tasks", "--as", "mehmet"],
        ["tasks", "--as", "mehmet", "--json"],
        ["instances", "--json"],
        ["instances"],
        ["timers", "--json"],
        ["tick"],
        ["outbox", "--json"],
        ["notifications", "--as", "mehmet", "--json"],
        ["notifications", "--as", "ayse", "--json"],
    ):
        result = cli(desk, *args)
        assert result.returncode == 0, (args, result.stderr)
        seen.append(result.stdout + result.stderr)
    for args in (  # errors about personal fields must not echo the value
        ["fire", ref, "cevap_ver", "--as", "mehmet", "--set", "tc_kimlik_no=10000000146x"],
        ["start", "bizim_masa", "--as", "ayse", *SETS, "--set", "kanal=fax"],
        ["status", ref, "--as", "zabita_yok"],
    ):
        result = cli(desk, *args)
        assert result.returncode == 1
        seen.append(result.stdout + result.stderr)
    assert leaks("\n".join(seen)) == []
    engine = Engine.open(desk, FLOWS)
    try:
        outgoing = [i.payload for i in engine.outbox(ref)]
    finally:
        engine.close()
    assert leaks(json.dumps(outgoing, ensure_ascii=False)) == []

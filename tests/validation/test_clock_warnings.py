"""A statutory clock that could be left without a basis, or paused for good, is warned of."""

from __future__ import annotations

import shutil
from pathlib import Path

from flowengine.flowset import validate_paths

HERE = Path(__file__).parent

FLOW = """flow: uyari
version: 1
title: Uyarı
directorate: basin_yayin_halkla_iliskiler
unit: bizim_masa
roles:
  masa: {title: Masa}
starters: [masa]
legal_basis: dayanak
legal_bases:
  dilekce_3071: {title: Dilekçe, limit: 30d}
data:
  dayanak: {type: enum, values: [dilekce_3071]BASIS}
start: is
states:
  is:
    type: task
    role: masa
    sla: 1d
    on:
      dur: {to: is, clock: pause}RESUME
      bitir: {to: bitti}
  bitti: {type: end, outcome: done}
"""


def codes(tmp_path: Path, text: str) -> list[str]:
    shutil.copy(HERE / "broken" / "organization.yaml", tmp_path / "organization.yaml")
    (tmp_path / "uyari.yaml").write_text(text, encoding="utf-8")
    report = validate_paths([tmp_path])
    assert report.errors == []
    return sorted(w.code for w in report.warnings)


def test_an_empty_basis_and_a_pause_without_resume_are_warned_of(tmp_path: Path) -> None:
    text = FLOW.replace("BASIS", "").replace("RESUME", "")
    assert codes(tmp_path, text) == ["clock-no-resume", "legal-basis-empty"]


def test_a_default_basis_and_a_resume_silence_them(tmp_path: Path) -> None:
    text = FLOW.replace("BASIS", ", default: dilekce_3071").replace(
        "RESUME", "\n      devam: {to: is, clock: resume}"
    )
    assert codes(tmp_path, text) == []

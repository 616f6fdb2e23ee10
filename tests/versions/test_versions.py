"""Versions: old instances finish on their version; migration moves them, once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flowengine import deployment
from flowengine.engine import Engine
from flowengine.flowset import validate_paths
from tests.conftest import FLOWS, ROOT

V1 = """
flow: dilekce
version: 1
title: Dilekçe
directorate: basin_yayin_halkla_iliskiler
unit: idari_isler
roles:
  kalem: {title: Kalem}
data:
  konu: {type: string, required: true}
start: kayit
states:
  kayit:
    type: task
    role: kalem
    sla: 1d
    on:
      kaydet: {to: inceleme}
  inceleme:
    type: task
    role: kalem
    sla: 3d
    on:
      bitir: {to: bitti}
  bitti: {type: end, outcome: resolved}
"""

V2 = (
    V1.replace("version: 1", "version: 2")
    .replace("kaydet: {to: inceleme}", "kaydet: {to: degerlendirme}")
    .replace("  inceleme:", "  degerlendirme:")
    .replace("  konu: {type: string, required: true}", "  konu: {type: string, required: true}\n"
             "  oncelik: {type: enum, values: [normal, acil], default: normal}")
)  # fmt: skip


def folder(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    shutil.copy(FLOWS / "organization.yaml", path / "organization.yaml")
    (path / "dilekce.yaml").write_text(source, encoding="utf-8")
    return path


@pytest.fixture
def v1_cases(db_url: str, tmp_path: Path) -> tuple[str, Path, list[str]]:
    """Three v1 cases standing in `inceleme`, one in `kayit`."""
    engine = Engine.open(db_url, folder(tmp_path, "v1", V1), upgrade=True)
    engine.add_person("kalem1", "Kalem", ["kalem"])
    refs = []
    for i in range(4):
        case = engine.start("dilekce", {"konu": f"Dilekçe {i}"}, "kalem1")
        if i < 3:
            engine.fire(case.reference, "kaydet", "kalem1")
        refs.append(case.reference)
    engine.close()
    return db_url, folder(tmp_path, "v2", V2), refs


def test_v1_cases_finish_on_v1_after_v2_removes_their_state(
    v1_cases: tuple[str, Path, list[str]],
) -> None:
    """v2 drops `inceleme`; a v1 case there still finishes; new cases start on v2."""
    url, v2, refs = v1_cases
    engine = Engine.open(url, v2)
    assert engine.deploy() == [("dilekce", 2, True)]
    done = engine.fire(refs[0], "bitir", "kalem1")
    assert (done.version, done.outcome) == (1, "resolved")
    fresh = engine.start("dilekce", {"konu": "Yeni"}, "kalem1")
    assert fresh.version == 2 and fresh.data["oncelik"] == "normal"
    infos = {v.version: v for v in deployment.versions(engine, "dilekce")}
    assert infos[1].states == {"inceleme": 2, "kayit": 1} and infos[1].completed == 1
    assert infos[2].states == {"kayit": 1}
    found = {(c.kind, c.name, c.how) for c in deployment.changes(engine, "dilekce", 1, 2)}
    assert {
        ("state", "inceleme", "removed"),
        ("state", "degerlendirme", "added"),
        ("field", "oncelik", "added"),
        ("event", "kayit.kaydet", "changed"),
    } <= found
    engine.close()


def test_migration_refuses_to_strand_then_moves_each_case_once(
    v1_cases: tuple[str, Path, list[str]],
) -> None:
    """Without a map, cases in `inceleme` have nowhere to land: nothing moves."""
    url, v2, refs = v1_cases
    engine = Engine.open(url, v2)
    engine.deploy()
    refused = deployment.migrate(engine, "dilekce", 1, 2)
    assert len(refused.stranded) == 3 and refused.migrated == 0
    assert {engine.get(r).version for r in refs} == {1}
    plan = deployment.migrate(engine, "dilekce", 1, 2, ["inceleme=degerlendirme"], dry_run=True)
    assert [p.states_after for p in plan.plans] == [("degerlendirme",)] * 3 + [("kayit",)]
    assert plan.plans[0].work_opened == ["degerlendirme"]
    done = deployment.migrate(engine, "dilekce", 1, 2, ["inceleme=degerlendirme"])
    assert done.migrated == 4
    moved = engine.get(refs[0])
    assert (moved.version, moved.states) == (2, ("degerlendirme",))
    assert [t.state for t in engine.tasks("kalem1")].count("degerlendirme") == 3
    again = deployment.migrate(engine, "dilekce", 1, 2, ["inceleme=degerlendirme"])
    assert (again.migrated, again.plans) == (0, [])
    assert engine.fire(refs[0], "bitir", "kalem1").outcome == "resolved"
    from flowengine import trust

    assert {f.problem for f in trust.replay(engine)} == {None}
    assert {f.problem for f in trust.verify(engine)} == {None}
    engine.close()


@pytest.mark.slow
@pytest.mark.acceptance  # a real process killed at a crash point
def test_interrupted_migration_of_a_thousand_resumes_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    """A dry run and the real run agree on 1,000 cases; killed after the first case,
    a second run moves the rest; every case carries one migration row."""
    engine = Engine.open(db_url, folder(tmp_path, "v1", V1), upgrade=True)
    engine.add_person("kalem1", "Kalem", ["kalem"])
    for i in range(1000):
        case = engine.start("dilekce", {"konu": f"Dilekçe {i}"}, "kalem1")
        engine.fire(case.reference, "kaydet", "kalem1")
    engine.close()
    v2 = folder(tmp_path, "v2", V2)
    engine = Engine.open(db_url, v2)
    engine.deploy()
    plan = deployment.migrate(engine, "dilekce", 1, 2, ["inceleme=degerlendirme"], dry_run=True)
    assert len(plan.plans) == 1000 and not plan.stranded
    command = [
        sys.executable, "-m", "flowengine", "--db", db_url, "--flows", str(v2),
        "migrate", "dilekce", "--from", "1", "--to", "2", "--map", "inceleme=degerlendirme",
    ]  # fmt: skip
    crashed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "FLOWENGINE_CRASH_AT": "after_one_migration"},
    )  # fmt: skip
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    partly = [i for i in engine.instances(flow="dilekce", limit=2000) if i.version == 2]
    assert 0 < len(partly) < 1000
    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    cases = engine.instances(flow="dilekce", limit=2000)
    assert {(c.version, c.states) for c in cases} == {(2, ("degerlendirme",))}
    for case in cases[:50] + cases[-50:]:
        rows = [h for h in engine.history(case.reference) if h.event == "migrated"]
        assert len(rows) == 1
    lands = {p.reference: p.states_after for p in plan.plans}
    assert all(lands[c.reference] == c.states for c in cases), "the dry run and the run disagree"
    engine.close()


def test_validate_against_catches_an_edited_but_not_bumped_flow(
    v1_cases: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    """Same version, new content, instances exist: an error; a new version that
    drops an occupied state: a warning naming it."""
    url, _, _ = v1_cases
    edited = folder(tmp_path, "edited", V1.replace("title: Dilekçe", "title: Dilekçe (yeni)"))
    report = validate_paths([edited])
    issues = deployment.check_against(report, url)
    assert [i.message for i in issues if i.severity == "error"] == [
        "flow 'dilekce' changed but version 1 is deployed with 4 instances; raise 'version' to 2"
    ]
    dropping = validate_paths([tmp_path / "v2"])
    warnings = [i.message for i in deployment.check_against(dropping, url)]
    assert warnings == [
        "version 2 removes state 'inceleme', where 3 open instances stand; "
        "plan 'flowengine migrate dilekce --map inceleme=NEW_STATE'"
    ]

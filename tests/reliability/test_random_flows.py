"""Property-based: random valid flows, run with random events, keep every invariant."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine import trust
from flowengine.engine import Engine
from flowengine.errors import FlowEngineError
from flowengine.flowset import validate_paths
from tests.conftest import FLOWS


@st.composite
def flows(draw: st.DrawFn) -> str:
    """A flow of tasks, decisions and an optional parallel, every state able to end."""
    size = draw(st.integers(2, 8))
    lines = [
        "flow: FLOW_ID", "version: 1", "title: Rastgele akış",
        "directorate: basin_yayin_halkla_iliskiler", "unit: bizim_masa",
        "roles:", "  masa: {title: Masa}", "starters: [masa]",
        "data:", "  sayi: {type: integer}", "  not_: {type: text}",
        "start: s0", "states:",
    ]  # fmt: skip
    for i in range(size):
        nxt = f"s{i + 1}" if i + 1 < size else "bitti"
        back = f"s{draw(st.integers(0, i))}"
        kind = draw(st.sampled_from(["task", "task", "decision", "parallel"]))
        if kind == "decision":
            lines += [
                f"  s{i}:", "    type: decision",
                f"    choices: [{{when: 'sayi != null && sayi > {i}', to: {nxt}}}]",
                "    otherwise: bitti",
            ]  # fmt: skip
        elif kind == "parallel":
            lines += [
                f"  s{i}:", "    type: parallel", "    branches:",
                "      a: {start: t, states: {t: {type: task, role: masa, sla: 1d,"
                " on: {tamam: {to: e}}}, e: {type: end, outcome: ok}}}",
                "      b: {start: t, states: {t: {type: task, role: masa, sla: 1d,"
                " on: {tamam: {to: e}}}, e: {type: end, outcome: ok}}}",
                f"    next: {nxt}",
            ]  # fmt: skip
        else:
            lines += [
                f"  s{i}:", "    type: task", "    role: masa", "    sla: 1d", "    on:",
                f"      ileri: {{to: {nxt}, set: {{sayi: {i}}}}}",
                f"      geri: {{to: {back}, comment: required}}",
            ]  # fmt: skip
    lines += ["  bitti: {type: end, outcome: resolved}"]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    source=flows(),
    steps=st.lists(st.tuples(st.integers(0, 20), st.booleans(), st.booleans()), max_size=12),
)
def test_random_flows_keep_the_invariants(
    db_url: str, source: str, steps: list[tuple[int, bool, bool]]
) -> None:
    """Valid by construction; any walk keeps the chain, replay and row version sound."""
    folder = Path(tempfile.mkdtemp(prefix="rastgele-"))
    try:
        # a new id per example: the database keeps every deployed version's content
        flow = f"rastgele_{uuid.uuid4().hex[:8]}"
        shutil.copy(FLOWS / "organization.yaml", folder / "organization.yaml")
        (folder / f"{flow}.yaml").write_text(source.replace("FLOW_ID", flow), encoding="utf-8")
        report = validate_paths([folder])
        assert report.errors == [], source
        engine = Engine.open(db_url, folder, upgrade=True)
        try:
            engine.add_person("m", "Masa", ["masa"])
            case = engine.start(flow, {}, actor="m")
            for pick, with_comment, with_state in steps:
                events = engine.allowed_events(case.reference, "m")
                if not events:
                    break
                event = events[pick % len(events)]
                state = None
                if with_state:
                    holders = engine.get(case.reference).states
                    state = holders[pick % len(holders)]
                before = engine.get(case.reference)
                kwargs: dict[str, Any] = {"comment": "neden" if with_comment else None}
                try:
                    engine.fire(case.reference, event, "m", state=state, **kwargs)
                except FlowEngineError:
                    assert engine.get(case.reference) == before
            final = engine.get(case.reference)
            assert final.row_version == len(engine.history(case.reference))
            assert [f.problem for f in trust.verify(engine, case.reference)] == [None]
            assert [f.problem for f in trust.replay(engine, case.reference)] == [None]
        finally:
            engine.close()
    finally:
        shutil.rmtree(folder)

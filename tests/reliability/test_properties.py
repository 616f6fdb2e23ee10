"""Property-based: random event sequences keep every invariant (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine import trust
from flowengine.engine import Engine
from flowengine.errors import FlowEngineError
from tests.conftest import FLOWS
from tests.engine.helpers import LAMBA, PEOPLE

ACTORS = sorted(PEOPLE)
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
)


def payload_for(engine: Engine, ref: str, event: str, text: str) -> dict[str, Any]:
    """Values for every field the event requires."""
    instance = engine.get(ref)
    definition = engine.definition(instance.flow, instance.version)
    state = next(s for s in instance.states if event in definition.events(s))
    data: dict[str, Any] = {}
    for name in definition.events(state)[event].requires:
        spec = definition.fields[name]
        if spec.directorate:
            data[name] = "fen_isleri"
        elif spec.type == "enum":
            data[name] = (spec.values or [""])[0]
        else:
            data[name] = text
    return data


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(ACTORS), st.integers(0, 10), TEXT, st.booleans()),
        max_size=8,
    ),
    metin=TEXT,
)
def test_random_walks_keep_the_invariants(
    engine: Engine, db_url: str, steps: list[tuple[str, int, str, bool]], metin: str
) -> None:
    """Whatever people try, in any order: row version = history length, the chain
    verifies, the history replays to the stored state, and a fresh engine agrees."""
    case = engine.start("bizim_masa", {**LAMBA, "metin": metin}, actor="ayse")
    for actor, pick, text, with_comment in steps:
        events = engine.allowed_events(case.reference, actor)
        if not events:
            continue
        event = events[pick % len(events)]
        before = engine.get(case.reference)
        try:
            engine.fire(
                case.reference,
                event,
                actor,
                data=payload_for(engine, case.reference, event, text),
                comment=text if with_comment else None,
            )
        except FlowEngineError:
            # a refusal (e.g. a missing comment) leaves everything as it was
            assert engine.get(case.reference) == before
        current = engine.get(case.reference)
        assert current.row_version == len(engine.history(case.reference))
    assert [f.problem for f in trust.verify(engine, case.reference)] == [None]
    assert [f.problem for f in trust.replay(engine, case.reference)] == [None]
    fresh = Engine.open(db_url, FLOWS)
    try:
        assert fresh.get(case.reference) == engine.get(case.reference)
    finally:
        fresh.close()

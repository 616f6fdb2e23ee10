"""Pattern constructs meeting each other: the cases a review found broken.

Each flow is written inline into a folder of its own, beside the examples'
organisation file; every test runs on SQLite and PostgreSQL, and the
``patterns``-style teardown checks that each history replays to its states.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowengine import audit
from flowengine.engine import Engine
from flowengine.errors import StateWaiting, TransitionNotAllowed
from tests.patterns.conftest import PATTERNS, PEOPLE, Clock

HEAD = """version: 1
title: Sınama akışı
directorate: basin_yayin_halkla_iliskiler
unit: bizim_masa
roles: {}
starters: [masa]
"""

Make = Callable[..., Engine]


@pytest.fixture
def make(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Make]:
    """make(flow_id=yaml_body, ...) → an engine over those flows (and kalem_alimi)."""
    opened: list[Engine] = []

    def build(**flows: str) -> Engine:
        folder = tmp_path / "flows"
        folder.mkdir()
        shutil.copy(PATTERNS / "organization.yaml", folder)
        shutil.copy(PATTERNS / "kalem_alimi.yaml", folder)
        for name, body in flows.items():
            (folder / f"{name}.yaml").write_text(f"flow: {name}\n{HEAD}{body}", encoding="utf-8")
        engine = Engine.open(db_url, folder, upgrade=True, clock=clock)
        for person, (title, roles) in PEOPLE.items():
            engine.add_person(person, title, roles)
        opened.append(engine)
        return engine

    yield build
    for engine in opened:
        with engine.store.unit(writes=False) as unit:
            for instance in unit.list_instances(limit=1000):
                replayed = audit.replay(unit.history(instance.id)).states
                assert sorted(replayed) == sorted(instance.states), instance.reference
        engine.close()


def open_work(engine: Engine, ref: str) -> list[str]:
    with engine.store.unit(writes=False) as unit:
        return sorted(unit.open_items(engine.get(ref).id))


def pending_timers(engine: Engine, ref: str) -> list[str]:
    return sorted(t.state for t, reference, _ in engine.timers() if reference == ref)


def branch(name: str, role: str, extra: str = "", event: str = "") -> str:
    """A branch `name` of one task `t<name>` (role, ``extra`` keys) whose `ok`
    (with ``event`` keys) leads to the end `e<name>`."""
    return f"""      {name}:
        start: t{name}
        states:
          t{name}: {{type: task, role: {role}, sla: 1d, {extra}on: {{ok: {{to: e{name}{event}}}}}}}
          e{name}: {{type: end, outcome: done}}
"""


FINISH = "    join: {count: 1, remaining: finish}\n"
STOP = "    on:\n      stop: {to: s, roles: [mudur]}\n"


def opening(keys: str = "", name: str = "p") -> str:
    """The start of a flow whose first state is the parallel ``name`` (with ``keys``)."""
    return f"start: {name}\nstates:\n  {name}:\n    type: parallel\n{keys}    branches:\n"


def nested(text: str) -> str:
    """A branch written for a top-level parallel, moved into a nested one."""
    return "".join("        " + line for line in text.splitlines(keepends=True))


def test_a_state_withdrawn_in_the_step_that_entered_it_leaves_no_work(make: Make) -> None:
    engine = make(
        f1="""data:
  x: {type: boolean, default: false}
start: p
states:
  p:
    type: parallel
    join: {count: 1}
    branches:
      a:
        when: x
        start: ta
        states:
          ta: {type: task, role: fen, sla: 1d, on: {ok: {to: ea}}}
          ea: {type: end, outcome: done}
"""
        + branch("b", "zabita", "timers: [{after: 1h, notify: [mudur]}], ")
        + """    next: n
  n: {type: task, role: masa, sla: 1d, on: {ok: {to: e}}}
  e: {type: end, outcome: done}
"""
    )
    case = engine.start("f1", {}, actor="ayse")
    assert case.states == ("n",)
    assert open_work(engine, case.reference) == ["n"]
    assert pending_timers(engine, case.reference) == []
    assert engine.tasks("can") == []


def test_a_parallel_entered_again_withdraws_the_last_rounds_stragglers(make: Make) -> None:
    engine = make(
        f3=opening(FINISH)
        + branch("a", "fen")
        + branch("b", "zabita")
        + """    next: n
  n: {type: task, role: masa, sla: 1d, on: {again: {to: p}, done: {to: e}}}
  e: {type: end, outcome: done}
"""
    )
    ref = engine.start("f3", {}, actor="ayse").reference
    engine.fire(ref, "ok", "ali", state="ta")
    engine.fire(ref, "again", "ayse")
    assert open_work(engine, ref) == ["p.a.ta", "p.b.tb"]  # once each, a new round
    engine.fire(ref, "ok", "ali", state="ta")
    assert "n" in engine.get(ref).states  # the new round joins again
    after = engine.fire(ref, "ok", "can", state="tb")
    assert after.states == ("n",)


def test_a_nested_finish_join_and_the_outer_region(make: Make) -> None:
    engine = make(
        f4=opening("    on:\n      stop: {to: e2, roles: [mudur]}\n", "o")
        + """      x:
        start: p
        states:
          p:
            type: parallel
            join: {count: 1, remaining: finish}
            branches:
"""
        + nested(branch("a", "fen"))
        + nested(branch("b", "zabita"))
        + """
            next: tx
          tx: {type: task, role: park, sla: 1d, on: {ok: {to: ex}}}
          ex: {type: end, outcome: done}
"""
        + branch("y", "masa")
        + """    next: e
  e: {type: end, outcome: done}
  e2: {type: end, outcome: stopped}
"""
    )
    ref = engine.start("f4", {}, actor="ayse").reference
    engine.fire(ref, "ok", "ali", state="ta")
    assert engine.allowed_events(ref, "arda") == ["stop"]
    engine.fire(ref, "ok", "can", state="tb")
    assert open_work(engine, ref) == ["o.x.tx", "o.y.ty"]
    stopped = engine.fire(ref, "stop", "arda")
    assert stopped.states == ("e2",) and open_work(engine, ref) == []


def test_a_joined_regions_events_no_longer_fire(make: Make) -> None:
    engine = make(
        f5=opening(FINISH + STOP)
        + branch("a", "fen")
        + branch("b", "zabita")
        + """    next: n
  n: {type: task, role: masa, sla: 1d, on: {ok: {to: e}}}
  s: {type: end, outcome: stopped}
  e: {type: end, outcome: done}
"""
    )
    ref = engine.start("f5", {}, actor="ayse").reference
    engine.fire(ref, "ok", "ali", state="ta")
    with pytest.raises(TransitionNotAllowed):
        engine.fire(ref, "stop", "arda")


def test_a_nested_parallels_timer_ends_with_its_region(make: Make, clock: Clock) -> None:
    engine = make(
        f6=opening("    on:\n      reset: {to: o, roles: [mudur]}\n", "o")
        + """      x:
        start: p
        states:
          p:
            type: parallel
            timers: [{after: 2h, to: px}]
            branches:
"""
        + nested(branch("a", "fen"))
        + """            next: px
          px: {type: end, outcome: done}
"""
        + branch("y", "masa")
        + """    next: e
  e: {type: end, outcome: done}
"""
    )
    ref = engine.start("f6", {}, actor="ayse").reference
    clock.advance(hours=1)
    engine.fire(ref, "reset", "arda")
    assert pending_timers(engine, ref) == ["o.x.p"]  # only the new round's
    clock.advance(hours=1, minutes=1)  # the old timer would be due now
    while engine.fire_due_timer("test"):
        pass
    assert "o.x.p.a.ta" in engine.get(ref).states


def test_signals_on_parallels_and_subflows_withdraw_what_runs(make: Make) -> None:
    signals = """signals:
  dur: {roles: [mudur]}
"""
    engine = make(
        f7=signals
        + """start: p
states:
  p:
    type: parallel
    on:
      stop: {to: s, roles: [mudur], signal: dur}
    branches:
"""
        + branch("a", "fen")
        + """    next: s
  s: {type: end, outcome: stopped}
""",
        f7s=signals
        + """data:
  kalemler: {type: list, items: {type: string}}
start: w
states:
  w:
    type: subflow
    flow: kalem_alimi
    foreach: kalemler
    input: {kalem: item}
    on:
      stop: {to: s, roles: [mudur], signal: dur}
    next: s
  s: {type: end, outcome: stopped}
""",
    )
    region = engine.start("f7", {}, actor="ayse").reference
    assert engine.signal(region, "dur", "arda").states == ("s",)
    assert open_work(engine, region) == []
    parent = engine.start("f7s", {"kalemler": ["masa"]}, actor="ayse")
    assert engine.signal(parent.reference, "dur", "arda").states == ("s",)
    with engine.store.unit(writes=False) as unit:
        assert [c.status for c in unit.children(parent.id)] == ["cancelled"]


def test_a_signal_waits_behind_a_mutex_like_a_person(make: Make) -> None:
    engine = make(
        f8="""signals:
  go: {roles: [mudur]}
start: p
states:
  p:
    type: parallel
    branches:
"""
        + branch("a", "fen", "mutex: m, ")
        + branch("b", "zabita", "mutex: m, ", ", signal: go")
        + """    next: e
  e: {type: end, outcome: done}
"""
    )
    ref = engine.start("f8", {}, actor="ayse").reference
    with pytest.raises(StateWaiting):
        engine.fire(ref, "ok", "can", state="tb")
    kept = engine.signal(ref, "go", "arda")
    assert kept.signals == ("go",) and "p.b.tb" in kept.states
    done = engine.fire(ref, "ok", "ali", state="ta")  # tb resumes and takes the signal
    assert done.states == ("e",) and done.signals == () and done.locks == {}


def test_a_mutex_goes_to_the_state_that_waited_first(make: Make) -> None:
    engine = make(
        f13=opening(FINISH)
        + branch("a", "fen", "mutex: m, ")
        + branch("b", "zabita", "mutex: m, ")
        + """    next: n
  n: {type: task, role: masa, sla: 1d, mutex: m, on: {ok: {to: e}}}
  e: {type: end, outcome: done}
"""
    )
    ref = engine.start("f13", {}, actor="ayse").reference
    after = engine.fire(ref, "ok", "ali", state="ta")
    assert after.locks == {"m": "p.b.tb"}
    assert open_work(engine, ref) == ["p.b.tb"]  # n waits behind tb
    engine.fire(ref, "ok", "can", state="tb")
    assert open_work(engine, ref) == ["n"]

"""Living flows: versions in the database, their differences, migration, CI guard.

Functions over an :class:`~flowengine.engine.Engine` (or a bare store for the CI
guard). Deploying stores a flow version's source and content hash; instances
stay on the version they started on, so a newer version may drop a state that
old instances still stand in. :func:`migrate` moves instances across versions,
one transaction each, recording a ``migrated`` history row; it can be re-run
after an interruption and only moves instances still on the old version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowengine import faults, runtime
from flowengine.config import database_url
from flowengine.definition import compile_flow
from flowengine.engine import Engine
from flowengine.errors import ConfigurationError, InvalidData, Issue, UnknownFlow
from flowengine.expressions import ExpressionError, compile_expression
from flowengine.flowset import ValidationReport
from flowengine.loader import YamlLoadError, load_text
from flowengine.versions import Change, InstancePlan, diff, plan_instance

MIGRATION_EVENT = runtime.MIGRATION_EVENT


@dataclass(frozen=True)
class VersionInfo:
    version: int
    deployed_at: str
    states: dict[str, int] = field(default_factory=dict)  # active state → instances
    completed: int = 0


def versions(engine: Engine, flow: str) -> list[VersionInfo]:
    """Every deployed version of ``flow`` with its instances counted by state."""
    if flow not in engine.current:
        raise UnknownFlow(flow, engine.current)
    with engine.catalogue_rows() as unit:
        stored = unit.flow_versions(flow)
        counts: dict[int, Counter[str]] = {v: Counter() for v, _ in stored}
        completed: Counter[int] = Counter()
        for instance in unit.list_instances(flow=flow, limit=1_000_000):
            if instance.status != "active":
                completed[instance.version] += 1
            else:
                counts.setdefault(instance.version, Counter()).update(instance.states)
    return [
        VersionInfo(v, at.isoformat(timespec="seconds"), dict(counts.get(v, {})), completed[v])
        for v, at in stored
    ]


def changes(engine: Engine, flow: str, old: int, new: int) -> list[Change]:
    """What changed in ``flow`` from version ``old`` to ``new`` (both deployed, or the file)."""
    with engine.catalogue_rows() as unit:
        return diff(engine.definition(flow, old, unit), engine.definition(flow, new, unit))


@dataclass
class MigrationReport:
    plans: list[InstancePlan]
    migrated: int = 0

    @property
    def stranded(self) -> list[InstancePlan]:
        return [p for p in self.plans if not p.possible]


def _mapping(pairs: Sequence[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise InvalidData({"map": f"'{pair}' is not OLD_STATE=NEW_STATE"})
        mapping[old] = new
    return mapping


def migrate(
    engine: Engine,
    flow: str,
    old: int,
    new: int,
    mapping: Sequence[str] = (),
    where: str | None = None,
    dry_run: bool = False,
    actor: str = "system",
) -> MigrationReport:
    """Plan (and unless ``dry_run`` apply) moving active instances from ``old`` to ``new``.

    A plan that would strand any instance in a state the new version lacks is
    refused as a whole: nothing moves until every instance has a place to land.
    """
    maps = _mapping(mapping)
    condition = None
    if where:
        try:
            condition = compile_expression(where)
        except ExpressionError as exc:
            raise InvalidData({"where": str(exc)}) from None
    with engine.catalogue_rows() as unit:
        before = engine.definition(flow, old, unit)
        after = engine.definition(flow, new, unit)
        candidates = [
            i
            for i in unit.list_instances(flow=flow, status="active", limit=1_000_000)
            if i.version == old
        ]
    for target in maps.values():
        if target not in after.states:
            raise InvalidData({"map": f"'{target}' is not a state of {flow} v{new}"})
    selected = []
    for instance in candidates:
        if condition is not None:
            variables = {**{n: instance.data.get(n) for n in before.fields}, "instance": {
                "reference": instance.reference, "state": instance.state}}  # fmt: skip
            if condition.evaluate(variables) is not True:
                continue
        selected.append(instance)
    plans = [plan_instance(i.reference, i.states, i.data, before, after, maps) for i in selected]
    report = MigrationReport(sorted(plans, key=lambda p: p.reference))
    if dry_run or report.stranded:
        return report
    for instance in selected:
        if engine.migrate_instance(instance.id, before, after, maps, actor):
            report.migrated += 1
            faults.point("after_one_migration")
    return report


def check_against(report: ValidationReport, url: str | None) -> list[Issue]:
    """The CI guard: compare validated flow files with what a database has deployed."""
    from flowengine.storage import open_store

    store = open_store(database_url(url))
    issues: list[Issue] = []
    try:
        with store.unit(writes=False) as unit:
            for fid, parsed in sorted(report.flows.items()):
                source = Path(parsed.loaded.path).read_text(encoding="utf-8")
                definition = compile_flow(parsed.doc, source)
                stored = unit.flow_version(fid, definition.version)
                used = unit.count_instances(fid, definition.version)
                if stored is not None and stored[0] != definition.content_hash and used:
                    issues.append(
                        parsed.loaded.issue(
                            ("version",),
                            f"flow '{fid}' changed but version {definition.version} is "
                            f"deployed with {used} instances; raise 'version' to "
                            f"{definition.version + 1}",
                            code="unbumped",
                        )
                    )
                latest = unit.latest_version(fid)
                if latest is None or definition.version <= latest:
                    continue
                open_states: Counter[str] = Counter()
                for instance in unit.list_instances(flow=fid, status="active", limit=1_000_000):
                    open_states.update(s for s in instance.states if s not in definition.states)
                for state, count in sorted(open_states.items()):
                    issues.append(
                        parsed.loaded.warning(
                            ("states",),
                            f"version {definition.version} removes state '{state}', where "
                            f"{count} open instances stand; plan 'flowengine migrate {fid} "
                            f"--map {state}=NEW_STATE'",
                            code="stranding",
                        )
                    )
    finally:
        store.dispose()
    return issues


def check_against_git(report: ValidationReport, revision: str) -> list[Issue]:
    """The CI guard without a database: a flow whose content differs from ``revision``'s
    file but whose version was not raised is an error."""
    import subprocess

    issues: list[Issue] = []
    for fid, parsed in sorted(report.flows.items()):
        path = Path(parsed.loaded.path).resolve()
        try:
            top = subprocess.run(
                ["git", "rev-parse", "--show-toplevel"],  # noqa: S607 - git from PATH
                cwd=path.parent,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            relative = path.relative_to(Path(top).resolve()).as_posix()
            shown = subprocess.run(  # noqa: S603
                ["git", "show", f"{revision}:{relative}"],  # noqa: S607
                cwd=top, capture_output=True, text=True, check=False,
            )  # fmt: skip
        except (OSError, subprocess.CalledProcessError, ValueError) as exc:
            raise ConfigurationError(f"{path}: not in a git work tree ({exc})") from None
        if shown.returncode != 0:
            continue  # a new flow: nothing to compare with
        old_version = _version_of(shown.stdout)
        if old_version == parsed.doc.version and shown.stdout != path.read_text("utf-8"):
            issues.append(
                parsed.loaded.issue(
                    ("version",),
                    f"flow '{fid}' changed since {revision} but its version is still "
                    f"{old_version}; raise 'version' to {old_version + 1}",
                    code="unbumped",
                )
            )
    return issues


def _version_of(source: str) -> int | None:
    try:
        data = load_text(source, "<git>").data
    except YamlLoadError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) else None


__all__ = ["changes", "check_against", "check_against_git", "migrate", "versions"]

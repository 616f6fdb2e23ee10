"""Commands for living flows: deploy, versions, diff, migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowengine.cli.app import app, fail, settings
from flowengine.cli.operations import AsJson, echo_json, open_engine


@app.command()
def deploy(
    flows: Annotated[
        list[str] | None,
        typer.Argument(
            help="Flow ids or flow files of the --flows folder (default: every flow of it)."
        ),
    ] = None,
) -> None:
    """Store the current version of each flow; new instances start on it."""
    ids = None if flows is None else [_flow_id(name) for name in flows]
    with open_engine() as engine:
        done = engine.deploy(ids)
    for flow, version, new in done:
        typer.echo(f"{flow} v{version}: {'deployed' if new else 'already deployed'}")


def _flow_id(name: str) -> str:
    """``bizim_masa`` or ``flows/bizim_masa.yaml``: a file's name is its flow's id
    (validation holds them equal), and it must be the --flows folder's file."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml") and not path.is_file():
        return name
    folder = settings.flows_dir.resolve()
    if path.resolve().parent != folder:
        raise fail(
            f"{name} is not in the flows folder {settings.flows_dir}; deploy the flows of "
            "another folder with --flows DIR"
        )
    if not path.is_file():
        raise fail(f"{name}: no such file")
    return path.stem


@app.command()
def versions(
    flow: Annotated[str, typer.Argument(help="Flow id.")], as_json: AsJson = False
) -> None:
    """A flow's deployed versions, with open instances counted per state."""
    from flowengine import deployment

    with open_engine() as engine:
        rows = deployment.versions(engine, flow)
    if as_json:
        echo_json([vars(r) for r in rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{flow} — sürümler")
    for column in ("sürüm", "yayın", "açık kayıtlar (durum: adet)", "biten"):
        table.add_column(column)
    for r in rows:
        states = ", ".join(f"{s}: {n}" for s, n in sorted(r.states.items())) or "—"
        table.add_row(f"v{r.version}", r.deployed_at, states, str(r.completed))
    Console().print(table)


@app.command()
def diff(
    flow: Annotated[str, typer.Argument(help="Flow id.")],
    old: Annotated[int, typer.Argument(help="Old version.")],
    new: Annotated[int, typer.Argument(help="New version.")],
    as_json: AsJson = False,
) -> None:
    """Added, removed and changed states, events, fields and roles between two versions."""
    from flowengine import deployment

    with open_engine() as engine:
        found = deployment.changes(engine, flow, old, new)
    if as_json:
        echo_json([vars(c) for c in found])
        return
    signs = {"added": "+", "removed": "-", "changed": "~"}
    for change in found:
        detail = f" ({change.detail})" if change.detail else ""
        typer.echo(f"{signs[change.how]} {change.kind} {change.name}{detail}")
    if not found:
        typer.echo(f"{flow} v{old} and v{new} are the same")


@app.command()
def migrate(
    flow: Annotated[str, typer.Argument(help="Flow id.")],
    old: Annotated[int, typer.Option("--from", help="Version the instances are on.")],
    new: Annotated[int, typer.Option("--to", help="Version to move them to.")],
    maps: Annotated[
        list[str] | None, typer.Option("--map", help="OLD_STATE=NEW_STATE (repeatable).")
    ] = None,
    where: Annotated[str | None, typer.Option("--where", help="CEL filter on data.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print the plan.")] = False,
    as_json: AsJson = False,
) -> None:
    """Move running instances to another version, each in its own transaction."""
    from flowengine import deployment

    with open_engine() as engine:
        report = deployment.migrate(engine, flow, old, new, maps or [], where, dry_run)
    if as_json:
        echo_json(
            {
                "migrated": report.migrated,
                "plans": [{**vars(p), "possible": p.possible} for p in report.plans],
            }
        )
    else:
        for plan in report.plans:
            land = ", ".join(plan.states_after) or "—"
            line = f"{plan.reference}: {' | '.join(plan.states_before)} → {land}"
            if plan.stranded:
                line += f"  STRANDED in {', '.join(plan.stranded)} (give --map)"
            if plan.invalid_fields:
                line += "; invalid: " + ", ".join(
                    f"{k} ({v})" for k, v in plan.invalid_fields.items()
                )
            if plan.newly_required:
                line += f"; newly required: {', '.join(plan.newly_required)}"
            if plan.work_closed or plan.work_opened:
                line += f"; work closed {plan.work_closed or '—'}, opened {plan.work_opened or '—'}"
            typer.echo(line)
        what = "would move" if dry_run else "moved"
        count = len(report.plans) if dry_run else report.migrated
        typer.echo(f"{count} instances {what} from v{old} to v{new}", err=True)
    if report.stranded:
        raise fail(
            f"{len(report.stranded)} instances would be stranded in states v{new} lacks; "
            "nothing was migrated; map them with --map OLD=NEW"
        )

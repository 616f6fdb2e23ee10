"""Operator commands: db upgrade, people, start, fire, tasks, instances, status, history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flowengine.cli.app import app, fail, settings

if TYPE_CHECKING:
    from flowengine.engine import Engine
    from flowengine.instance import Instance

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
people_app = typer.Typer(help="People and their roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(people_app, name="people")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Ref = Annotated[str, typer.Argument(help="Reference number or instance id.")]
Viewer = Annotated[str, typer.Option("--as", help="Viewer (personal data shown only if entitled).")]
DataFile = Annotated[
    Path | None, typer.Option("--data-file", help="JSON or YAML file of typed data.")
]
IdempotencyKey = Annotated[str | None, typer.Option("--idempotency-key", help="Repeat-safe key.")]
Actor = Annotated[str, typer.Option("--as", help="The person acting (their id).")]
Sets = Annotated[
    list[str] | None, typer.Option("--set", help="A data value KEY=VALUE (repeatable).")
]


def open_engine(upgrade: bool | None = None) -> Engine:
    from flowengine.engine import Engine

    return Engine.open(settings.database, settings.flows_dir, upgrade=upgrade)


def read_data_file(path: Path | None) -> dict[str, Any]:
    """Typed data from a JSON or YAML file (``--data-file``)."""
    if path is None:
        return {}
    from flowengine.loader import YamlLoadError, load_file

    try:
        loaded = load_file(path)
    except YamlLoadError as exc:
        raise fail(exc.issue.format()) from None
    if not isinstance(loaded.data, dict):
        raise fail(f"{path}: must hold a mapping of field names to values")
    return loaded.data


def parse_sets(values: list[str] | None) -> dict[str, str]:
    """``--set KEY=VALUE`` pairs as text; the engine reads each by its field's type."""
    texts: dict[str, str] = {}
    for item in values or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set expects KEY=VALUE, got '{item}'")
        texts[key.strip()] = text
    return texts


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    from flowengine.config import local_zone
    from flowengine.durations import DEFAULT_TIMEZONE

    return moment.astimezone(local_zone(DEFAULT_TIMEZONE)).strftime("%d.%m.%Y %H:%M")


def instance_json(instance: Instance) -> dict[str, Any]:
    """An instance for ``--json`` output, without its data (``status`` adds it, masked)."""
    values = instance.as_dict()
    for private in ("data", "audit_salt"):
        del values[private]
    return values


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest revision."""
    from flowengine.config import database_url
    from flowengine.storage import open_store

    store = open_store(database_url(settings.database))
    try:
        before, after = store.upgrade()
    finally:
        store.dispose()
    if before == after:
        typer.echo(f"schema already at revision {after}")
    else:
        typer.echo(f"schema upgraded from {before or 'empty'} to {after}")


@people_app.command("add")
def people_add(
    person_id: Annotated[str, typer.Argument(help="Login id, e.g. ayse.yilmaz.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[
        list[str], typer.Option("--role", help="ROLE or ROLE:DIRECTORATE (repeatable).")
    ],
) -> None:
    """Add a person (or replace their name and roles)."""
    with open_engine() as engine:
        person = engine.add_person(person_id, name, role)
    typer.echo(f"{person.id}: {person.name} [{', '.join(str(g) for g in person.roles)}]")


@people_app.command("delegate")
def people_delegate(
    from_person: Annotated[str, typer.Argument(help="Whose role is delegated.")],
    to_person: Annotated[str, typer.Argument(help="Who acts for them (vekil).")],
    role: Annotated[str, typer.Option("--role", help="ROLE or ROLE:DIRECTORATE.")],
    starts: Annotated[str, typer.Option("--from", help="First day, e.g. 2026-12-01.")],
    ends: Annotated[str, typer.Option("--until", help="Last day (included).")],
    reason: Annotated[str, typer.Option("--reason", help="Why, e.g. yıllık izin.")],
) -> None:
    """Let a person act in another's role for a period (vekalet); it ends by itself."""
    from datetime import date

    try:
        first, last = date.fromisoformat(starts), date.fromisoformat(ends)
    except ValueError:
        raise fail("--from and --until take dates like 2026-12-01") from None
    with open_engine() as engine:
        engine.delegate(from_person, to_person, role, first, last, reason)
        title = engine.role_title(role.partition(":")[0])
    typer.echo(f"{to_person} acts as {title} V. for {from_person} from {first} to {last}")


@people_app.command("delegations")
def people_delegations(as_json: AsJson = False) -> None:
    """Delegations in force today or later."""
    with open_engine() as engine:
        rows = engine.delegations()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        typer.echo("Bugün ya da sonrası için vekalet yok.")
    for row in rows:
        scope = f":{row['directorate']}" if row["directorate"] else ""
        typer.echo(
            f"{row['to_person']} for {row['from_person']} as {row['role']}{scope}, "
            f"{row['starts_on']} – {row['ends_on']} ({row['reason']})"
        )


@people_app.command("list")
def people_list(as_json: AsJson = False) -> None:
    """List people and their roles."""
    with open_engine() as engine:
        people = engine.people()
    if as_json:
        echo_json(
            [{"id": p.id, "name": p.name, "roles": [str(g) for g in p.roles]} for p in people]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Kişiler")
    for column in ("id", "ad", "roller"):
        table.add_column(column)
    for p in people:
        table.add_row(p.id, p.name, ", ".join(str(g) for g in p.roles))
    Console().print(table)


@app.command()
def start(
    flow: Annotated[str, typer.Argument(help="Flow id.")],
    actor: Actor,
    sets: Sets = None,
    data_file: DataFile = None,
    idempotency_key: IdempotencyKey = None,
    as_json: AsJson = False,
) -> None:
    """Start an instance; prints its reference number."""
    data = read_data_file(data_file)
    texts = parse_sets(sets)
    with open_engine() as engine:
        instance = engine.start(flow, data, actor, idempotency_key=idempotency_key, text_data=texts)
        repeats = _repeats(engine, instance, actor)
    if as_json:
        echo_json(instance_json(instance))
        return
    typer.echo(instance.reference)
    for other, reason in repeats:  # offered to the desk at intake (docs/desk.md)
        typer.echo(f"  benzer açık başvuru: {other.reference} ({reason})", err=True)
    if repeats:
        typer.echo(
            f"  aynı başvuruysa: flowengine merge {instance.reference} "
            f"--into {repeats[0][0].reference} --as {actor} --reason …",
            err=True,
        )


def _repeats(engine: Engine, instance: Instance, actor: str) -> list[tuple[Instance, str]]:
    """Open requests like the one just started, if its flow says how to tell."""
    from flowengine.errors import PermissionDenied

    if engine.definition(instance.flow).doc.duplicates is None:
        return []
    try:
        return engine.similar(instance.reference, actor)
    except PermissionDenied:
        return []  # a starter who may not compare contacts is shown none


@app.command()
def fire(
    ref: Ref,
    event: Annotated[str, typer.Argument(help="Event id, e.g. havale_et.")],
    actor: Actor,
    sets: Sets = None,
    data_file: DataFile = None,
    comment: Annotated[str | None, typer.Option("--comment", help="Reason or note.")] = None,
    expect_version: Annotated[
        int | None, typer.Option("--expect-version", help="Fail if the instance moved on.")
    ] = None,
    idempotency_key: IdempotencyKey = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help="The state to act in, when parallel branches share the event."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Fire an event on an instance as a person."""
    data = read_data_file(data_file)
    texts = parse_sets(sets)
    with open_engine() as engine:
        instance = engine.fire(
            ref,
            event,
            actor,
            data=data,
            text_data=texts,
            comment=comment,
            expected_version=expect_version,
            idempotency_key=idempotency_key,
            state=state,
        )
    if as_json:
        echo_json(instance_json(instance))
    else:
        outcome = f" ({instance.outcome})" if instance.outcome else ""
        typer.echo(f"{instance.reference}: {instance.state}{outcome}")


@app.command()
def reassign(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="A person's id, or ROLE[:DIRECTORATE].")],
    actor: Actor,
    state: Annotated[
        str | None, typer.Option("--state", help="Which open work, when there are several.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
) -> None:
    """A manager (mudur) gives a case's open work to another person or role."""
    with open_engine() as engine:
        instance = engine.reassign(ref, to, actor, state=state, reason=reason)
    typer.echo(f"{instance.reference}: {instance.state} → {to}")


@app.command()
def signal(
    ref: Ref,
    name: Annotated[str, typer.Argument(help="The signal, as declared under 'signals:'.")],
    actor: Actor,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Send it at most once.")
    ] = None,
) -> None:
    """Send a signal to a case: a step waiting for it moves on, else it is kept (or lost)."""
    with open_engine() as engine:
        instance = engine.signal(ref, name, actor, idempotency_key=idempotency_key)
    typer.echo(f"{instance.reference}: {instance.state or instance.status}")


@app.command()
def similar(ref: Ref, viewer: Viewer) -> None:
    """Open requests that look like the same one (same person, or same place and subject)."""
    with open_engine() as engine:
        found = engine.similar(ref, viewer)
    for other, reason in found:
        typer.echo(f"{other.reference}\t{when(other.created_at)}\t{other.state}\t{reason}")
    typer.echo(f"{len(found)} similar open request(s)", err=True)
    if found:
        typer.echo(
            f"  merge: flowengine merge {ref} --into {found[0][0].reference} --as … --reason …",
            err=True,
        )


@app.command()
def merge(
    ref: Ref,
    into: Annotated[str, typer.Option("--into", help="The request it repeats.")],
    actor: Actor,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
) -> None:
    """Merge a request into the open one it repeats; it gets that one's final reply."""
    with open_engine() as engine:
        merged = engine.merge(ref, into, actor, reason)
    typer.echo(f"{merged.reference}: merged into {into}")


@app.command()
def unmerge(
    ref: Ref,
    actor: Actor,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
) -> None:
    """Take a merged request back to where it stood."""
    with open_engine() as engine:
        restored = engine.unmerge(ref, actor, reason)
    typer.echo(f"{restored.reference}: {restored.state}")


@app.command()
def cancel(
    ref: Ref,
    actor: Actor,
    reason: Annotated[str, typer.Option("--reason", help="Why the case is withdrawn.")],
) -> None:
    """Withdraw a whole case: every open step is cancelled (a manager or the desk)."""
    with open_engine() as engine:
        instance = engine.cancel(ref, actor, reason)
    typer.echo(f"{instance.reference}: {instance.status}")


@app.command()
def tasks(actor: Actor, as_json: AsJson = False) -> None:
    """A person's inbox: overdue in red, due today in yellow."""
    with open_engine() as engine:
        items = engine.tasks(actor)
        notices = engine.notifications(actor)[:10]
        now = engine.clock()
    if as_json:
        echo_json(
            [
                {
                    "reference": w.reference,
                    "flow": w.flow,
                    "state": w.state,
                    "title": w.title,
                    "role": w.role,
                    "assignee": w.assignee,
                    "due_at": w.due_at.isoformat() if w.due_at else None,
                }
                for w in items
            ]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{actor} — iş listesi ({len(items)})")
    for column in ("referans", "akış", "iş", "rol", "son tarih"):
        table.add_column(column)
    today = now.astimezone(UTC).date()
    for w in items:
        style = ""
        if w.due_at is not None and w.due_at < now:
            style = "red"
        elif w.due_at is not None and w.due_at.date() == today:
            style = "yellow"
        role = f"{w.role}:{w.assignee}" if w.assignee else w.role
        table.add_row(w.reference, w.flow, w.title, role, when(w.due_at), style=style)
    console = Console()
    console.print(table)
    if notices:
        recent = Table(title="Son bildirimler")
        for column in ("zaman", "referans", "mesaj"):
            recent.add_column(column)
        for notice in notices:
            recent.add_row(when(notice.created_at), notice.reference, notice.message)
        console.print(recent)


@app.command()
def instances(
    flow: Annotated[str | None, typer.Option("--flow", help="Only this flow.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only in this state.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only past their deadline.")] = False,
    breaching_within: Annotated[
        str | None,
        typer.Option(
            "--breaching-within",
            help="Only those whose deadline falls within this time (3d, 2wd).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List instances, newest first."""
    with open_engine() as engine:
        rows = engine.instances(
            flow=flow, state=state, overdue=overdue, breaching_within=breaching_within
        )
    if as_json:
        echo_json([instance_json(i) for i in rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Kayıtlar ({len(rows)})")
    for column in ("referans", "akış", "durum", "sonuç", "başlangıç", "son tarih"):
        table.add_column(column)
    for i in rows:
        table.add_row(
            i.reference,
            f"{i.flow} v{i.version}",
            i.state,
            i.outcome or i.status,
            when(i.created_at),
            when(i.due_at),
        )
    Console().print(table)


@app.command()
def status(
    ref: Ref,
    viewer: Viewer,
    as_json: AsJson = False,
) -> None:
    """An instance's state, data (personal fields masked) and the events you may fire."""
    with open_engine() as engine:
        view = engine.view(ref, viewer)
    instance = view.instance
    if as_json:
        echo_json(
            {
                **instance_json(instance),
                "data": view.data,
                "masked": list(view.masked),
                "allowed_events": list(view.allowed_events),
            }
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{instance.reference}[/bold]  {view.title} ({instance.flow} v{instance.version})"
    )
    console.print(f"durum: [bold]{instance.state}[/bold]  ({instance.outcome or instance.status})")
    console.print(f"son tarih: {when(instance.due_at)}   sürüm: {instance.row_version}")
    table = Table(show_header=False)
    table.add_column("alan")
    table.add_column("değer")
    for key, value in view.data.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
    events = ", ".join(view.allowed_events) or "yok"
    console.print(f"{viewer} şimdi şunları yapabilir: {events}")


@app.command()
def history(
    ref: Ref,
    viewer: Viewer,
    as_json: AsJson = False,
) -> None:
    """The timeline of an instance (personal values masked unless entitled)."""
    with open_engine() as engine:
        entries = engine.history(ref, viewer)
        titles = {h.seq: engine.acting_title(ref, h) for h in entries if h.acting_for}

    if as_json:
        echo_json(
            [
                {
                    "seq": h.seq,
                    "event": h.event,
                    "from": h.from_state,
                    "to": h.to_state,
                    "actor": h.actor,
                    "at": h.at.isoformat(),
                    "changes": h.changes,
                    "comment": h.comment,
                    "acting_for": h.acting_for,
                    "acting_title": titles.get(h.seq),
                }
                for h in entries
            ]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{ref} — geçmiş")
    for column in ("#", "zaman", "olay", "geçiş", "kişi", "açıklama"):
        table.add_column(column)
    for h in entries:
        move = f"{h.from_state or '•'} → {h.to_state or '•'}"
        who = h.actor
        if h.acting_for:
            who = f"{h.actor}, {titles.get(h.seq) or 'vekil'} ({h.acting_for} adına)"
        table.add_row(str(h.seq), when(h.at), h.event, move, who, h.comment or "")
    Console().print(table)

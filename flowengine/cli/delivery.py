"""Commands for time and effects: tick, worker, timers, outbox, notifications."""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flowengine.cli.app import app, fail
from flowengine.cli.operations import Actor, AsJson, echo_json, open_engine, when

if TYPE_CHECKING:
    from flowengine.engine import Engine
    from flowengine.worker import TickResult, Worker

outbox_app = typer.Typer(help="Recorded effects and their delivery.", invoke_without_command=True)
app.add_typer(outbox_app, name="outbox")

STATUSES = ("pending", "failed", "delivered", "dead")


def make_worker(engine: Engine) -> Worker:
    from flowengine.config import DeliverySettings, load_config
    from flowengine.worker import Worker

    config = load_config()
    return Worker(engine, settings=DeliverySettings.from_config(config), config=config)


def summary(result: TickResult) -> str:
    return (
        f"timers fired: {result.timers_fired}, effects delivered: {result.delivered}, "
        f"retrying: {result.retried}, dead: {result.dead}"
    )


@app.command()
def tick(as_json: AsJson = False) -> None:
    """One pass: fire every due timer, deliver one batch of effects, then exit (for cron)."""
    with open_engine() as engine:
        result = make_worker(engine).tick()
    if as_json:
        echo_json(vars(result))
    else:
        typer.echo(summary(result))


@app.command()
def worker(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds to sleep when there is nothing to do.")
    ] = 1.0,
) -> None:
    """Fire timers and deliver effects until SIGINT/SIGTERM (the item in hand is finished)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with open_engine() as engine:
        running = make_worker(engine)

        def stop(signum: int, _frame: Any) -> None:
            logging.getLogger("flowengine.worker").info("signal %d: stopping", signum)
            running.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        typer.echo(f"worker {running.worker_id} started; stop with Ctrl-C", err=True)
        total = running.run(interval)
    typer.echo(summary(total), err=True)


@app.command()
def timers(
    due: Annotated[bool, typer.Option("--due", help="Only timers due now.")] = False,
    as_json: AsJson = False,
) -> None:
    """Pending timers, soonest first."""
    with open_engine() as engine:
        rows = engine.timers(due=due)
    if as_json:
        echo_json(
            [
                {
                    "id": t.id,
                    "reference": ref,
                    "state": t.state,
                    "after": t.after,
                    "due_at": t.due_at,
                    "status": status,
                }
                for t, ref, status in rows
            ]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Zamanlayıcılar ({len(rows)})")
    for column in ("id", "referans", "durum", "süre", "zamanı"):
        table.add_column(column)
    for t, ref, _ in rows:
        table.add_row(str(t.id), ref, t.state, t.after, when(t.due_at))
    Console().print(table)


@outbox_app.callback()
def outbox(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, failed, delivered or dead.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List recorded effects and where their delivery stands."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, not '{status}'")
    with open_engine() as engine:
        items = engine.outbox(status=status)
    if as_json:
        echo_json(
            [
                {
                    "id": i.id,
                    "reference": i.reference,
                    "kind": i.kind,
                    "status": i.status,
                    "attempts": i.attempts,
                    "next_attempt_at": i.next_attempt_at,
                    "last_error": i.last_error,
                    "delivered_at": i.delivered_at,
                }
                for i in items
            ]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Giden kutusu ({len(items)})")
    for column in ("id", "referans", "tür", "durum", "deneme", "sonraki", "hata"):
        table.add_column(column)
    styles = {"dead": "red", "failed": "yellow", "delivered": "green"}
    for i in items:
        table.add_row(
            str(i.id),
            i.reference,
            i.kind,
            i.status,
            str(i.attempts),
            when(i.next_attempt_at),
            i.last_error or "",
            style=styles.get(i.status, ""),
        )
    Console().print(table)


@outbox_app.command("retry")
def outbox_retry(item_id: Annotated[int, typer.Argument(help="Outbox item id.")]) -> None:
    """Queue a dead or failed effect again (its attempts start from zero)."""
    with open_engine() as engine:
        item = engine.retry_effect(item_id)
    typer.echo(f"outbox {item.id} ({item.kind}, {item.reference}) is {item.status} again")


@app.command()
def notifications(actor: Actor, as_json: AsJson = False) -> None:
    """In-app notifications for the roles a person holds, newest first."""
    with open_engine() as engine:
        rows = engine.notifications(actor)
    if as_json:
        echo_json([vars(n) for n in rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{actor} — bildirimler ({len(rows)})")
    for column in ("zaman", "referans", "rol", "mesaj"):
        table.add_column(column)
    for n in rows:
        table.add_row(when(n.created_at), n.reference, n.role, n.message)
    Console().print(table)

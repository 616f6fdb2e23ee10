"""Commands for the desk's figures: report bizim-masa, demo-data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from flowengine.cli.app import app, fail
from flowengine.cli.operations import AsJson, echo_json, open_engine

report_app = typer.Typer(help="Reports people look at.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(
            f"{option} '{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-01-31"
        ) from None


@report_app.command("bizim-masa")
def report_bizim_masa(
    since: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); a year ago by default.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); today by default.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the report here: .pdf for a PDF, else HTML."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Requests per channel, neighbourhood, directorate and type; reply times; deadlines."""
    from flowengine.desk import reports

    with open_engine() as engine:
        last = _day(until, "--to") or engine.clock().date()
        first = _day(since, "--from") or last - timedelta(days=365)
        report = reports.desk_report(engine, first, last)
    if as_json:
        echo_json(report.as_json())
        return
    if output is not None and output.suffix.lower() == ".pdf":
        output.write_bytes(reports.to_pdf(report))
    elif output is not None:
        output.write_text(reports.to_html(report), encoding="utf-8")
    else:
        typer.echo(reports.to_html(report))
        return
    typer.echo(
        f"{output}: {report.requests} requests, {report.answered} answered "
        f"(median {report.median_days} days), {report.open} open",
        err=True,
    )


@app.command("demo-data")
def demo_data(
    requests: Annotated[int, typer.Option("--requests", help="How many requests.")] = 10_000,
    days: Annotated[int, typer.Option("--days", help="Spread over this many days.")] = 365,
    seed: Annotated[int, typer.Option("--seed", help="The same seed, the same data.")] = 2026,
) -> None:
    """Fill the database with a realistic year of generated Bizim Masa requests."""
    from flowengine.desk import demo_data as generator

    with open_engine() as engine:
        made = generator.generate(engine, requests, days=days, seed=seed)
    typer.echo(
        f"{made.requests} requests from {made.first:%Y-%m-%d} to {made.last:%Y-%m-%d}, "
        f"{made.open} still open"
    )


@app.command()
def receipt(
    ref: Annotated[str, typer.Argument(help="Reference number or instance id.")],
    actor: Annotated[str, typer.Option("--as", help="The person printing it (their id).")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the printable HTML here.")
    ] = None,
    as_text: Annotated[
        bool, typer.Option("--text", help="The receipt as a message to the citizen.")
    ] = False,
) -> None:
    """The receipt (alındı belgesi) of a request: printable HTML, or as a message."""
    from flowengine.desk import receipts

    with open_engine() as engine:
        made = receipts.receipt(engine, ref, actor)
    if as_text:
        typer.echo(made.text())
        return
    page = receipts.to_html(made)
    if output is None:
        typer.echo(page)
    else:
        output.write_text(page, encoding="utf-8")
        typer.echo(f"{output}: alındı belgesi {made.reference}", err=True)

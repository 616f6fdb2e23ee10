"""Commands about flow definitions: validate, flows, show, graph."""

from __future__ import annotations

import enum
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flowengine.cli.app import app, fail, settings

if TYPE_CHECKING:
    from flowengine.flowset import ValidationReport


class ReportFormat(enum.StrEnum):
    text = "text"
    json = "json"
    github = "github"


class GraphFormat(enum.StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Flow files or folders (default: the flows folder).")
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="text, json, or github annotations.")
    ] = ReportFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="Also compare with a database's deployed versions (its URL).",
        ),
    ] = None,
    against_git: Annotated[
        str | None,
        typer.Option(
            "--against-git",
            help="Also compare with the flow files of a git revision (e.g. origin/main).",
        ),
    ] = None,
) -> None:
    """Check flow files; print every error as path:line:col and exit 1 if any."""
    from flowengine.flowset import validate_paths

    report = validate_paths(paths or [settings.flows_dir])
    if against is not None and report.ok:
        from flowengine.deployment import check_against

        report.issues = sorted(set(report.issues) | set(check_against(report, against)))
    if against_git is not None and report.ok:
        from flowengine.deployment import check_against_git

        found = check_against_git(report, against_git)
        report.issues = sorted(set(report.issues) | set(found))
    if output_format is ReportFormat.json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok and not (strict and report.warnings),
                    "files": [str(p) for p in report.files],
                    "issues": [
                        {
                            "path": i.path,
                            "line": i.line,
                            "column": i.column,
                            "severity": i.severity,
                            "code": i.code,
                            "message": i.message,
                        }
                        for i in report.issues
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif output_format is ReportFormat.github:
        for issue in report.issues:
            message = issue.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            typer.echo(
                f"::{issue.severity} file={issue.path},line={issue.line},"
                f"col={issue.column},title=flowengine {issue.code}::{message}"
            )
    else:
        for issue in report.issues:
            typer.echo(issue.format())
        flows = len(report.flows)
        typer.echo(
            f"{_count(len(report.errors), 'error')}, {_count(len(report.warnings), 'warning')} "
            f"in {_count(len(report.files), 'file')} ({_count(flows, 'flow')})",
            err=True,
        )
    if report.errors or (strict and report.warnings):
        raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _valid_report() -> ValidationReport:
    from flowengine.flowset import validate_paths

    report = validate_paths([settings.flows_dir])
    if report.errors:
        first = report.errors[0].format()
        raise fail(f"{first} ({len(report.errors)} errors; run 'flowengine validate' to see all)")
    return report


@app.command("flows")
def list_flows(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the flows: id, version, title, directorate and number of states."""
    from flowengine.checks import iter_scopes

    report = _valid_report()
    rows = []
    for fid in sorted(report.flows):
        doc = report.flows[fid].doc
        count = sum(len(scope.states) for scope in iter_scopes(doc))
        rows.append(
            {
                "flow": fid,
                "version": doc.version,
                "title": doc.title,
                "directorate": doc.directorate,
                "unit": doc.unit,
                "states": count,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Akışlar")
    for column in ("flow", "version", "title", "directorate", "states"):
        table.add_column(column, justify="right" if column in ("version", "states") else "left")
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("flow", "version", "title", "directorate", "states")))
    Console().print(table)


@app.command()
def show(flow: Annotated[str, typer.Argument(help="Flow id.")]) -> None:
    """Show a flow as a tree of states, events, roles and SLAs."""
    from rich.console import Console

    from flowengine.errors import UnknownFlow
    from flowengine.render import flow_tree

    report = _valid_report()
    if flow not in report.flows:
        raise UnknownFlow(flow, report.flows)
    Console().print(flow_tree(report.flows[flow].doc, report.organization))


@app.command()
def graph(
    flow: Annotated[str, typer.Argument(help="Flow id.")],
    output_format: Annotated[
        GraphFormat, typer.Option("--format", help="mermaid, dot, or svg/png (needs Graphviz).")
    ] = GraphFormat.mermaid,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Draw a flow as a Mermaid or Graphviz diagram."""
    from flowengine.errors import UnknownFlow
    from flowengine.graph import to_dot, to_mermaid

    report = _valid_report()
    if flow not in report.flows:
        raise UnknownFlow(flow, report.flows)
    doc = report.flows[flow].doc
    text = to_mermaid(doc) if output_format is GraphFormat.mermaid else to_dot(doc)
    if output_format in (GraphFormat.svg, GraphFormat.png):
        dot = shutil.which("dot")
        if dot is None:
            raise fail(
                "Graphviz 'dot' is not on the PATH; install graphviz or use --format mermaid|dot"
            )
        if output is None:
            raise fail(f"--format {output_format.value} needs -o FILE")
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [dot, f"-T{output_format.value}", "-o", str(output)],
            input=text.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise fail(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
        typer.echo(f"wrote {output}", err=True)
        return
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)

"""The typer application, its global options and the one place errors are printed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from flowengine.errors import FlowEngineError

app = typer.Typer(
    name="flowengine",
    help="Declarative workflow engine for municipal work charts (iş akış şemaları).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


class Settings:
    """Options given before the command, shared by every command."""

    flows_dir: Path = Path("flows")
    database: str | None = None


settings = Settings()


@app.callback()
def _global_options(
    flows: Annotated[
        Path,
        typer.Option(
            "--flows", envvar="FLOWENGINE_FLOWS", help="Folder of flow files (default: flows/)."
        ),
    ] = Path("flows"),
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (sqlite:///file.db or postgresql+psycopg://…); "
            "else FLOWENGINE_DATABASE_URL, else flowengine.toml, else ./flowengine.db.",
        ),
    ] = None,
) -> None:
    settings.flows_dir = flows
    settings.database = db


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line to stderr; return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def main() -> None:
    """Console entry point: run the app, turning every known error into one line."""
    from flowengine.cli import commands  # noqa: F401  (registers the commands)

    try:
        app()  # standalone: typer itself turns usage errors into exit code 2
    except FlowEngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("FLOWENGINE_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc}; "
            "rerun with FLOWENGINE_DEBUG=1 for details and report it",
            err=True,
        )
        sys.exit(70)

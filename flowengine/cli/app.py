"""The typer application, its global options and the one place errors are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

"""The console entry point: every command registered, every known error one line.

Apart from ``app.py`` so that the command modules, which add their commands
to ``app``, never import the module that imports them (no cycle).
"""

from __future__ import annotations

import os
import sys

import typer

from flowengine.cli import commands  # noqa: F401  (registers the commands on app)
from flowengine.cli.app import app
from flowengine.errors import FlowEngineError


def main() -> None:
    """Console entry point: run the app, turning every known error into one line."""
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

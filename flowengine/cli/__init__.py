"""The ``flowengine`` command line: a thin typer layer over the library.

Commands parse their arguments, make one library call and render the result
with rich. Nothing here decides anything a library user would not also get.
"""

from flowengine.cli.app import app
from flowengine.cli.main import main

__all__ = ["app", "main"]

"""``python -m flowengine`` runs the CLI."""

from flowengine.cli import main

main()

"""Import every command module so that each registers its commands on ``app``."""

from flowengine.cli import definitions, delivery, operations, reports, trust, versions  # noqa: F401

"""Import every command module so that each registers its commands on ``app``."""

from flowengine.cli import (  # noqa: F401
    definitions,
    delivery,
    operations,
    reports,
    trust,
    versions,
    web,
)

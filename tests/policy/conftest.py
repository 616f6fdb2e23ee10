"""The web fixture (an app over an engine with the charts' people and tokens), shared."""

from tests.web.conftest import web  # noqa: F401 - a fixture, found by pytest by name

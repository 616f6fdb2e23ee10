"""Where the database is: ``--db``, then ``FLOWENGINE_DATABASE_URL``, then
``flowengine.toml``, then ``flowengine.db`` in the working directory.

Imports only ``errors``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from flowengine.errors import ConfigurationError

DEFAULT_DATABASE = "sqlite:///flowengine.db"
CONFIG_FILE = "flowengine.toml"


def database_url(explicit: str | None = None, cwd: Path | None = None) -> str:
    """Resolve the database URL by the documented order of precedence."""
    if explicit:
        return explicit
    from_env = os.environ.get("FLOWENGINE_DATABASE_URL")
    if from_env:
        return from_env
    config = (cwd or Path.cwd()) / CONFIG_FILE
    if config.is_file():
        try:
            settings = tomllib.loads(config.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{config}: not valid TOML: {exc}") from None
        url = settings.get("database", {}).get("url")
        if url is not None:
            if not isinstance(url, str):
                raise ConfigurationError(f"{config}: [database] url must be a string")
            return url
    return DEFAULT_DATABASE

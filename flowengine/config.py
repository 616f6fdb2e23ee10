"""Settings: the database URL and ``flowengine.toml``.

The database is ``--db``, then ``FLOWENGINE_DATABASE_URL``, then
``[database] url`` of ``flowengine.toml``, then ``flowengine.db`` in the working
directory. ``memory://`` is a store in this process only, gone when it ends (tests,
a flow tried out, a demo server). Delivery and connector settings come from
``flowengine.toml``::

    [delivery]
    max_attempts = 8        # then the effect is dead-lettered
    base_delay = 5.0        # seconds before the first retry; doubles each time
    max_delay = 3600.0
    lease = 60.0            # a worker's claim on an effect; expires if it dies

    [connectors]            # effect kind -> connector name (entry point)
    email = "smtp"

    [connectors.smtp]
    host = "127.0.0.1"
    port = 25

    [municipality]
    timezone = "Europe/Istanbul"   # its days, deadlines and printed dates

The time zone's default is ``durations.DEFAULT_TIMEZONE``; the callers pass it
in, so this module still imports only ``errors``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowengine.errors import ConfigurationError

DEFAULT_DATABASE = "sqlite:///flowengine.db"
MEMORY_URL = "memory://"
CONFIG_FILE = "flowengine.toml"


def load_config(cwd: Path | None = None) -> dict[str, Any]:
    """The parsed ``flowengine.toml`` of ``cwd`` (empty when there is none)."""
    config = (cwd or Path.cwd()) / CONFIG_FILE
    if not config.is_file():
        return {}
    try:
        return tomllib.loads(config.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{config}: not valid TOML: {exc}") from None


def database_url(explicit: str | None = None, cwd: Path | None = None) -> str:
    """Resolve the database URL by the documented order of precedence."""
    if explicit:
        return explicit
    from_env = os.environ.get("FLOWENGINE_DATABASE_URL")
    if from_env:
        return from_env
    url = load_config(cwd).get("database", {}).get("url")
    if url is not None:
        if not isinstance(url, str):
            raise ConfigurationError(f"{CONFIG_FILE}: [database] url must be a string")
        return url
    return DEFAULT_DATABASE


def is_memory_url(url: str) -> bool:
    """True for ``memory://`` (the in-memory store), in any letter case."""
    return url.strip().lower().startswith(MEMORY_URL)


def municipality_timezone(default: str, cwd: Path | None = None) -> str:
    """``[municipality] timezone`` of ``flowengine.toml`` (an IANA name), else ``default``.

    The one place the municipality's time zone is chosen: ``Engine.open`` runs
    the engine on it (days, deadlines, working days), and the faces print dates
    in it (:func:`local_zone`).
    """
    section = load_config(cwd).get("municipality", {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"{CONFIG_FILE}: [municipality] must be a table")
    unknown = set(section) - {"timezone"}
    if unknown:
        raise ConfigurationError(
            f"{CONFIG_FILE}: unknown [municipality] keys: {', '.join(sorted(unknown))}; "
            "known: timezone"
        )
    name = section.get("timezone", default)
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{CONFIG_FILE}: [municipality] timezone must be a string")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{CONFIG_FILE}: [municipality] timezone '{name}' is not a known time zone; "
            "write an IANA name such as Europe/Istanbul"
        ) from None
    return name


def local_zone(default: str) -> ZoneInfo:
    """The zone a face prints dates in when it has no engine at hand (read once per
    working directory: a page formats many dates)."""
    return _local_zone(default, Path.cwd())


@lru_cache(maxsize=8)
def _local_zone(default: str, cwd: Path) -> ZoneInfo:
    return ZoneInfo(municipality_timezone(default, cwd))


@dataclass(frozen=True)
class DeliverySettings:
    """How effects are retried (``[delivery]`` of flowengine.toml)."""

    max_attempts: int = 8
    base_delay: float = 5.0
    max_delay: float = 3600.0
    lease: float = 60.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DeliverySettings:
        section = config.get("delivery", {})
        known = {"max_attempts", "base_delay", "max_delay", "lease"}
        unknown = set(section) - known
        if unknown:
            raise ConfigurationError(
                f"{CONFIG_FILE}: unknown [delivery] keys: {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        try:
            settings = cls(
                max_attempts=int(section.get("max_attempts", cls.max_attempts)),
                base_delay=float(section.get("base_delay", cls.base_delay)),
                max_delay=float(section.get("max_delay", cls.max_delay)),
                lease=float(section.get("lease", cls.lease)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{CONFIG_FILE}: [delivery]: {exc}") from None
        if settings.max_attempts < 1 or settings.lease <= 0:
            raise ConfigurationError(
                f"{CONFIG_FILE}: [delivery] max_attempts must be ≥ 1 and lease > 0"
            )
        return settings

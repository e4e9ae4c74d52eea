"""Strict readers for the environment.

Every setting is read once, at start-up, and a bad value stops the process with one line that
names the variable and the fix (see healthchecks ``hc/settings.py``). ``<NAME>_FILE`` may hold
a secret instead of ``<NAME>``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def env_str(name: str, default: str | None = None) -> str | None:
    """Return ``name`` from the environment, or the contents of the file named by ``name_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_name} cannot be read ({exc.strerror}); "
                              f"point it at a readable file") from exc
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env_str(name, default) or default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def env_networks(name: str, default: str) -> list[IPNetwork]:
    """Comma-separated addresses or CIDR networks (``127.0.0.0/8,::1``); empty means none."""
    raw = env_str(name, default)
    networks: list[IPNetwork] = []
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {part.strip()!r} is not an address or network; use e.g. "
                              "127.0.0.0/8,::1,10.0.0.0/8") from None
    return networks


def data_home() -> Path:
    """The data directory: ``DROPSTREAM_HOME`` or ``.dropstream`` in the working directory."""
    raw = env_str("DROPSTREAM_HOME")
    return Path(raw).expanduser().resolve() if raw else (Path.cwd() / ".dropstream").resolve()


SUPPORTED_DB_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


def database_config(home: Path) -> dict:
    """Django ``DATABASES['default']`` from ``DATABASE_URL``; SQLite in ``home`` by default.

    Raises ConfigError for a URL we cannot use, naming the variable.
    """
    import dj_database_url

    url = env_str("DATABASE_URL")
    if url is None:
        config: dict = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(home / "dropstream.db")}
    else:
        scheme = urlsplit(url).scheme
        if scheme not in SUPPORTED_DB_SCHEMES:
            raise ConfigError(
                f"DATABASE_URL has scheme {scheme or '(none)'!r}; use sqlite:///path/to/db or "
                "postgres://user@host:5432/name"
            )
        try:
            config = dj_database_url.parse(url)
        except ValueError as exc:
            raise ConfigError(f"DATABASE_URL cannot be parsed ({exc}); "
                              "use sqlite:///path or postgres://user@host/name") from exc
        if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
            raise ConfigError("DATABASE_URL names no database; add it: postgres://user@host:5432/NAME")
    if config["ENGINE"].endswith("sqlite3"):
        # WAL lets the web server read while the worker writes; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on busy_timeout instead of failing with "database is locked"
        # half-way through a transaction. A 64 MB page cache per connection (SQLite's default is
        # 2 MB): at 100,000 orders the file is ~380 MB, and every page read past the cache is a
        # system call on the hub's CPU (benchmarks/scale.py).
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                            "PRAGMA cache_size=-65536;",
        }
        # Tests get a file too: an in-memory database shared with a live server thread fails
        # with "table is locked" where a file in WAL mode simply waits.
        config.setdefault("TEST", {"NAME": str(home / "test-dropstream.db")})
    else:
        config.setdefault("CONN_MAX_AGE", 60)
        config.setdefault("CONN_HEALTH_CHECKS", True)
    return config

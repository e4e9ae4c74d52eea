"""DSFX connection strings: ``sftp://``, ``ftps://``, ``ftp://`` or ``file:///``.

User and password are percent-decoded (specs/dropstream-reference.md §14.2); the password never
appears in a ``repr``, a message or ``Endpoint.where``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from dropstream.crypto import MASK
from dropstream.platforms.errors import BadResponse


@dataclass(frozen=True)
class Endpoint:
    """A parsed connection string. ``password`` is excluded from ``repr``."""

    scheme: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    root: str

    @property
    def where(self) -> str:
        """``sftp://user@host:port`` (or the local root): safe to show and to log."""
        if self.scheme == "file":
            return f"file://{self.root}"
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


DEFAULT_PORTS = {"sftp": 22, "ftp": 21, "ftps": 21}


def parse_connection_string(connection_string: str) -> Endpoint:
    """Split a DSFX connection string; raises BadResponse naming what is wrong, never the password.

    User and password are percent-decoded (specs/dropstream-reference.md §14.2).
    """
    parts = urlsplit(connection_string.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise BadResponse("the connection string must be file:///absolute/path",
                              field="connection_string")
        return Endpoint("file", "", 0, "", "", unquote(parts.path).rstrip("/") or "/")
    if scheme not in DEFAULT_PORTS:
        raise BadResponse("the connection string must start with sftp://, ftps://, ftp:// or "
                          "file:///", field="connection_string")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise BadResponse("the connection string has a port that is not a number",
                          field="connection_string") from None
    if not parts.hostname:
        raise BadResponse("the connection string names no host", field="connection_string")
    root = unquote(parts.path).rstrip("/")
    return Endpoint(scheme, parts.hostname, port, unquote(parts.username or ""),
                    unquote(parts.password or ""), root)


# -- the connection-string setting, as every platform on files declares it -----------------

SCHEMES = ("sftp", "ftps", "ftp", "file")


def clean_connection_string(value: object) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise ValueError("must start with sftp://, ftps://, ftp:// or file:///")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError("must be file:///absolute/path for a local folder")
        return text
    if not parts.hostname:
        raise ValueError(f"names no host; use {parts.scheme}://user:password@host:port")
    if not parts.username:
        raise ValueError(f"names no user; use {parts.scheme}://user:password@host:port")
    try:
        parts.port  # noqa: B018 — raises ValueError for a bad port
    except ValueError:
        raise ValueError("has a port that is not a number between 1 and 65535") from None
    return text


def mask_connection_string(value: str) -> str:
    """Hide only the password: ``sftp://wh1:••••@host:22``."""
    parts = urlsplit(value)
    if parts.password is None:
        return value
    host = parts.hostname or ""
    netloc = f"{unquote(parts.username or '')}:{MASK}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def local_folder(settings: Mapping[str, Any]) -> str | None:
    """The folder of a ``file:///`` connection string; None for a remote server (the hub keeps
    local folders under its local-warehouse root: ``PlatformSpec.local_folder``)."""
    parts = urlsplit(str(settings.get("connection_string") or ""))
    return unquote(parts.path) if parts.scheme == "file" else None

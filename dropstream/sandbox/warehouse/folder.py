"""The warehouse robot's own view of a DSFX folder: a local directory or an SFTP login.

Deliberately independent of ``dropstream.platforms.dsfx``: the robot plays the warehouse, so a
transport or naming bug in the hub's code must not be mirrored here (see specs/dsfx.md).

Paths are relative to the DSFX root and use ``/``: ``in``, ``in/processed/ord_1_….csv``.
Every method raises ``OSError`` (or a paramiko ``SSHException``) when the folder cannot be used;
the robot treats those as "try again next tick".
"""

from __future__ import annotations

import ipaddress
import logging
import os
import posixpath
import socket
import stat
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger("dropstream.sandbox.warehouse")

CONNECT_TIMEOUT_S = 10.0
IO_TIMEOUT_S = 30.0


class Folder(Protocol):
    """What the robot needs from a DSFX root."""

    def list_files(self, directory: str) -> list[str]:
        """Return the names of the regular files directly in ``directory``."""
        ...

    def read(self, path: str) -> bytes:
        """Return the whole file; raises FileNotFoundError when it is gone."""
        ...

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        """Write ``directory/name`` under a temporary ``.name.part`` first, then rename it."""
        ...

    def move(self, source: str, target: str) -> None:
        """Rename; raises FileExistsError when ``target`` exists (nothing is overwritten)."""
        ...

    def exists(self, path: str) -> bool:
        ...

    def ensure_dir(self, directory: str) -> None:
        ...

    def close(self) -> None:
        ...

    def describe(self) -> str:
        """A printable name for the root, never with a password."""
        ...


def is_safe_name(name: str) -> bool:
    """True when a listed name is a plain file name we may join to a folder path.

    A name from the server is never trusted as a path: no separators, no ``..``, no control
    characters.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        return False
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in name)


def temporary_name(name: str) -> str:
    """The name a file is written under before its rename: it cannot match a DSFX prefix."""
    return f".{name}.part"


class LocalFolder:
    """A DSFX root on the local disk (``file:///abs/path``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, relative: str) -> Path:
        return self.root.joinpath(*relative.split("/"))

    def list_files(self, directory: str) -> list[str]:
        names = []
        with os.scandir(self._path(directory)) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    names.append(entry.name)
        return names

    def read(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        folder = self._path(directory)
        temporary = folder / temporary_name(name)
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)

    def move(self, source: str, target: str) -> None:
        target_path = self._path(target)
        # os.rename would silently replace an existing file; a link fails instead.
        os.link(self._path(source), target_path)
        os.unlink(self._path(source))

    def exists(self, path: str) -> bool:
        return self._path(path).exists()

    def ensure_dir(self, directory: str) -> None:
        self._path(directory).mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        return None

    def describe(self) -> str:
        return f"file://{self.root}"


class SftpFolder:
    """A DSFX root over SFTP (paramiko), at the login's directory or the URL's path."""

    def __init__(self, host: str, port: int, username: str, password: str, base: str) -> None:
        import paramiko

        self._display = f"sftp://{username}@{host}:{port}{base}"
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = CONNECT_TIMEOUT_S
        transport.auth_timeout = CONNECT_TIMEOUT_S
        try:
            # No host key pinning: the sandbox only ever talks to a loopback server.
            transport.connect(username=username, password=password)
            self._sftp = paramiko.SFTPClient.from_transport(transport)
            if self._sftp is None:
                raise OSError("the SFTP subsystem could not be started")
            self._sftp.get_channel().settimeout(IO_TIMEOUT_S)
            self._base = base or self._sftp.normalize(".")
        except BaseException:
            transport.close()
            sock.close()  # close() skips an inactive transport, which may still hold it
            if transport.is_alive():
                transport.join(CONNECT_TIMEOUT_S)
            raise
        self._transport = transport

    def _path(self, relative: str) -> str:
        return posixpath.join(self._base, relative)

    def list_files(self, directory: str) -> list[str]:
        return [attr.filename for attr in self._sftp.listdir_attr(self._path(directory))
                if attr.st_mode is not None and stat.S_ISREG(attr.st_mode)]

    def read(self, path: str) -> bytes:
        with self._sftp.open(self._path(path), "rb") as handle:
            handle.prefetch()
            return handle.read()

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        temporary = self._path(posixpath.join(directory, temporary_name(name)))
        with self._sftp.open(temporary, "wb") as handle:
            handle.set_pipelined(True)
            handle.write(data)
        final = self._path(posixpath.join(directory, name))
        if self.exists(posixpath.join(directory, name)):
            self._sftp.remove(final)
        self._sftp.rename(temporary, final)

    def move(self, source: str, target: str) -> None:
        if self.exists(target):
            raise FileExistsError(target)
        self._sftp.rename(self._path(source), self._path(target))

    def exists(self, path: str) -> bool:
        try:
            self._sftp.stat(self._path(path))
        except FileNotFoundError:
            return False
        return True

    def ensure_dir(self, directory: str) -> None:
        if not self.exists(directory):
            self._sftp.mkdir(self._path(directory))

    def close(self) -> None:
        self._sftp.close()
        self._transport.close()

    def describe(self) -> str:
        return self._display


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); no DNS is asked."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe_root(root: str) -> str:
    """The root as text safe to print: an SFTP password is dropped."""
    parts = urlsplit(root)
    if parts.scheme != "sftp":
        return root
    host = parts.hostname or ""
    port = f":{parts.port}" if _port_or_none(root) else ""
    return f"sftp://{unquote(parts.username or '')}@{host}{port}{parts.path}"


def _port_or_none(root: str) -> int | None:
    try:
        return urlsplit(root).port
    except ValueError:
        return None


def check_root(root: str) -> None:
    """Raise ValueError (with a plain, password-free message) for a root the robot cannot use."""
    parts = urlsplit(root)
    if parts.scheme == "file" or (not parts.scheme and root.startswith("/")):
        path = parts.path if parts.scheme else root
        if parts.scheme and parts.netloc not in ("", "localhost"):
            raise ValueError("a local root must be file:///absolute/path")
        if not path.startswith("/"):
            raise ValueError("a local root must be an absolute path: file:///absolute/path")
        return
    if parts.scheme != "sftp":
        raise ValueError("the sandbox warehouse needs --root file:///absolute/path or "
                         "sftp://user:password@127.0.0.1:port")
    host = parts.hostname
    if not host:
        raise ValueError("the SFTP root names no host; use sftp://user:password@127.0.0.1:port")
    if not is_loopback_host(host):
        raise ValueError(f"refusing SFTP host {host}: the sandbox warehouse only connects to "
                         "loopback (127.0.0.1, ::1, localhost)")
    if not parts.username:
        raise ValueError("the SFTP root names no user; use sftp://user:password@127.0.0.1:port")
    try:
        parts.port  # noqa: B018 — raises ValueError for a bad port
    except ValueError:
        raise ValueError("the SFTP root has a port that is not a number from 1 to 65535") from None


def local_root(root: str) -> Path | None:
    """The directory of a local root, or None for an SFTP root."""
    parts = urlsplit(root)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if not parts.scheme and root.startswith("/"):
        return Path(root)
    return None


def open_folder(root: str) -> Folder:
    """Open ``root``; raises ValueError for an unusable root, OSError when it cannot connect."""
    check_root(root)
    directory = local_root(root)
    if directory is not None:
        return LocalFolder(directory)
    parts = urlsplit(root)
    base = unquote(parts.path).rstrip("/")
    return SftpFolder(parts.hostname or "", parts.port or 22, unquote(parts.username or ""),
                      unquote(parts.password or ""), base)

"""``file:///path``: a local (or mounted) folder.

Symbolic links are never listed nor followed, so a link in ``/out`` cannot make the hub read a
file elsewhere on the machine, and a link planted in ``/in`` cannot make it overwrite one (its
key, its database). Every folder from the root down is checked with ``lstat`` and refused when it
is a link. An upload goes to a temporary file with a random name, created with
``O_CREAT | O_EXCL | O_NOFOLLOW``, then renamed (a rename replaces a link itself, never the file
it points to; the final name is checked first, as for every transport).
"""

from __future__ import annotations

import os
import posixpath
import secrets
import stat

from dropstream.platforms.errors import PermanentError, PlatformError
from dropstream.platforms.transport.base import Transport, kind_of_mode, verb
from dropstream.platforms.transport.names import TEMP_SUFFIX

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LinkedFolder(PermanentError):
    """A folder of the warehouse is a symbolic link."""


class LocalTransport(Transport):
    """A local folder. Symbolic links are never listed nor followed on read."""

    scheme = "file"

    def _ensure_connected(self) -> None:
        pass

    def _disconnect(self) -> None:
        pass

    def _list(self, path: str) -> list[tuple[str, str, int, float]]:
        self._refuse_linked_folders(path)
        entries = []
        with os.scandir(path) as scan:
            for entry in scan:
                info = entry.stat(follow_symlinks=False)
                entries.append((entry.name, kind_of_mode(info.st_mode), info.st_size,
                                info.st_mtime))
        return entries

    def _read(self, path: str) -> bytes:
        # O_NOFOLLOW: a link planted after the listing still cannot redirect the read.
        self._refuse_linked_folders(posixpath.dirname(path))
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def _upload_name(self, name: str) -> str:
        # Random, so a link planted under the expected name cannot be waiting for the upload.
        return f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"

    def _write(self, path: str, data: bytes) -> None:
        # A new file or nothing: O_EXCL | O_NOFOLLOW never opens what is already there.
        self._refuse_linked_folders(posixpath.dirname(path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o640)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

    def _refuse_linked_folders(self, directory: str) -> None:
        """Every folder from the root down to ``directory`` must be a real folder."""
        root = self.endpoint.root.rstrip("/") or "/"
        relative = posixpath.relpath(directory, root)
        parts = [] if relative == "." else relative.split("/")
        path = root
        for part in ["", *parts]:
            path = posixpath.join(path, part) if part else path
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                return  # the caller's own operation reports the missing folder
            if stat.S_ISLNK(info.st_mode):
                raise LinkedFolder(f"{self.where}: {path} is a symbolic link; the hub refuses "
                                   "linked warehouse folders")

    def _stat(self, path: str) -> tuple[int, float] | None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        return info.st_size, info.st_mtime

    def _rename(self, source: str, target: str) -> None:
        self._refuse_linked_folders(posixpath.dirname(source))
        self._refuse_linked_folders(posixpath.dirname(target))
        os.rename(source, target)

    def _mkdir(self, path: str) -> None:
        os.mkdir(path)

    def _remove(self, path: str) -> None:
        os.remove(path)

    def _translate(self, exc: Exception, op: str, endpoint: str) -> PlatformError:
        # A local disk error will not heal alone; a mounted network share's dropped connection
        # or timeout may, so those stay transient.
        if isinstance(exc, OSError) and not isinstance(
                exc, FileNotFoundError | PermissionError | ConnectionError | TimeoutError):
            return PermanentError(f"{self.where}: cannot {verb(op)} "
                                  f"{endpoint}: {exc.strerror or type(exc).__name__}")
        return super()._translate(exc, op, endpoint)

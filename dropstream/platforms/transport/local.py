"""``file:///path``: a local (or mounted) folder.

Symbolic links are never listed nor followed on read, so a link in ``/out`` cannot make the hub
read a file elsewhere on the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from dropstream.platforms.errors import PermanentError, PlatformError
from dropstream.platforms.transport.base import Transport, kind_of_mode, verb


class LocalTransport(Transport):
    """A local folder. Symbolic links are never listed nor followed on read."""

    scheme = "file"

    def _ensure_connected(self) -> None:
        pass

    def _disconnect(self) -> None:
        pass

    def _list(self, path: str) -> list[tuple[str, str, int, float]]:
        entries = []
        with os.scandir(path) as scan:
            for entry in scan:
                info = entry.stat(follow_symlinks=False)
                entries.append((entry.name, kind_of_mode(info.st_mode), info.st_size,
                                info.st_mtime))
        return entries

    def _read(self, path: str) -> bytes:
        # O_NOFOLLOW: a link planted after the listing still cannot redirect the read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def _write(self, path: str, data: bytes) -> None:
        Path(path).write_bytes(data)

    def _stat(self, path: str) -> tuple[int, float] | None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        return info.st_size, info.st_mtime

    def _rename(self, source: str, target: str) -> None:
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

"""The EDI warehouse's mailbox: the DSFX robot's folder view plus the transport faults of §8 row 10.

Reuses ``dropstream.sandbox.warehouse.folder`` (sandbox code, not the hub's): a local directory
(``file:///abs/path``) or an SFTP login on a loopback host. Adds two ways of writing that a
careless partner uses (specs/x12-warehouse.md §6, §8 row 10):

* ``write_direct`` — straight to the final name, no temporary name and rename;
* ``write_partial`` — only part of the data under the temporary name ``.name.part``, never
  renamed (an upload that died half-way).
"""

from __future__ import annotations

import os
import posixpath
from typing import Protocol
from urllib.parse import unquote, urlsplit

from dropstream.sandbox.warehouse.folder import (
    Folder,
    LocalFolder,
    SftpFolder,
    check_root,
    local_root,
    temporary_name,
)


class Mailbox(Folder, Protocol):
    def write_direct(self, directory: str, name: str, data: bytes) -> None:
        """Write ``directory/name`` in place (a reader may see it half-written)."""
        ...

    def write_partial(self, directory: str, name: str, data: bytes) -> None:
        """Write ``data`` under ``directory/.name.part`` and leave it there."""
        ...


class LocalMailbox(LocalFolder):
    def write_direct(self, directory: str, name: str, data: bytes) -> None:
        with open(self._path(directory) / name, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def write_partial(self, directory: str, name: str, data: bytes) -> None:
        self.write_direct(directory, temporary_name(name), data)


class SftpMailbox(SftpFolder):
    def write_direct(self, directory: str, name: str, data: bytes) -> None:
        with self._sftp.open(self._path(posixpath.join(directory, name)), "wb") as handle:
            handle.set_pipelined(True)
            handle.write(data)

    def write_partial(self, directory: str, name: str, data: bytes) -> None:
        self.write_direct(directory, temporary_name(name), data)


def open_mailbox(root: str) -> Mailbox:
    """Open ``root``; ValueError for an unusable root (e.g. not loopback), OSError on failure."""
    check_root(root)
    directory = local_root(root)
    if directory is not None:
        return LocalMailbox(directory)
    parts = urlsplit(root)
    base = unquote(parts.path).rstrip("/")
    return SftpMailbox(parts.hostname or "", parts.port or 22, unquote(parts.username or ""),
                       unquote(parts.password or ""), base)

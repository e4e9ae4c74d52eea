"""The transport interface, with the retries, metering and safe-transfer logic every scheme shares.

Writes are safe transfers (specs/dsfx.md "Ours — safe transfer"): upload under
``.<name>.part``, which no reader prefix matches, then rename. A rename whose reply was lost is
retried only after checking which name exists, so the second attempt never fails on a rename that
already happened. Nothing is ever overwritten (TargetExists), and the hub deletes only files it
made itself (``remove_own``).

Errors are translated at the boundary into ``dropstream.platforms.errors`` types whose messages
name the scheme, user, host and port, never the password::

    socket.gaierror            -> RemoteUnavailable   "cannot find the host …"
    connection refused/reset   -> RemoteUnavailable   (retried)
    timeout                    -> RemoteTimeout       (retried)
    bad login                  -> CredentialsRejected
    missing file or folder     -> RemoteNotFound
    permission denied          -> CredentialsRejected(read_only=True)

Every attempt of every operation is reported to the meter as a MeteredCall with
``method`` = scheme, ``endpoint`` = ``"<OP> <folder>[/:file]"``, ``status`` 0 when it worked,
the SFTP/FTP error code or errno when the server refused, and None when no answer came.
"""

from __future__ import annotations

import errno
import logging
import posixpath
import socket
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from dropstream.platforms.base import (
    MeteredCall,
    MeterSink,
    announce,
    discard_meter,
    new_call_id,
)
from dropstream.platforms.errors import (
    CredentialsRejected,
    PermanentError,
    PlatformError,
    RemoteNotFound,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnavailable,
    TransientError,
)
from dropstream.platforms.transport.endpoint import Endpoint
from dropstream.platforms.transport.names import (
    PROBE_PREFIX,
    TEMP_SUFFIX,
    check_folder,
    check_name,
    temp_name,
    unsafe_name_reason,
)

log = logging.getLogger(__name__)

PLATFORM = "dropstream"
DEFAULT_TIMEOUT = 20.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A regular file in a folder: ``mtime`` is seconds since the epoch on the server's clock."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Listing:
    """The regular files of a folder whose names are safe, and the names that were refused."""

    folder: str
    files: tuple[RemoteFile, ...]
    rejected: tuple[tuple[str, str], ...] = ()  # (name as listed, why it was refused)


class TargetExists(PermanentError):
    """The name a write or move would create already exists; nothing was overwritten."""


class Transport:
    """Base class: public methods take a folder from ``FOLDERS`` and a checked file name.

    Subclasses implement the ``_``-prefixed primitives on absolute server paths and
    ``_translate`` (library exception → PlatformError). Not thread-safe: one per run.
    """

    scheme = ""

    def __init__(self, endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT, retries: int = 2,
                 backoff: float = 0.5, meter: MeterSink = discard_meter,
                 platform: str = PLATFORM, folder_names: Mapping[str, str] | None = None) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.meter = meter
        # The platform the meter rows are billed to: every platform on files shares this code.
        self.platform = platform
        # Server-side names of the top folders (``{"in": "to-wh", "out": "from-wh"}``): the
        # hub still speaks of /in and /out, the server sees the partner's own names.
        self.folder_names = {key: check_name(value)
                             for key, value in (folder_names or {}).items()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint.where}>"

    @property
    def where(self) -> str:
        return self.endpoint.where

    # -- public operations -------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection now (operations also do it on first use); raises PlatformError."""
        self._call("CONNECT", "/", self._ensure_connected)

    def list(self, folder: str) -> Listing:
        """Regular files in ``folder`` with safe names; unsafe names go to ``rejected``."""
        check_folder(folder)
        entries = self._call("LIST", folder, lambda: self._list(self._path(folder)))
        files: list[RemoteFile] = []
        rejected: list[tuple[str, str]] = []
        for name, kind, size, mtime in entries:
            if name in (".", ".."):
                continue
            reason = unsafe_name_reason(name)
            if reason is None and kind == "link":
                reason = "the entry is a symbolic link"
            if reason is not None:
                rejected.append((name, reason))
                continue
            if kind == "file":
                files.append(RemoteFile(name, size, mtime))
        for name, reason in rejected:
            log.warning("file transport %s%s: skipped listed name %r: %s", self.where, folder, name, reason)
        files.sort(key=lambda f: (f.mtime, f.name))
        return Listing(folder, tuple(files), tuple(rejected))

    def read(self, folder: str, name: str) -> bytes:
        """The file's bytes; raises RemoteNotFound when it is gone."""
        path = self._file_path(folder, name)
        return self._call("GET", f"{folder}/:file", lambda: self._read(path),
                          target=f"{folder}/{name}")

    def exists(self, folder: str, name: str = "") -> bool:
        """Whether the file (or, with no name, the folder) exists."""
        path = self._file_path(folder, name) if name else self._path(check_folder(folder))
        endpoint = f"{folder}/:file" if name else folder
        return self._call("STAT", endpoint, lambda: self._stat(path) is not None,
                          target=f"{folder}/{name}" if name else folder)

    def mkdir(self, folder: str) -> None:
        """Create ``folder`` if it is missing (its parent must exist)."""
        path = self._path(check_folder(folder))

        def attempt() -> None:
            if self._stat(path) is None:
                self._mkdir(path)

        self._call("MKDIR", folder, attempt)

    def write(self, folder: str, name: str, data: bytes) -> None:
        """Upload ``data`` as ``folder/name`` via ``.name.part`` and a rename.

        Raises TargetExists (after removing its own temporary file) when ``name`` already
        exists: nothing is ever overwritten.
        """
        final = self._file_path(folder, name)
        upload = self._upload_name(name)
        partial = self._file_path(folder, upload)
        self._call("PUT", f"{folder}/:file", lambda: self._write(partial, data),
                   target=f"{folder}/{upload}")
        if self._call("STAT", f"{folder}/:file", lambda: self._stat(final) is not None):
            self.remove_own(folder, upload)
            raise TargetExists(f"{folder}/{name} already exists on {self.where}")
        self._rename_checked(folder, partial, final, f"{folder}/{name}")

    def _upload_name(self, name: str) -> str:
        """The temporary name ``name`` is uploaded under (hidden, matching no reader prefix)."""
        return temp_name(name)

    def rename(self, folder: str, name: str, to_folder: str, to_name: str) -> None:
        """Move ``folder/name`` to ``to_folder/to_name``; TargetExists if the target exists."""
        source = self._file_path(folder, name)
        target = self._file_path(to_folder, to_name)
        if self._call("STAT", f"{to_folder}/:file", lambda: self._stat(target) is not None):
            raise TargetExists(f"{to_folder}/{to_name} already exists on {self.where}")
        self._rename_checked(folder, source, target, f"{folder}/{name}")

    def remove_own(self, folder: str, name: str) -> None:
        """Delete a file the hub itself made (a ``.part`` upload or a probe), nothing else.

        The hub never deletes a warehouse file (specs/dsfx.md); raises ValueError for any other
        name, so a bug cannot turn this into a general delete.
        """
        if not (name.startswith(".") and (name.endswith(TEMP_SUFFIX)
                                          or name.startswith(PROBE_PREFIX))):
            raise ValueError(f"{name!r} is not a file the hub made; refusing to delete it")
        path = self._file_path(folder, name)

        def attempt() -> None:
            if self._stat(path) is not None:
                self._remove(path)

        self._call("DELETE", f"{folder}/:file", attempt)

    def close(self) -> None:
        """Close the connection; safe to call twice. The next operation reconnects."""
        try:
            self._disconnect()
        except Exception:  # noqa: BLE001 — closing a dead connection must not raise
            log.debug("file transport %s: error while closing", self.where, exc_info=True)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared machinery ------------------------------------------------------------------

    def _path(self, folder: str) -> str:
        top, _, rest = folder.lstrip("/").partition("/")
        renamed = "/" + "/".join(part for part in (self.folder_names.get(top, top), rest) if part)
        root = self.endpoint.root
        return posixpath.join(root, renamed.lstrip("/")) if root else renamed

    def _file_path(self, folder: str, name: str) -> str:
        return posixpath.join(self._path(check_folder(folder)), check_name(name))

    def _rename_checked(self, folder: str, source: str, target: str, shown: str) -> None:
        attempts = {"n": 0}

        def attempt() -> None:
            attempts["n"] += 1
            # A lost reply leaves us not knowing whether the rename happened: look first.
            if attempts["n"] > 1 and self._stat(source) is None and self._stat(target):
                return
            self._rename(source, target)

        self._call("RENAME", f"{folder}/:file", attempt, target=shown)

    def _call(self, op: str, endpoint: str, fn: Callable[[], T], *, target: str = "") -> T:
        """Run ``fn`` connected, metering each attempt and retrying transient failures.

        ``endpoint`` is the meter's template; ``target`` the path named in error messages.
        Raises the translated PlatformError once retries are used up or the error is permanent.
        """
        attempt = 0
        while True:
            attempt += 1
            call_id = new_call_id()
            announce(self.meter, MeteredCall(platform=self.platform, method=self.scheme.upper(),
                                             endpoint=f"{op} {endpoint}", status=None,
                                             duration_ms=0, attempt=attempt, call_id=call_id))
            started = time.perf_counter()
            try:
                self._ensure_connected()
                result = fn()
            except PlatformError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 — every library error is translated here
                error = self._translate(exc, op, target or endpoint)
                error.__cause__ = exc
            else:
                self._meter(op, endpoint, 0, started, attempt, "", call_id)
                return result
            self._meter(op, endpoint, error.status, started, attempt, type(error).__name__,
                        call_id)
            if not isinstance(error, TransientError) or attempt > self.retries:
                raise error
            log.info("file transport %s: %s %s failed (%s), retrying", self.where, op, endpoint,
                     error.message)
            self.close()
            time.sleep(self.backoff * (2 ** (attempt - 1)))

    def _meter(self, op: str, endpoint: str, status: int | None, started: float, attempt: int,
               error: str, call_id: str) -> None:
        self.meter(MeteredCall(platform=self.platform, method=self.scheme.upper(),
                               endpoint=f"{op} {endpoint}", status=status,
                               duration_ms=(time.perf_counter() - started) * 1000,
                               attempt=attempt, error=error, call_id=call_id))

    def _translate_os_error(self, exc: OSError, op: str, endpoint: str) -> PlatformError:
        """Errors common to sockets and files, in operator words."""
        where = self.where
        if isinstance(exc, socket.gaierror):
            return RemoteUnavailable(f"cannot find the host {self.endpoint.host!r} "
                                     f"({where}): check the host name")
        if isinstance(exc, TimeoutError | socket.timeout):
            return RemoteTimeout(f"{where} did not answer within {self.timeout:g} s ({op})")
        if isinstance(exc, ConnectionRefusedError):
            return RemoteUnavailable(f"{where} refused the connection: check the host and port")
        if isinstance(exc, ConnectionError | EOFError):
            return RemoteUnavailable(f"the connection to {where} was lost ({op})")
        if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
            return RemoteNotFound(f"{endpoint} does not exist on {where}", status=exc.errno)
        if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
            return CredentialsRejected(f"the login may not {verb(op)} "
                                       f"{endpoint} on {where}", status=exc.errno,
                                       read_only=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return RemoteUnavailable(f"{where} cannot be reached: check the host")
        return RemoteServerError(f"{where} failed to {verb(op)} {endpoint}"
                                 f" ({type(exc).__name__})", status=exc.errno)

    # -- primitives ------------------------------------------------------------------------

    def _ensure_connected(self) -> None:
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    def _list(self, path: str) -> list[tuple[str, str, int, float]]:
        """(name, "file"|"dir"|"link"|"other", size, mtime) per entry."""
        raise NotImplementedError

    def _read(self, path: str) -> bytes:
        raise NotImplementedError

    def _write(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def _stat(self, path: str) -> tuple[int, float] | None:
        """(size, mtime) or None when nothing exists at ``path``."""
        raise NotImplementedError

    def _rename(self, source: str, target: str) -> None:
        raise NotImplementedError

    def _mkdir(self, path: str) -> None:
        raise NotImplementedError

    def _remove(self, path: str) -> None:
        raise NotImplementedError

    def _translate(self, exc: Exception, op: str, endpoint: str) -> PlatformError:
        if isinstance(exc, OSError | EOFError):
            return self._translate_os_error(exc if isinstance(exc, OSError)
                                            else ConnectionResetError(), op, endpoint)
        return RemoteServerError(f"{self.where} failed to {verb(op)} "
                                 f"{endpoint} ({type(exc).__name__})")


_VERBS = {"LIST": "list", "GET": "read", "PUT": "write", "STAT": "look up", "MKDIR": "create",
          "RENAME": "rename", "DELETE": "delete", "CONNECT": "connect to"}


def verb(op: str) -> str:
    """The operation ``op`` ("LIST", "PUT"…) as a verb for a message: "list", "write"…"""
    return _VERBS.get(op, op.lower())


def kind_of_mode(mode: int | None) -> str:
    """An ``st_mode`` as "file", "dir", "link" or "other" (None: "other")."""
    if mode is None:
        return "other"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"

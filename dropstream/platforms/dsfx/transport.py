"""One file interface over a local folder, SFTP (paramiko), FTPS and FTP (ftplib).

The hub only ever touches a fixed set of folders under the connection's root (``FOLDERS``), and
only by a folder plus a *file name*, never by a path taken from the server: every name a server
lists is checked by ``unsafe_name_reason`` and a name with ``/``, ``\\``, ``..`` as a whole name,
or a control character is skipped and reported in ``Listing.rejected`` (the adapter logs and
exposes them). The local transport also refuses symbolic links, so a link in ``/out`` cannot
make the hub read a file elsewhere on the machine.

Writes are safe transfers (specs/dsfx.md "Ours — safe transfer"): upload under
``.<name>.part``, which no reader prefix matches, then rename. A rename whose reply was lost is
retried only after checking which name exists, so the second attempt never fails on a rename that
already happened.

SFTP host keys are trusted on first use (``on_new_host_key(key_text)`` is called once the login
succeeded, so the caller pins the key on the Warehouse) and pinned after: a different key raises
HostKeyMismatch and the connection is closed before the password is sent.

Errors are translated at the boundary into ``dropstream.platforms.errors`` types whose messages
name the scheme, user, host and port, never the password::

    socket.gaierror            -> RemoteUnavailable   "cannot find the host …"
    connection refused/reset   -> RemoteUnavailable   (retried)
    timeout                    -> RemoteTimeout       (retried)
    bad login                  -> CredentialsRejected
    missing file or folder     -> RemoteNotFound
    permission denied          -> CredentialsRejected(read_only=True)
    other host key than pinned -> HostKeyMismatch     (never retried, never accepted)

Every attempt of every operation is reported to the meter as a MeteredCall with
``method`` = scheme, ``endpoint`` = ``"<OP> <folder>[/:file]"``, ``status`` 0 when it worked,
the SFTP/FTP error code or errno when the server refused, and None when no answer came.
"""

from __future__ import annotations

import base64
import errno
import ftplib
import hashlib
import io
import logging
import os
import posixpath
import socket
import ssl
import stat
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from dropstream.platforms.base import (
    MeteredCall,
    MeterSink,
    announce,
    discard_meter,
    new_call_id,
)
from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    HostKeyMismatch,
    PermanentError,
    PlatformError,
    RemoteNotFound,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnavailable,
    TransientError,
)

log = logging.getLogger(__name__)

PLATFORM = "dropstream"
IN = "/in"
OUT = "/out"
IN_PROCESSED = "/in/processed"
OUT_PROCESSED = "/out/processed"
OUT_ERROR = "/out/error"
IN_ERROR = "/in/error"  # ours: order files and reports the warehouse refused
IN_ERROR_PROCESSED = "/in/error/processed"  # ours: refusal reports the hub has applied
FOLDERS = frozenset({IN, OUT, IN_PROCESSED, OUT_PROCESSED, OUT_ERROR, IN_ERROR,
                     IN_ERROR_PROCESSED})
TEMP_SUFFIX = ".part"
PROBE_PREFIX = ".dropstream-probe-"
MAX_NAME_LENGTH = 255
DEFAULT_TIMEOUT = 20.0

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


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


class UnsafeName(PermanentError):
    """A file name that could leave the hub's folders; ``reason`` says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"refusing file name {name!r}: {reason}")
        self.name = name
        self.reason = reason


class TargetExists(PermanentError):
    """The name a write or move would create already exists; nothing was overwritten."""


# --------------------------------------------------------------------------------------------
# Names and keys
# --------------------------------------------------------------------------------------------


def unsafe_name_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a file name inside a hub folder, or None when it is safe."""
    if not name:
        return "the name is empty"
    if name in (".", ".."):
        return "the name is a directory reference"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name:
        return "the name contains a path separator"
    if any("\udc80" <= char <= "\udcff" for char in name):
        return "the name is not UTF-8"
    for char in name:
        # Cc: control characters (NUL, newline, ESC…); Zl/Zp: line separators; Cf: invisible
        # format characters such as right-to-left overrides that disguise a name in a listing.
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            return f"the name contains the control character U+{ord(char):04X}"
    return None


def check_name(name: str) -> str:
    """Return ``name`` when safe; raises UnsafeName otherwise."""
    reason = unsafe_name_reason(name)
    if reason is not None:
        raise UnsafeName(name, reason)
    return name


def check_folder(folder: str) -> str:
    """Return ``folder`` when it is one of ``FOLDERS``; raises ValueError otherwise."""
    if folder not in FOLDERS:
        raise ValueError(f"{folder!r} is not a DSFX folder; use one of {sorted(FOLDERS)}")
    return folder


def temp_name(name: str) -> str:
    """The upload name for ``name``: hidden, and matching no reader prefix."""
    return f".{name}{TEMP_SUFFIX}"


def parse_key_text(text: str) -> tuple[str, bytes] | None:
    """(key type, key blob) from ``"ssh-ed25519 AAAA… [comment]"`` (or a known_hosts line)."""
    tokens = text.split()
    for index, token in enumerate(tokens[:-1]):
        if token.startswith(("ssh-", "ecdsa-", "sk-", "rsa-")):
            try:
                return token, base64.b64decode(tokens[index + 1], validate=True)
            except ValueError:
                return None
    return None


def fingerprint(key_text: str) -> str:
    """OpenSSH-style ``SHA256:…`` fingerprint of a public key text; "" when it cannot be read."""
    parsed = parse_key_text(key_text)
    if parsed is None:
        return ""
    digest = hashlib.sha256(parsed[1]).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


# --------------------------------------------------------------------------------------------
# Connection strings
# --------------------------------------------------------------------------------------------


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


def open_transport(
    connection_string: str,
    *,
    host_key: str = "",
    on_new_host_key: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 2,
    backoff: float = 0.5,
    meter: MeterSink = discard_meter,
    tls_context: ssl.SSLContext | None = None,
) -> Transport:
    """A transport for the connection string; it connects lazily, on the first operation.

    ``host_key`` is the pinned SFTP key text ("" = trust on first use and report it through
    ``on_new_host_key``). ``retries`` extra attempts follow a transient network error, after
    ``backoff`` seconds doubling each time. ``tls_context`` verifies FTPS servers (default: the
    system's CAs). Raises BadResponse for a malformed connection string.
    """
    endpoint = parse_connection_string(connection_string)
    common = {"timeout": timeout, "retries": retries, "backoff": backoff, "meter": meter}
    if endpoint.scheme == "file":
        return LocalTransport(endpoint, **common)
    if endpoint.scheme == "sftp":
        return SftpTransport(endpoint, host_key=host_key, on_new_host_key=on_new_host_key,
                             **common)
    return FtpTransport(endpoint, tls_context=tls_context, **common)


# --------------------------------------------------------------------------------------------
# The interface, with retries, metering and the safe-transfer logic shared by every scheme
# --------------------------------------------------------------------------------------------


class Transport:
    """Base class: public methods take a folder from ``FOLDERS`` and a checked file name.

    Subclasses implement the ``_``-prefixed primitives on absolute server paths and
    ``_translate`` (library exception → PlatformError). Not thread-safe: one per run.
    """

    scheme = ""

    def __init__(self, endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT, retries: int = 2,
                 backoff: float = 0.5, meter: MeterSink = discard_meter) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.meter = meter

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
            log.warning("DSFX %s%s: skipped listed name %r: %s", self.where, folder, name, reason)
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
        partial = self._file_path(folder, temp_name(name))
        self._call("PUT", f"{folder}/:file", lambda: self._write(partial, data),
                   target=f"{folder}/{temp_name(name)}")
        if self._call("STAT", f"{folder}/:file", lambda: self._stat(final) is not None):
            self.remove_own(folder, temp_name(name))
            raise TargetExists(f"{folder}/{name} already exists on {self.where}")
        self._rename_checked(folder, partial, final, f"{folder}/{name}")

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
            log.debug("DSFX %s: error while closing", self.where, exc_info=True)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared machinery ------------------------------------------------------------------

    def _path(self, folder: str) -> str:
        root = self.endpoint.root
        return posixpath.join(root, folder.lstrip("/")) if root else folder

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
            announce(self.meter, MeteredCall(platform=PLATFORM, method=self.scheme.upper(),
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
            log.info("DSFX %s: %s %s failed (%s), retrying", self.where, op, endpoint,
                     error.message)
            self.close()
            time.sleep(self.backoff * (2 ** (attempt - 1)))

    def _meter(self, op: str, endpoint: str, status: int | None, started: float, attempt: int,
               error: str, call_id: str) -> None:
        self.meter(MeteredCall(platform=PLATFORM, method=self.scheme.upper(),
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
            return CredentialsRejected(f"the login may not {_VERBS.get(op, op.lower())} "
                                       f"{endpoint} on {where}", status=exc.errno,
                                       read_only=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return RemoteUnavailable(f"{where} cannot be reached: check the host")
        return RemoteServerError(f"{where} failed to {_VERBS.get(op, op.lower())} {endpoint}"
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
        return RemoteServerError(f"{self.where} failed to {_VERBS.get(op, op.lower())} "
                                 f"{endpoint} ({type(exc).__name__})")


_VERBS = {"LIST": "list", "GET": "read", "PUT": "write", "STAT": "look up", "MKDIR": "create",
          "RENAME": "rename", "DELETE": "delete", "CONNECT": "connect to"}


def _kind_of_mode(mode: int | None) -> str:
    if mode is None:
        return "other"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


# --------------------------------------------------------------------------------------------
# file:///path
# --------------------------------------------------------------------------------------------


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
                entries.append((entry.name, _kind_of_mode(info.st_mode), info.st_size,
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
            return PermanentError(f"{self.where}: cannot {_VERBS.get(op, op.lower())} "
                                  f"{endpoint}: {exc.strerror or type(exc).__name__}")
        return super()._translate(exc, op, endpoint)


# --------------------------------------------------------------------------------------------
# sftp://
# --------------------------------------------------------------------------------------------


class SftpTransport(Transport):
    """SFTP over paramiko with host-key pinning (trust on first use)."""

    scheme = "sftp"

    def __init__(self, endpoint: Endpoint, *, host_key: str = "",
                 on_new_host_key: Callable[[str], None] | None = None, **kwargs) -> None:
        super().__init__(endpoint, **kwargs)
        self.host_key = host_key.strip()
        self.on_new_host_key = on_new_host_key
        self._ssh = None
        self._sftp = None

    def _ensure_connected(self) -> None:
        if self._sftp is not None and self._ssh is not None and self._ssh.is_active():
            return
        self._disconnect()
        import paramiko

        try:
            self._open(paramiko)
        except BaseException:
            self._disconnect()
            raise

    def _open(self, paramiko) -> None:  # paramiko: the lazily imported module
        endpoint = self.endpoint
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=self.timeout)
        ssh = paramiko.Transport(sock)
        self._ssh = ssh
        ssh.banner_timeout = ssh.auth_timeout = ssh.handshake_timeout = self.timeout
        pinned = parse_key_text(self.host_key) if self.host_key else None
        if self.host_key and pinned is None:
            raise BadResponse("the pinned host key of this warehouse cannot be read; accept "
                              "the server's key again", field="host_key")
        if pinned is not None:
            # Ask for the pinned key's type first, so a server with several keys shows that one.
            options = ssh.get_security_options()
            preferred = [t for t in options.key_types if _same_family(t, pinned[0])]
            options.key_types = preferred + [t for t in options.key_types if t not in preferred]
        try:
            ssh.start_client(timeout=self.timeout)
        except paramiko.SSHException as exc:
            raise RemoteUnavailable(f"{self.where} did not complete the SSH handshake: is it an "
                                    "SFTP server?") from exc
        key = ssh.get_remote_server_key()
        presented = f"{key.get_name()} {key.get_base64()}"
        if pinned is not None and key.asbytes() != pinned[1]:
            raise HostKeyMismatch(
                f"the SFTP server {endpoint.host}:{endpoint.port} presented host key "
                f"{fingerprint(presented)}, but this warehouse trusts {fingerprint(self.host_key)}."
                " If the warehouse changed its server key, accept the new fingerprint; otherwise"
                " someone may be intercepting the connection.",
                host=endpoint.host, expected=fingerprint(self.host_key),
                presented=fingerprint(presented), presented_key=presented)
        try:
            ssh.auth_password(endpoint.username, endpoint.password)
        except paramiko.BadAuthenticationType as exc:
            raise CredentialsRejected(f"{self.where} does not accept password logins "
                                      f"(it offers: {', '.join(exc.allowed_types)})") from None
        except paramiko.AuthenticationException:
            raise CredentialsRejected(f"{self.where} rejected the user name or password") from None
        sftp = paramiko.SFTPClient.from_transport(ssh)
        sftp.get_channel().settimeout(self.timeout)
        self._sftp = sftp
        if pinned is None:
            self.host_key = presented
            if self.on_new_host_key is not None:
                self.on_new_host_key(presented)

    def _disconnect(self) -> None:
        sftp, ssh = self._sftp, self._ssh
        self._sftp = self._ssh = None
        if sftp is not None:
            sftp.close()
        if ssh is not None:
            ssh.close()

    def _list(self, path: str) -> list[tuple[str, str, int, float]]:
        return [(a.filename, _kind_of_mode(a.st_mode), a.st_size or 0, float(a.st_mtime or 0))
                for a in _listdir_attr(self._sftp, path)]

    def _read(self, path: str) -> bytes:
        buffer = io.BytesIO()
        self._sftp.getfo(path, buffer)
        return buffer.getvalue()

    def _write(self, path: str, data: bytes) -> None:
        self._sftp.putfo(io.BytesIO(data), path, file_size=len(data), confirm=True)

    def _stat(self, path: str) -> tuple[int, float] | None:
        try:
            attrs = self._sftp.lstat(path)
        except FileNotFoundError:
            return None
        return attrs.st_size or 0, float(attrs.st_mtime or 0)

    def _rename(self, source: str, target: str) -> None:
        self._sftp.rename(source, target)

    def _mkdir(self, path: str) -> None:
        self._sftp.mkdir(path)

    def _remove(self, path: str) -> None:
        self._sftp.remove(path)

    def _translate(self, exc: Exception, op: str, endpoint: str) -> PlatformError:
        import paramiko

        if isinstance(exc, paramiko.SSHException):
            return RemoteUnavailable(f"the SSH connection to {self.where} failed ({op}): "
                                     f"{type(exc).__name__}")
        return super()._translate(exc, op, endpoint)


def _listdir_attr(sftp, path: str) -> list:
    """``SFTPClient.listdir_attr`` that survives names which are not UTF-8.

    paramiko decodes each listed name strictly, so one Latin-1 name would make a whole folder
    unreadable. Here such bytes become surrogates, which ``unsafe_name_reason`` refuses, and the
    rest of the folder is listed. Uses paramiko's request layer the way ``listdir_attr`` does.
    """
    from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError
    from paramiko.sftp_attr import SFTPAttributes

    kind, msg = sftp._request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = msg.get_binary()
    entries = []
    try:
        while True:
            try:
                kind, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = msg.get_string().decode("utf-8", "surrogateescape")
                longname = msg.get_string().decode("utf-8", "replace")
                entries.append(SFTPAttributes._from_msg(msg, name, longname))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return entries


def _same_family(key_type: str, pinned_type: str) -> bool:
    if pinned_type in ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512"):
        return key_type in ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    return key_type == pinned_type


# --------------------------------------------------------------------------------------------
# ftp:// and ftps://
# --------------------------------------------------------------------------------------------


class FtpTransport(Transport):
    """FTP (or explicit FTPS with a protected data channel) over ftplib, passive mode."""

    def __init__(self, endpoint: Endpoint, *, tls_context: ssl.SSLContext | None = None,
                 **kwargs) -> None:
        super().__init__(endpoint, **kwargs)
        self.scheme = endpoint.scheme
        self.tls_context = tls_context
        self._ftp: ftplib.FTP | None = None

    def _ensure_connected(self) -> None:
        if self._ftp is not None:
            return
        endpoint = self.endpoint
        if endpoint.scheme == "ftps":
            context = self.tls_context or ssl.create_default_context()
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=context,  # noqa: S321
                                             timeout=self.timeout)
        else:
            # Plain FTP only because a warehouse asked for ftp:// (specs/dsfx.md allows it).
            ftp = ftplib.FTP(timeout=self.timeout)  # noqa: S321
        # latin-1 maps every byte to a character, so a listed name that is not UTF-8 cannot
        # break the whole listing; _wire/_unwire convert to and from UTF-8 at the edge.
        ftp.encoding = "latin-1"
        try:
            ftp.connect(endpoint.host, endpoint.port, timeout=self.timeout)
            try:
                ftp.login(endpoint.username, endpoint.password)
            except ftplib.error_perm:
                raise CredentialsRejected(f"{self.where} rejected the user name or password") \
                    from None
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.voidcmd("TYPE I")
        except BaseException:
            _quietly_close(ftp)
            raise
        self._ftp = ftp

    def _disconnect(self) -> None:
        ftp, self._ftp = self._ftp, None
        if ftp is not None:
            _quietly_close(ftp)

    def _list(self, path: str) -> list[tuple[str, str, int, float]]:
        entries = []
        for wire_name, facts in self._ftp.mlsd(_wire(path), facts=["type", "size", "modify"]):
            name = _unwire(wire_name)
            kind = {"file": "file", "dir": "dir", "cdir": "dir", "pdir": "dir"}.get(
                facts.get("type", "").lower(), "other")
            if facts.get("type", "").lower().startswith("os.unix=symlink"):
                kind = "link"
            entries.append((name, kind, int(facts.get("size", 0) or 0),
                            _mlsd_time(facts.get("modify", ""))))
        return entries

    def _read(self, path: str) -> bytes:
        buffer = io.BytesIO()
        self._ftp.retrbinary(f"RETR {_wire(path)}", buffer.write)
        return buffer.getvalue()

    def _write(self, path: str, data: bytes) -> None:
        self._ftp.storbinary(f"STOR {_wire(path)}", io.BytesIO(data))

    def _stat(self, path: str) -> tuple[int, float] | None:
        parent, name = posixpath.split(path)
        try:
            listing = self._ftp.mlsd(_wire(parent or "/"), facts=["type", "size", "modify"])
            for entry, facts in listing:
                if _unwire(entry) == name:
                    return int(facts.get("size", 0) or 0), _mlsd_time(facts.get("modify", ""))
        except ftplib.error_perm as exc:
            # 550: no such folder; pyftpdlib answers 501 for a listing of a missing folder.
            if _ftp_code(exc) in (550, 501):
                return None
            raise
        return None

    def _rename(self, source: str, target: str) -> None:
        self._ftp.rename(_wire(source), _wire(target))

    def _mkdir(self, path: str) -> None:
        self._ftp.mkd(_wire(path))

    def _remove(self, path: str) -> None:
        self._ftp.delete(_wire(path))

    def _translate(self, exc: Exception, op: str, endpoint: str) -> PlatformError:
        code = _ftp_code(exc)
        verb = _VERBS.get(op, op.lower())
        if isinstance(exc, ftplib.error_perm):
            if code == 530:
                return CredentialsRejected(f"{self.where} rejected the user name or password",
                                           status=code)
            if code in (550, 553, 450):
                return RemoteNotFound(f"{self.where} could not {verb} {endpoint}: it does not "
                                      "exist or the login may not use it", status=code)
            return BadResponse(f"{self.where} refused to {verb} {endpoint} (FTP {code})",
                               status=code)
        if isinstance(exc, ftplib.error_temp):
            return RemoteServerError(f"{self.where} could not {verb} {endpoint} for now "
                                     f"(FTP {code})", status=code)
        if isinstance(exc, ftplib.error_reply | ftplib.error_proto):
            return RemoteUnavailable(f"{self.where} answered {op} with an unexpected reply",
                                     status=code)
        if isinstance(exc, ssl.SSLError):
            return RemoteUnavailable(f"the TLS session with {self.where} failed: "
                                     f"{exc.reason or type(exc).__name__}")
        return super()._translate(exc, op, endpoint)


def _wire(text: str) -> str:
    """A UTF-8 path as the latin-1 text ftplib sends byte for byte."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _unwire(text: str) -> str:
    """A name received as latin-1 text, read as UTF-8 (bad bytes become surrogates)."""
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def _ftp_code(exc: Exception) -> int | None:
    text = str(exc)[:3]
    return int(text) if text.isdigit() else None


def _mlsd_time(value: str) -> float:
    """MLSD ``modify`` facts are UTC ``YYYYMMDDHHMMSS[.sss]``; 0 when absent or unreadable."""
    try:
        moment = datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return moment.timestamp()


def _quietly_close(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except Exception:  # noqa: BLE001 — the connection may already be gone
        ftp.close()

"""``ftp://`` and ``ftps://``: ftplib in passive mode, explicit TLS with a protected data channel.

Names travel as latin-1 on the wire, so one listed name that is not UTF-8 cannot break a whole
listing; ``_wire``/``_unwire`` convert at the edge and bad bytes become surrogates, which
``unsafe_name_reason`` refuses.

Errors, besides those of ``Transport._translate_os_error``::

    530                        -> CredentialsRejected
    550/553/450                -> RemoteNotFound      (missing, or the login may not use it)
    other 5xx                  -> BadResponse
    4xx                        -> RemoteServerError   (retried)
    unexpected reply, TLS fault -> RemoteUnavailable
"""

from __future__ import annotations

import ftplib
import io
import posixpath
import ssl
from datetime import UTC, datetime

from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    PlatformError,
    RemoteNotFound,
    RemoteServerError,
    RemoteUnavailable,
)
from dropstream.platforms.transport.base import Transport, verb
from dropstream.platforms.transport.endpoint import Endpoint


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
        action = verb(op)
        if isinstance(exc, ftplib.error_perm):
            if code == 530:
                return CredentialsRejected(f"{self.where} rejected the user name or password",
                                           status=code)
            if code in (550, 553, 450):
                return RemoteNotFound(f"{self.where} could not {action} {endpoint}: it does not "
                                      "exist or the login may not use it", status=code)
            return BadResponse(f"{self.where} refused to {action} {endpoint} (FTP {code})",
                               status=code)
        if isinstance(exc, ftplib.error_temp):
            return RemoteServerError(f"{self.where} could not {action} {endpoint} for now "
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

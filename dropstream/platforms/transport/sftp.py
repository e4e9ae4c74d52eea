"""``sftp://``: SFTP over paramiko, with host-key pinning.

Host keys are trusted on first use (``on_new_host_key(key_text)`` is called once the login
succeeded, so the caller pins the key on the Warehouse) and pinned after: a different key raises
HostKeyMismatch and the connection is closed before the password is sent. Key texts are
``"ssh-ed25519 AAAA… [comment]"`` (or a known_hosts line); ``fingerprint`` shows one the way
OpenSSH does.

Errors, besides those of ``Transport._translate_os_error``::

    other host key than pinned -> HostKeyMismatch     (never retried, never accepted)
    password refused           -> CredentialsRejected
    no SSH handshake, SSH fault -> RemoteUnavailable
"""

from __future__ import annotations

import base64
import hashlib
import io
import socket
from collections.abc import Callable

from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    HostKeyMismatch,
    PlatformError,
    RemoteUnavailable,
)
from dropstream.platforms.transport.base import Transport, kind_of_mode
from dropstream.platforms.transport.endpoint import Endpoint


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
        return [(a.filename, kind_of_mode(a.st_mode), a.st_size or 0, float(a.st_mtime or 0))
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

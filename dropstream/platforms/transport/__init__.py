"""One file interface over a local folder, SFTP (paramiko), FTPS and FTP (ftplib).

``open_transport(connection_string)`` returns the ``Transport`` for the scheme; it connects
lazily, on the first operation. The contract, and where each part lives:

* ``names``: the hub only ever touches the folders in ``FOLDERS`` under the connection's root,
  by a folder plus a checked *file name*, never by a path taken from the server; a listed name
  with ``/``, ``\\``, ``..`` as a whole name, or a control character is skipped and reported in
  ``Listing.rejected``;
* ``base``: writes are safe transfers (upload as ``.<name>.part``, then rename; a rename whose
  reply was lost is retried only after checking which name exists); nothing is overwritten and
  only the hub's own files are deleted; transient failures are retried; every attempt is
  metered; library errors become ``dropstream.platforms.errors`` types whose messages never
  name the password;
* ``endpoint``: connection strings;
* ``local``: ``file:///`` — symbolic links are refused;
* ``sftp``: ``sftp://`` — host keys trusted on first use, then pinned (HostKeyMismatch);
* ``ftp``: ``ftp://`` and ``ftps://``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping

from dropstream.platforms.base import MeterSink, discard_meter
from dropstream.platforms.transport.base import (
    DEFAULT_TIMEOUT,
    PLATFORM,
    Listing,
    RemoteFile,
    TargetExists,
    Transport,
)
from dropstream.platforms.transport.endpoint import (
    DEFAULT_PORTS,
    Endpoint,
    parse_connection_string,
)
from dropstream.platforms.transport.ftp import FtpTransport
from dropstream.platforms.transport.local import LocalTransport
from dropstream.platforms.transport.names import (
    FOLDERS,
    IN,
    IN_ERROR,
    IN_ERROR_PROCESSED,
    IN_PROCESSED,
    MAX_NAME_LENGTH,
    OUT,
    OUT_ERROR,
    OUT_PROCESSED,
    PROBE_PREFIX,
    TEMP_SUFFIX,
    UnsafeName,
    check_folder,
    check_name,
    temp_name,
    unsafe_name_reason,
)
from dropstream.platforms.transport.sftp import SftpTransport, fingerprint, parse_key_text


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
    platform: str = PLATFORM,
    folder_names: Mapping[str, str] | None = None,
) -> Transport:
    """A transport for the connection string; it connects lazily, on the first operation.

    ``host_key`` is the pinned SFTP key text ("" = trust on first use and report it through
    ``on_new_host_key``). ``retries`` extra attempts follow a transient network error, after
    ``backoff`` seconds doubling each time. ``tls_context`` verifies FTPS servers (default: the
    system's CAs). ``platform`` names the platform on meter rows; ``folder_names`` maps
``in``/``out`` to the server's own folder names. Raises BadResponse for a malformed connection string.
    """
    endpoint = parse_connection_string(connection_string)
    common = {"timeout": timeout, "retries": retries, "backoff": backoff, "meter": meter,
              "platform": platform, "folder_names": folder_names}
    if endpoint.scheme == "file":
        return LocalTransport(endpoint, **common)
    if endpoint.scheme == "sftp":
        return SftpTransport(endpoint, host_key=host_key, on_new_host_key=on_new_host_key,
                             **common)
    return FtpTransport(endpoint, tls_context=tls_context, **common)


__all__ = [
    "DEFAULT_PORTS", "DEFAULT_TIMEOUT", "FOLDERS", "IN", "IN_ERROR", "IN_ERROR_PROCESSED",
    "IN_PROCESSED", "MAX_NAME_LENGTH", "OUT", "OUT_ERROR", "OUT_PROCESSED", "PLATFORM",
    "PROBE_PREFIX", "TEMP_SUFFIX", "Endpoint", "FtpTransport", "Listing", "LocalTransport",
    "RemoteFile", "SftpTransport", "TargetExists", "Transport", "UnsafeName", "check_folder",
    "check_name", "fingerprint", "open_transport", "parse_connection_string", "parse_key_text",
    "temp_name", "unsafe_name_reason",
]

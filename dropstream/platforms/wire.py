"""HTTP/1.1 on the wire for ``HttpClient``: the standard library's ``http.client`` on pooled
keep-alive connections, each opened to an address ``AddressPolicy`` checked.

Why not httpx's own client and transport: on a fast store every request costs the hub ~0.6 ms
of CPU in httpx, httpcore and h11 (URL and header models built twice, cookies, the pool's
bookkeeping) against ~0.2 ms here, and posting shipments on threads is CPU-bound on the hub
(benchmarks/throughput.py). What the client needs from HTTP is small: a request line, headers,
a body, a status, headers and a body back, connection reuse, timeouts, TLS. Failures are raised
as the httpx exception types ``HttpClient`` already tells apart (``ConnectError`` and
``ConnectTimeout``: nothing was sent; ``ReadTimeout``, ``RemoteProtocolError``, ``ReadError``,
``WriteError``: it may have been), so retry and "maybe applied" decisions are unchanged. No
message carries the URL: the query may hold a token.

No proxy support (neither did the hub's requests go through the guarded backend when one was
configured), no redirects (the client never follows them), no compression asked for.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx

from dropstream.platforms.addresses import AddressPolicy, connect_guarded

# Header names the wire sets itself; a caller's value for them is dropped.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# An idle connection is dropped after this long, as httpcore's keep-alive expiry: a server or a
# middlebox that forgets it silently would otherwise take the next POST into a dead socket.
KEEPALIVE_SECONDS = 5.0


@dataclass(frozen=True)
class Outgoing:
    """One request as the client builds it: ``url`` absolute, with its query."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def with_header(self, name: str, value: str) -> Outgoing:
        kept = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        return replace(self, headers={**kept, name: value})

    def with_body(self, body: bytes, content_type: str) -> Outgoing:
        return replace(self.with_header("Content-Type", content_type), body=body)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    content: bytes


class Wire:
    """Sends ``Outgoing`` requests; thread-safe (connections are pooled per origin and each is
    used by one request at a time). ``close()`` closes the idle ones, and any returned later."""

    def __init__(self, policy: AddressPolicy, ssl_context: ssl.SSLContext) -> None:
        self._policy = policy
        self._ssl_context = ssl_context
        # Per origin, the idle connections with when each went idle (monotonic).
        self._idle: dict[tuple[str, str, int],
                         list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def send(self, request: Outgoing, timeout: httpx.Timeout) -> Answer:
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"the URL scheme {scheme or '(none)'!r} is not "
                                            "http or https")
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = self._reusable(origin) or self._connect(origin, timeout)
        try:
            answer, reusable = _exchange(connection, request, host, port, scheme, target)
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._give_back(origin, connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()

    # -- connections ---------------------------------------------------------------------------

    def _reusable(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection | None:
        """A recent idle connection to ``origin`` the server has not closed, or None."""
        while True:
            with self._lock:
                pool = self._idle.get(origin)
                if not pool:
                    return None
                connection, since = pool.pop()
            fresh = time.monotonic() - since < KEEPALIVE_SECONDS
            if fresh and connection.sock is not None and not _readable(connection.sock):
                return connection
            connection.close()  # expired, closed by the server (EOF pending) or stray bytes

    def _give_back(self, origin: tuple[str, str, int],
                   connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(origin, []).append((connection, time.monotonic()))
                return
        connection.close()

    def _connect(self, origin: tuple[str, str, int],
                 timeout: httpx.Timeout) -> http.client.HTTPConnection:
        scheme, host, port = origin
        sock = connect_guarded(self._policy, host, port, timeout.connect)
        try:
            if scheme == "https":
                sock.settimeout(timeout.connect)
                try:
                    sock = self._ssl_context.wrap_socket(sock, server_hostname=host)
                except TimeoutError as exc:
                    raise httpx.ConnectTimeout(f"TLS handshake with {host} timed out") from exc
                except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
                    raise httpx.ConnectError(f"TLS with {host} failed: {exc}") from exc
            sock.settimeout(timeout.read)
        except BaseException:
            sock.close()
            raise
        connection = http.client.HTTPConnection(host, port)
        connection.sock = sock
        return connection


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read: EOF (closed by the server) or stray bytes."""
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def _exchange(connection: http.client.HTTPConnection, request: Outgoing, host: str, port: int,
              scheme: str, target: str) -> tuple[Answer, bool]:
    """(the answer, whether the connection may carry another request)."""
    default_port = 443 if scheme == "https" else 80
    body = request.body or b""
    try:
        connection.putrequest(request.method, target, skip_host=True,
                              skip_accept_encoding=True)
        name = f"[{host}]" if ":" in host else host  # an IPv6 literal
        connection.putheader("Host", name if port == default_port else f"{name}:{port}")
        for name, value in request.headers.items():
            if name.lower() not in _FRAMING:
                connection.putheader(name, value)
        if body or request.method not in ("GET", "HEAD", "DELETE"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
    except TimeoutError as exc:
        raise httpx.WriteTimeout("sending the request timed out") from exc
    except OSError as exc:
        raise httpx.WriteError(f"sending the request failed: {type(exc).__name__}") from exc
    try:
        response = connection.getresponse()
        content = response.read()
    except TimeoutError as exc:
        raise httpx.ReadTimeout("the answer did not come in time") from exc
    except http.client.RemoteDisconnected as exc:
        raise httpx.RemoteProtocolError("the server closed the connection without answering") \
            from exc
    except http.client.HTTPException as exc:
        raise httpx.RemoteProtocolError(f"the answer was not valid HTTP: {type(exc).__name__}") \
            from exc
    except OSError as exc:
        raise httpx.ReadError(f"reading the answer failed: {type(exc).__name__}") from exc
    return Answer(response.status, response.getheaders(), content), not response.will_close


__all__ = ["Answer", "Outgoing", "Wire"]

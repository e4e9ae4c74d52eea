"""What every HTTP simulator shares: a loopback-only threading server, a handler that never
logs request lines (they may carry a token) and tracks its connection, a daemon serving thread,
a stop that also closes keep-alive connections, and the command line's wait for Ctrl-C.

Sandboxes share this with each other, never with the hub: a bug cannot hide on both sides of
a wire.
"""

from __future__ import annotations

import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: Any


class TrackedHandler(BaseHTTPRequestHandler):
    """Hands every method to ``_handle(method)``; the sandbox sees each open connection."""

    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # an idle keep-alive connection is dropped after this
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # request lines may carry ?token=: never print them

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, add=False)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        raise NotImplementedError


class ServedSandbox:
    """Start/stop for a simulator that serves ``self._server`` (set by ``_serve``).

    Subclasses start and stop their own helpers (a push emitter, a webhook dispatcher) in
    ``_on_start`` / ``_on_stop``; ``_stopping`` wakes anything sleeping on the sandbox's behalf.
    """

    thread_name = "sandbox"
    _server: SandboxServer

    def _serve(self, server: SandboxServer) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._server = server
        server.sandbox = self

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def _on_start(self) -> None:
        """Start what serves beside the HTTP server."""

    def _on_stop(self) -> None:
        """Stop what ``_on_start`` started."""

    def start(self) -> Self:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._on_start()
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.02},
                                            name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any sleeping fault, close open connections and the socket."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._on_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def serve_until_stopped(sandbox: ServedSandbox, banner: str,
                        stop: threading.Event | None = None) -> int:
    """The ``dropstream sandbox …`` commands: print ``banner``, serve until Ctrl-C or SIGTERM."""
    stop = stop or threading.Event()
    print(banner, flush=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0

"""DSFX fixtures: a real FTP (and FTPS) server on loopback, pyftpdlib in a thread."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures.secret_leaks import make_secret
from tests.fixtures.tls import self_signed


@dataclass
class FtpServer:
    host: str
    port: int
    username: str
    password: str
    root: Path
    scheme: str
    client_tls: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"<FtpServer {self.scheme}://{self.host}:{self.port}>"

    @property
    def connection_string(self) -> str:
        return (f"{self.scheme}://{quote(self.username, safe='')}:"
                f"{quote(self.password, safe='')}@{self.host}:{self.port}")


def _serve(tmp_path: Path, scheme: str) -> Iterator[FtpServer]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer

    root = tmp_path / scheme
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    username, password = "wh1", make_secret("ftp")
    authorizer = DummyAuthorizer()
    authorizer.add_user(username, password, str(root), perm="elradfmwMT")
    client_tls = None
    if scheme == "ftps":
        cert, key = self_signed(tmp_path)
        handler = type("Handler", (TLS_FTPHandler,), {
            "authorizer": authorizer, "certfile": str(cert), "keyfile": str(key),
            "auth_failed_timeout": 0,
            "tls_control_required": True, "tls_data_required": True})
        client_tls = ssl.create_default_context(cafile=str(cert))
    else:
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer,
                                                  "auth_failed_timeout": 0})
    # serve_forever(blocking=False) logs "starting FTP server" on every poll.
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    server = FTPServer(("127.0.0.1", 0), handler)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=run, daemon=True, name=f"{scheme}-server")
    thread.start()
    try:
        yield FtpServer("127.0.0.1", server.address[1], username, password, root, scheme,
                        client_tls)
    finally:
        stop.set()
        thread.join(5)


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    yield from _serve(tmp_path, "ftp")


@pytest.fixture
def ftps_server(tmp_path: Path) -> Iterator[FtpServer]:
    yield from _serve(tmp_path, "ftps")

"""The HTTP layer: a stdlib ``ThreadingHTTPServer`` on loopback whose handler hands every
request to the sandbox (``ShipHeroSandbox.handle_http``) and writes the answer back.

HTTP/1.1 keep-alive; request lines are never logged (they could carry secrets).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dropstream.sandbox.serving import SandboxServer, TrackedHandler

if TYPE_CHECKING:
    from dropstream.sandbox.shiphero.sandbox import ShipHeroSandbox

MAX_BODY = 4 * 1024 * 1024


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(status, data, headers=dict(headers or {}))


def gateway_page(status: int) -> Answer:
    titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
              504: "Gateway Timeout"}
    title = titles.get(status, "Error")
    page = (f"<html><head><title>{status} {title}</title></head><body><center><h1>{status} "
            f"{title}</h1></center></body></html>")
    return Answer(status, page.encode(), "text/html")


class Handler(TrackedHandler):
    server: Server

    def _handle(self, method: str) -> None:
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            self.send(json_answer(400, {"errors": [{"message": "bad Content-Length"}]}))
            return
        if length > MAX_BODY:
            self.close_connection = True
            self.send(json_answer(413, {"errors": [{"message": "request body too large"}]}))
            return
        raw = self.rfile.read(length) if length else b""
        answer = self.server.sandbox.handle_http(self, method, raw)
        if answer is not None:
            self.send(answer)

    def send(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:
            self.close_connection = True

    def drop(self) -> None:
        """Close the connection without an answer (fault ``lose_answer``)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Server(SandboxServer):
    request_queue_size = 64
    sandbox: ShipHeroSandbox

    def __init__(self, address: tuple[str, int], sandbox: ShipHeroSandbox) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.sandbox = sandbox

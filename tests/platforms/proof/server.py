"""The proof platform's warehouse: a small HTTP WMS on loopback, in a thread of the test.

    POST /orders                    {"batch", "number", "lines": [{"line", "sku", "qty"}], ...}
                                    201 {"id"}; 400 {"error"} for an unknown SKU
    GET  /orders?batch=<key>        {"orders": [{"id", "number"}]}
    GET  /shipments?after=<seq>     {"shipments": [...], "last": seq}; an event with
                                    "canceled" (the reason) is the warehouse's cancellation

Every call needs ``X-Api-Key``. ``ship(number)`` packs an order's lines into one package (in the
feed from then on) and, when ``hook_url`` is set, POSTs the package there signed with HMAC-SHA256
of the body (``X-Proof-Signature``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class ProofWms:
    api_key: str
    signing_secret: str
    unknown_skus: set[str] = field(default_factory=set)
    hook_url: str = ""
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # number -> order
    packages: list[dict[str, Any]] = field(default_factory=list)
    creates: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ProofWms:
        wms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("X-Api-Key") != wms.api_key:
                    self._answer(401, {"error": "unknown API key"})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802 — http.server's name
                if not self._authorized():
                    return
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/orders":
                    with wms._lock:
                        found = [{"id": o["id"], "number": o["number"]}
                                 for o in wms.orders.values() if o["batch"] == query.get("batch")]
                    self._answer(200, {"orders": found})
                elif url.path == "/shipments":
                    after = int(query.get("after", "0"))
                    with wms._lock:
                        feed = [p for p in wms.packages if p["seq"] > after]
                    self._answer(200, {"shipments": feed,
                                       "last": max([after] + [p["seq"] for p in feed])})
                else:
                    self._answer(404, {"error": "no such path"})

            def do_POST(self) -> None:  # noqa: N802
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                unknown = [line["sku"] for line in body["lines"]
                           if line["sku"] in wms.unknown_skus]
                if unknown:
                    self._answer(400, {"error": f"unknown SKU {unknown[0]}"})
                    return
                with wms._lock:
                    wms.creates += 1
                    order = wms.orders.setdefault(body["number"], {
                        **body, "id": f"P{len(wms.orders) + 1}"})
                self._answer(201, {"id": order["id"]})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def ship(self, number: str, *, deliver: bool = False) -> dict[str, Any]:
        """One package with every line of the order; delivered to ``hook_url`` if asked."""
        with self._lock:
            order = self.orders[number]
            package = {"seq": len(self.packages) + 1, "number": number,
                       "tracking": f"PRF{len(self.packages) + 1:06d}", "carrier": "UPS",
                       "lines": [{"line": ln["line"], "qty": ln["qty"]} for ln in order["lines"]]}
            self.packages.append(package)
        if deliver:
            self.deliver(package)
        return package

    def cancel(self, number: str, reason: str) -> None:
        """The warehouse cancels an order it holds: an event in the feed."""
        with self._lock:
            self.packages.append({"seq": len(self.packages) + 1, "number": number,
                                  "canceled": reason})

    def deliver(self, package: dict[str, Any], *, signature: str | None = None) -> httpx.Response:
        body = json.dumps({"event_id": f"pkg-{package['seq']}", "package": package}).encode()
        signed = hmac.new(self.signing_secret.encode(), body, hashlib.sha256).hexdigest()
        return httpx.post(self.hook_url, content=body, timeout=10,
                          headers={"X-Proof-Signature": signature or signed,
                                   "Content-Type": "application/json"})

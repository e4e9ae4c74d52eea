"""The Bright Sites API simulator: an HTTP server holding several fake stores.

Routing (specs/brightsites-api.md §12 #1): ``/<subdomain>/api/v2.6.1/…`` (also ``v2.7.0``), or
``/api/v2.6.1/…`` with the store chosen by a ``Host: <subdomain>.mybrightsites.com`` header.
Control API: ``/_sandbox/<subdomain>/…`` (see ``admin.py``). Stdlib only on the server side.

    with BrightSitesSandbox(seed=7) as sandbox:
        sandbox.add_store("acme", read_write_token=rw, read_only_token=ro)
        httpx.get(sandbox.api_url("acme") + "/orders", headers={"X-API-TOKEN": rw})
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dropstream.sandbox.brightsites import admin
from dropstream.sandbox.brightsites.orders import Order
from dropstream.sandbox.brightsites.runtime import PushEmitter, StoreRuntime, is_loopback_host
from dropstream.sandbox.brightsites.store import (
    ControlError,
    Store,
    api_inventory,
    api_orders,
    api_shipments,
)
from dropstream.sandbox.brightsites.traffic import FaultBook, FaultRule, HookBook, Meter
from dropstream.sandbox.brightsites.wire import ApiError, Clock
from dropstream.sandbox.serving import (
    SandboxServer,
    ServedSandbox,
    TrackedHandler,
    serve_until_stopped,
)

API_VERSIONS = ("v2.6.1", "v2.7.0")
DEFAULT_VERSION = "v2.6.1"
MAX_BODY = 2 * 1024 * 1024
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HTML_404 = (b"<!DOCTYPE html><html><head><title>The page you were looking for doesn't exist "
             b"(404)</title></head><body><h1>The page you were looking for doesn't exist."
             b"</h1></body></html>")

Handler = Callable[[Store, "Request", list[int]], tuple[int, Any]]


@dataclass(frozen=True)
class Request:
    """What an API handler needs from the HTTP request."""

    method: str
    query: dict[str, list[str]]
    body: Any
    client_ip: str


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler
    has_body: bool = False


def _r(methods: str, pattern: str, handler: Handler, has_body: bool = False) -> Route:
    return Route(tuple(methods.split("|")), re.compile(f"^{pattern}$"), handler, has_body)


ROUTES: tuple[Route, ...] = (
    _r("GET", r"orders", lambda s, r, a: api_orders.list_orders(s, r.query)),
    _r("GET", r"orders/(\d+)", lambda s, r, a: api_orders.show_order(s, a[0])),
    _r("PUT|PATCH", r"orders/(\d+)",
       lambda s, r, a: api_orders.update_order(s, a[0], r.body), True),
    _r("PUT|PATCH", r"orders/(\d+)/cancel",
       lambda s, r, a: api_orders.cancel_order(s, a[0], r.client_ip)),
    _r("GET", r"orders/(\d+)/line_items", lambda s, r, a: api_orders.line_items(s, a[0])),
    _r("GET", r"orders/(\d+)/line_items/(\d+)",
       lambda s, r, a: api_orders.line_item(s, a[0], a[1])),
    _r("GET", r"orders/(\d+)/shipments", lambda s, r, a: api_shipments.list_shipments(s, a[0])),
    _r("POST", r"orders/(\d+)/shipments",
       lambda s, r, a: api_shipments.create_shipment(s, a[0], r.body), True),
    _r("GET", r"orders/(\d+)/shipments/(\d+)",
       lambda s, r, a: api_shipments.show_shipment(s, a[0], a[1])),
    _r("DELETE", r"orders/(\d+)/shipments/(\d+)",
       lambda s, r, a: api_shipments.delete_shipment(s, a[0], a[1])),
    _r("GET", r"shipping_methods", lambda s, r, a: api_shipments.shipping_methods(s)),
    _r("GET", r"inventories", lambda s, r, a: api_inventory.list_inventories(s, r.query)),
    _r("PUT|PATCH", r"inventories/(\d+)/batch_update",
       lambda s, r, a: api_inventory.batch_update(s, a[0], r.body), True),
    _r("GET", r"products", lambda s, r, a: api_inventory.list_products(s, r.query)),
    _r("GET", r"products/(\d+)", lambda s, r, a: api_inventory.show_product(s, a[0])),
    _r("GET", r"products/(\d+)/inventories",
       lambda s, r, a: api_inventory.product_inventories(s, a[0])),
    _r("POST", r"products/(\d+)/inventories",
       lambda s, r, a: api_inventory.create_product_inventory(s, a[0], r.body), True),
    _r("GET", r"products/(\d+)/inventories/(\d+)",
       lambda s, r, a: api_inventory.product_inventory(s, a[0], a[1])),
    _r("PUT|PATCH", r"products/(\d+)/inventories/(\d+)",
       lambda s, r, a: api_inventory.update_product_inventory(s, a[0], a[1], r.body), True),
    _r("DELETE", r"products/(\d+)/inventories/(\d+)",
       lambda s, r, a: api_inventory.delete_product_inventory(s, a[0], a[1])),
)


def endpoint_template(method: str, rest: list[str]) -> str:
    """``GET /orders/:id/shipments/:id``: the meter key, ids replaced by ``:id``."""
    return f"{method} /" + "/".join(":id" if part.isdigit() else part for part in rest)


def match_route(method: str, rest: list[str]) -> tuple[Route, list[int]] | None:
    path = "/".join(rest)
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and method in route.methods:
            return route, [int(group) for group in found.groups()]
    return None


@dataclass
class Answer:
    """A response to send: status, body bytes, content type, extra headers."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] | None = None


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(status, data, headers=headers)


class SandboxHandler(TrackedHandler):
    """One connection; HTTP/1.1 keep-alive so clients reuse it."""
    server: SandboxServer

    def _read_body(self) -> bytes | None:
        """The request body; None (and an answer sent) when it is too large or malformed."""
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self._send(Answer(400, b'{"error":"bad Content-Length"}'))
            return None
        if length > MAX_BODY:
            self.close_connection = True
            self._send(Answer(413, b'{"error":"request body too large"}'))
            return None
        return self.rfile.read(length)

    def _handle(self, method: str) -> None:
        raw = self._read_body()
        if raw is None:
            return
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        sandbox = self.server.sandbox
        if segments and segments[0] == "_sandbox":
            self._send(sandbox._control(method, segments[1:], raw))
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        answer = sandbox._api(self, method, segments, query, raw)
        if answer is not None:
            self._send(answer)

    def _send(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in (answer.headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:
            # The client gave up (e.g. its read timeout fired during a "timeout" fault).
            self.close_connection = True

    def drop(self) -> None:
        """Close the connection without an answer (fault "lose_response")."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class BrightSitesSandbox(ServedSandbox):
    """A running simulator: stores, control API, push emitter. Start it, then add stores."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 1) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the sandbox serves on loopback only, not {host!r}")
        self.host = host
        self.seed = seed
        self.clock = Clock()
        self.emitter = PushEmitter()
        self._stores: dict[str, StoreRuntime] = {}
        self._stores_lock = threading.Lock()
        self._serve(SandboxServer((host, port), SandboxHandler))
        self._timer: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    thread_name = "bs-sandbox"

    def _on_start(self) -> None:
        self.emitter.start()

    def _on_stop(self) -> None:
        self.emitter.stop()
        if self._timer is not None:
            self._timer.join(timeout=2)
            self._timer = None

    # ---------------------------------------------------------------- stores

    def add_store(self, subdomain: str, *, read_write_token: str, read_only_token: str,
                  products: int = 40, site_id: int | None = None) -> None:
        """Create a store with a read/write and a read-only token. Raises ValueError."""
        if not _SUBDOMAIN.match(subdomain) or subdomain in ("api", "_sandbox"):
            raise ControlError(f"bad subdomain {subdomain!r}: use lower-case letters, digits "
                               "and hyphens")
        if read_write_token == read_only_token:
            raise ControlError("the read/write and read-only tokens must differ")
        store = Store(subdomain, seed=self.seed, clock=self.clock, products=products,
                      site_id=site_id)
        store.add_token(read_write_token, "read_write")
        store.add_token(read_only_token, "read")
        runtime = StoreRuntime(store=store, meter=Meter(), faults=FaultBook(self.seed),
                               hooks=HookBook())
        store.on_pushable = lambda _store, order: self._on_pushable(runtime, order)
        with self._stores_lock:
            if subdomain in self._stores:
                raise ControlError(f"store {subdomain!r} exists already")
            self._stores[subdomain] = runtime

    def runtime(self, subdomain: str) -> StoreRuntime | None:
        with self._stores_lock:
            return self._stores.get(subdomain)

    def store(self, subdomain: str) -> Store:
        """The in-process store object (for benchmarks and tests that need direct access)."""
        runtime = self.runtime(subdomain)
        if runtime is None:
            raise KeyError(subdomain)
        return runtime.store

    def api_url(self, subdomain: str) -> str:
        return f"{self.url}/{subdomain}/api/{DEFAULT_VERSION}"

    def control_url(self, subdomain: str) -> str:
        return f"{self.url}/_sandbox/{subdomain}"

    def describe_stores(self) -> list[dict[str, Any]]:
        with self._stores_lock:
            names = sorted(self._stores)
        return [{"subdomain": name, "api_url": self.api_url(name),
                 "control_url": self.control_url(name)} for name in names]

    def _on_pushable(self, runtime: StoreRuntime, order: Order) -> None:
        self.emitter.enqueue(runtime, order)

    def start_order_timer(self, every_seconds: float, status: str = "paid") -> None:
        """Create one order per store every ``every_seconds`` until stopped."""
        def run() -> None:
            while not self._stopping.wait(every_seconds):
                with self._stores_lock:
                    runtimes = list(self._stores.values())
                for runtime in runtimes:
                    ids = runtime.store.create_orders(1, status=status)
                    print(f"{runtime.store.subdomain}: new {status} order {ids[0]}", flush=True)
        self._timer = threading.Thread(target=run, name="bs-sandbox-orders", daemon=True)
        self._timer.start()

    # ---------------------------------------------------------------- request handling

    def _control(self, method: str, segments: list[str], raw: bytes) -> Answer:
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return json_answer(400, {"error": "the body is not valid JSON"})
        status, payload = admin.handle(self, method, segments, body)
        return json_answer(status, payload)

    def _resolve(self, handler: SandboxHandler,
                 segments: list[str]) -> tuple[StoreRuntime | None, str | None, list[str]]:
        """(store, version, path after the version) from the path prefix or the Host."""
        if segments and segments[0] == "api":
            host = (handler.headers.get("Host") or "").split(":")[0].lower()
            subdomain = host.split(".")[0] if host.endswith(".mybrightsites.com") else ""
            rest = segments[1:]
        elif len(segments) >= 2 and segments[1] == "api":
            subdomain, rest = segments[0], segments[2:]
        else:
            return None, None, []
        version = rest[0] if rest else None
        return self.runtime(subdomain), version, rest[1:]

    def _api(self, handler: SandboxHandler, method: str, segments: list[str],
             query: dict[str, list[str]], raw: bytes) -> Answer | None:
        """Answer one API request, applying faults and hooks. None: nothing must be sent."""
        runtime, version, rest = self._resolve(handler, segments)
        if runtime is None:
            return Answer(404, _HTML_404, "text/html; charset=utf-8")
        store = runtime.store
        # §2.2: the header wins over the legacy query parameter.
        token = handler.headers.get("X-API-TOKEN") or (query.get("token") or [None])[-1]
        template = endpoint_template(method, rest) if version in API_VERSIONS else (
            f"{method} /unknown")
        runtime.meter.count(template, token, store.clock.now().strftime("%Y-%m"))
        order_id = int(rest[1]) if len(rest) > 1 and rest[0] == "orders" and rest[
            1].isdigit() else None
        fault = runtime.faults.pick(template, order_id)

        def perform() -> Answer:
            if version not in API_VERSIONS:
                return Answer(404, _HTML_404, "text/html; charset=utf-8")
            request = Request(method, query, None, handler.client_address[0])
            try:
                store.authorize(token, write=method != "GET")
                found = match_route(method, rest)
                if found is None:
                    raise ApiError(404, {"error": "Not Found"})
                route, ids = found
                if route.has_body:
                    request = Request(method, query, _parse_body(raw), request.client_ip)
                status, body = route.handler(store, request, ids)
                answer = json_answer(status, body)
            except ApiError as exc:
                answer = json_answer(exc.status, exc.body, exc.headers)
            return answer

        answer = self._apply_fault(fault, perform, handler) if fault else perform()
        self._run_hooks(runtime, template)
        runtime.meter.result(answer.status if answer is not None else None)
        return answer

    def _apply_fault(self, fault: FaultRule, perform: Callable[[], Answer],
                     handler: SandboxHandler) -> Answer | None:
        delay = fault.delay_ms / 1000
        if fault.action == "latency":
            self._stopping.wait(delay)
            return perform()
        if fault.action == "status":
            if fault.after_write:
                perform()
            return _fault_answer(fault)
        if fault.action == "timeout":
            if fault.after_write:
                answer = perform()
                self._stopping.wait(delay)
            else:
                self._stopping.wait(delay)
                answer = perform()
            handler.close_connection = True
            return answer
        if fault.action == "malformed":
            real = perform()
            return Answer(200, real.body[: max(len(real.body) // 2, 1)] + b'{"')
        # lose_response: the request is performed, then the connection closes unanswered.
        perform()
        handler.drop()
        return None

    def _run_hooks(self, runtime: StoreRuntime, template: str) -> None:
        """Hooks fire after the response is computed and before it is sent, so the client's
        next request already sees their effect."""
        for hook in runtime.hooks.observe(template):
            result: dict[str, Any] = {"after": hook.after, "nth": hook.nth}
            try:
                if hook.create_orders is not None:
                    options = dict(hook.create_orders)
                    count = options.pop("count", 1)
                    result["order_ids"] = runtime.store.create_orders(count, **options)
                if hook.update_order is not None:
                    fields = dict(hook.update_order)
                    runtime.store.control_update_order(fields.pop("order_id"), fields)
                    result["updated"] = hook.update_order["order_id"]
            except (ControlError, TypeError) as exc:
                result["error"] = str(exc)
            runtime.hooks.fired.append(result)


def _parse_body(raw: bytes) -> Any:
    """JSON write body; raises ApiError 400 when it is not JSON (Rails' parse error)."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, {"errors": {"body": ["is not valid JSON"]}}) from None


def _fault_answer(fault: FaultRule) -> Answer:
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.status >= 500:
        title = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                 504: "Gateway Timeout"}.get(fault.status, "Server Error")
        page = f"<html><head><title>{fault.status} {title}</title></head><body><center><h1>" \
               f"{fault.status} {title}</h1></center></body></html>"
        return Answer(fault.status, page.encode(), "text/html; charset=utf-8", headers)
    if fault.status == 429:
        return json_answer(429, {"errors": {"base": ["Rate limit exceeded"]}}, headers)
    return json_answer(fault.status, {"errors": {"base": ["Injected fault"]}}, headers)


# --------------------------------------------------------------------------------------------
# CLI: dropstream sandbox brightsites [...]
# --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dropstream sandbox brightsites",
        description="Run a local Bright Sites API simulator (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--store", action="append", metavar="SUBDOMAIN[:RW_TOKEN[:RO_TOKEN]]",
                        help="a store to create (repeatable; default: acme)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--products", type=int, default=40, help="products per store")
    parser.add_argument("--orders", type=int, default=0, help="paid orders to create at start")
    parser.add_argument("--orders-every", type=float, default=None, metavar="SECONDS",
                        help="create one new paid order per store every SECONDS")
    parser.add_argument("--push-url", default=None,
                        help="Push Orders: POST each new paid order to this loopback URL")
    return parser


def main(argv: list[str]) -> int:
    """Run until Ctrl-C or SIGTERM. Returns the exit code."""
    import secrets

    args = _parser().parse_args(argv)
    if not is_loopback_host(args.host):
        print(f"error: --host must be a loopback address (127.0.0.1, ::1), not {args.host!r}",
              file=sys.stderr)
        return 2
    if args.orders_every is not None and args.orders_every <= 0:
        print("error: --orders-every must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        sandbox = BrightSitesSandbox(host=args.host, port=args.port, seed=args.seed)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    stop = threading.Event()
    try:
        for spec in args.store or ["acme"]:
            name, _, tokens = spec.partition(":")
            rw, _, ro = tokens.partition(":")
            rw, ro = rw or secrets.token_hex(16), ro or secrets.token_hex(16)
            sandbox.add_store(name, read_write_token=rw, read_only_token=ro,
                              products=args.products)
            runtime = sandbox.runtime(name)
            assert runtime is not None
            if args.push_url:
                runtime.set_push(args.push_url)
            if args.orders:
                runtime.store.create_orders(args.orders)
            print(f"store {name}\n  api:       {sandbox.api_url(name)}\n"
                  f"  control:   {sandbox.control_url(name)}\n"
                  f"  read/write token: {rw}\n  read-only token:  {ro}", flush=True)
    except ControlError as exc:
        sandbox.stop()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sandbox.start()
    if args.orders_every:
        sandbox.start_order_timer(args.orders_every)
    return serve_until_stopped(sandbox, f"Bright Sites sandbox on {sandbox.url} — Ctrl-C to stop",
                               stop)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))

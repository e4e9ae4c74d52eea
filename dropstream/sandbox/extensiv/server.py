"""The Extensiv 3PL Warehouse Manager simulator: an HTTP server holding several tenants.

Paths have no version segment (§1): ``/orders``, ``/inventory/stocksummaries``, and the token
endpoint ``/AuthServer/api/Token``; the bearer token decides the tenant. The control API lives
under ``/_sandbox`` (``admin.py``). Stdlib only; loopback only.

    with ExtensivSandbox(seed=7) as sandbox:
        tenant = sandbox.add_tenant("acme", client_id="hub", client_secret=secret)
        tenant.add_customer(143); tenant.add_facility(10)
        tenant.add_sku(143, "TENT-4P-GRN", stock={10: 14})
        httpx.post(sandbox.token_url, auth=("hub", secret),
                   json={"grant_type": "client_credentials", "user_login": "hub-integration"})

Per request: the rate budget (``Settings.requests_per_minute``, §8) answers 429 first; then the
first matching fault rule (``traffic.py``) wraps the real work; every request that reaches the
API (control requests excepted) is metered and logged with its client id, never its secret.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import random
import secrets
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dropstream.sandbox.extensiv import admin
from dropstream.sandbox.extensiv.api import ApiRequest, Reply, find_route, template_for
from dropstream.sandbox.extensiv.auth import (
    DEFAULT_ROLES,
    Authority,
    Credential,
    basic_client_id,
)
from dropstream.sandbox.extensiv.model import IdMint
from dropstream.sandbox.extensiv.render import plain
from dropstream.sandbox.extensiv.settings import Settings
from dropstream.sandbox.extensiv.traffic import (
    FaultBook,
    FaultRule,
    Meter,
    RateBudget,
    RequestLog,
)
from dropstream.sandbox.extensiv.warehouse import ControlError, Tenant
from dropstream.sandbox.extensiv.wire import (
    HAL_TYPE,
    JSON_TYPE,
    TEXT_TYPE,
    ApiError,
    Clock,
    encode_body,
    server_error,
    wants_hal,
)
from dropstream.sandbox.serving import (
    SandboxServer,
    ServedSandbox,
    TrackedHandler,
    serve_until_stopped,
)

logger = logging.getLogger(__name__)
MAX_BODY = 4 * 1024 * 1024
DEFAULT_PORT = 8200
AUTH_PATH = "/AuthServer/api/Token"


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the sandbox never serves anything else."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Answer:
    """A response to send; ``content_type`` None with an empty body sends no Content-Type."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(error: ApiError) -> Answer:
    body = encode_body(error.body)
    return Answer(error.status, body, error.content_type if body else None, dict(error.headers))


def reply_answer(reply: Reply, hal: bool) -> Answer:
    """§3: HAL/camelCase for ``Accept: application/hal+json``, otherwise plain PascalCase."""
    if reply.document is None:
        return Answer(reply.status, headers=dict(reply.headers))
    document = reply.document if hal else plain(reply.document)
    return Answer(reply.status, encode_body(document), HAL_TYPE if hal else JSON_TYPE,
                  dict(reply.headers))


def fault_answer(rule: FaultRule) -> Answer:
    """5xx: plain text (§7); 429: empty with Retry-After (§8); other 4xx: empty."""
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if rule.status >= 500:
        try:
            phrase = HTTPStatus(rule.status).phrase
        except ValueError:
            phrase = "Server Error"
        text = str(server_error().body) if rule.status == 500 else phrase
        return Answer(rule.status, text.encode(), TEXT_TYPE, headers)
    return Answer(rule.status, headers=headers)


class SandboxHandler(TrackedHandler):
    """One connection; HTTP/1.1 keep-alive so clients reuse it."""

    server_version = "Microsoft-IIS/10.0"
    server: SandboxServer

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            self.send_answer(Answer(400))
            return None
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self.send_answer(Answer(413))
            return None
        return self.rfile.read(length)

    def _handle(self, method: str) -> None:
        raw = self._read_body()
        if raw is None:
            return
        parts = urlsplit(self.path)
        sandbox = self.server.sandbox
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[0] == "_sandbox":
            self.send_answer(sandbox._control(method, segments[1:], raw))
            return
        answer = sandbox._api(self, method, "/".join(segments), parts.query, raw)
        if answer is not None:
            self.send_answer(answer)

    def send_answer(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            if answer.content_type:
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
        """Close the connection without an answer (fault ``lose_response``)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ExtensivSandbox(ServedSandbox):
    """A running simulator: tenants, token authority, faults, meter, clock and settings."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 1,
                 clock: Clock | None = None,
                 settings: Mapping[str, Any] | None = None) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the sandbox serves on loopback only, not {host!r}")
        self.host = host
        self.seed = seed
        self.clock = clock or Clock()
        self.settings = Settings(**dict(settings or {}))
        self.mint = IdMint(seed)
        self.authority = Authority(self.clock, self.settings)
        self.faults = FaultBook(seed)
        self.meter = Meter()
        self.requests = RequestLog()
        self._budget = RateBudget()
        self._tenants: dict[str, Tenant] = {}
        self._tpl: dict[str, str] = {}
        self._tenants_lock = threading.Lock()
        self._serve(SandboxServer((host, port), SandboxHandler))

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + AUTH_PATH

    @property
    def control_url(self) -> str:
        return self.base_url + "/_sandbox"

    thread_name = "extensiv-sandbox"

    # ---------------------------------------------------------------- tenants

    def add_tenant(self, name: str, *, client_id: str, client_secret: str,
                   user_login: str = "hub-integration", user_login_id: int = 1,
                   tpl: str | None = None, roles: Any = None) -> Tenant:
        """A tenant with its first credential. ``tpl`` defaults to a seeded ``{GUID}``."""
        if not name or "/" in name:
            raise ControlError("a tenant needs a name without '/'")
        with self._tenants_lock:
            if name in self._tenants:
                raise ControlError(f"tenant {name!r} exists already")
            tenant = Tenant(name, mint=self.mint, clock=self.clock, settings=self.settings,
                            seed=self.seed)
            self._tenants[name] = tenant
        guid = uuid.UUID(int=random.Random(f"tpl:{self.seed}:{name}").getrandbits(128),
                         version=4)
        self._tpl[name] = tpl or "{" + str(guid).upper() + "}"
        try:
            self.add_credential(name, client_id=client_id, client_secret=client_secret,
                                user_login=user_login, user_login_id=user_login_id,
                                roles=roles)
        except (ValueError, ControlError):
            with self._tenants_lock:
                del self._tenants[name]
            raise
        return tenant

    def add_credential(self, tenant: str, *, client_id: str, client_secret: str,
                       user_login: str = "hub-integration", user_login_id: int = 1,
                       roles: Any = None) -> Credential:
        """Another credential of ``tenant``; ``roles`` (default: all of §2.1) limits it."""
        self.tenant(tenant)
        if not client_id or not client_secret:
            raise ControlError("client_id and client_secret must not be empty")
        if roles is not None and (not isinstance(roles, list | tuple | set | frozenset) or
                                  not all(isinstance(r, str) for r in roles)):
            raise ControlError("roles must be a list of role names")
        credential = Credential(client_id, client_secret, tenant, user_login, user_login_id,
                                self._tpl[tenant],
                                frozenset(roles) if roles is not None else DEFAULT_ROLES)
        self.authority.add(credential)
        return credential

    def tenant(self, name: str) -> Tenant:
        """The tenant called ``name``; KeyError when there is none."""
        with self._tenants_lock:
            return self._tenants[name]

    def tenant_names(self) -> list[str]:
        with self._tenants_lock:
            return sorted(self._tenants)

    def describe_tenant(self, name: str) -> dict[str, Any]:
        """The tenant's set-up and credentials (client ids, never secrets)."""
        return {**self.tenant(name).describe(), "tpl": self._tpl[name], "credentials": [
            {"client_id": c.client_id, "user_login": c.user_login,
             "user_login_id": c.user_login_id, "roles": sorted(c.roles)}
            for c in self.authority.credentials(name)]}

    def expire_tokens(self, tenant: str | None = None) -> int:
        """Revoke every token now (one tenant's or all); the next API call gets 401."""
        return self.authority.revoke_all(tenant)

    def add_fault(self, **rule: Any) -> int:
        """``add_fault(endpoint="POST /orders", action="lose_response")``; see traffic.py."""
        return self.faults.add(rule)

    # ---------------------------------------------------------------- request handling

    def _control(self, method: str, segments: list[str], raw: bytes) -> Answer:
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return Answer(400, encode_body({"error": "the body is not valid JSON"}), JSON_TYPE)
        status, payload = admin.handle(self, method, segments, body)
        return Answer(status, encode_body(payload), JSON_TYPE)

    def _client_of(self, authorization: str | None, is_token: bool) -> str | None:
        if is_token:
            return basic_client_id(authorization)
        credential = self.authority.peek(authorization)
        return credential.client_id if credential else None

    def _api(self, handler: SandboxHandler, method: str, path: str, query: str,
             raw: bytes) -> Answer | None:
        """Answer one API request, applying the rate budget and faults; None: send nothing."""
        template = template_for(method, path)
        authorization = handler.headers.get("Authorization")
        is_token = path.lower() == AUTH_PATH.strip("/").lower()
        client_id = self._client_of(authorization, is_token)
        fault: FaultRule | None = None
        if client_id and not self._budget.allow(client_id, self.clock.now(),
                                                self.settings.requests_per_minute):
            answer: Answer | None = Answer(429, headers={
                "Retry-After": str(self.settings.rate_limit_retry_after)})
        else:
            fault = self.faults.pick(template)

            def perform() -> Answer:
                return self._perform(handler, method, path, query, raw, is_token)

            answer = self._apply_fault(fault, perform, handler, is_token) if fault \
                else perform()
        self.meter.record(template, answer.status if answer else None,
                          len(answer.body) if answer else 0, client_id)
        self.requests.add({"at": self.clock.describe()["now"], "method": method,
                           "path": "/" + path, "query": query, "endpoint": template,
                           "status": answer.status if answer else None,
                           "client_id": client_id, "fault": fault.action if fault else None})
        return answer

    def _perform(self, handler: SandboxHandler, method: str, path: str, query: str,
                 raw: bytes, is_token: bool) -> Answer:
        headers = handler.headers
        try:
            if is_token:
                if method != "POST":
                    raise ApiError(404)
                token = self.authority.token_endpoint(headers.get("Authorization"),
                                                      headers.get("Content-Type"), raw)
                return Answer(200, encode_body(token), JSON_TYPE)
            credential = self.authority.authenticate(headers.get("Authorization"))
            found = find_route(method, path)
            if found is None:
                raise ApiError(404)
            route, ids = found
            if route.role not in credential.roles:
                raise ApiError(403)  # §11 #3: a missing role is a bare 403
            tenant = self.tenant(credential.tenant)
            request = ApiRequest(method, path, parse_qs(query, keep_blank_values=True),
                                 headers, raw, tenant, credential)
            with tenant.lock:
                reply = route.handler(request, ids)
            return reply_answer(reply, wants_hal(headers.get("Accept")))
        except ApiError as exc:
            return error_answer(exc)
        except Exception:  # noqa: BLE001 - any bug becomes the §7 plain-text 500
            logger.exception("extensiv sandbox: %s %s failed", method, template_for(method,
                                                                                     path))
            return error_answer(server_error())

    def _apply_fault(self, fault: FaultRule, perform: Callable[[], Answer],
                     handler: SandboxHandler, is_token: bool) -> Answer | None:
        if fault.action == "latency":
            self._stopping.wait(fault.delay_ms / 1000)
            return perform()
        if fault.action == "expire_token":
            if is_token:
                return perform()
            self.authority.revoke(handler.headers.get("Authorization"))
            return error_answer(self.authority.unauthorized())
        if fault.action == "status":
            if fault.after_write:
                perform()
            return fault_answer(fault)
        # lose_response: do the work (commit), then close the connection unanswered.
        if fault.after_write:
            perform()
        handler.drop()
        return None


# --------------------------------------------------------------------------------------------
# CLI: dropstream sandbox extensiv [...]
# --------------------------------------------------------------------------------------------

DEMO_CUSTOMER = (143, "Acme Outdoor Co")
DEMO_FACILITIES = ((10, "LAX-1", "Pacific Standard Time"), (11, "NJ-2", "Eastern Standard Time"))
DEMO_SKUS = (("TENT-4P-GRN", {10: 40, 11: 12}), ("STOVE-01", {10: 10, 11: 0}),
             ("LANTERN-LED", {10: 25, 11: 25}))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dropstream sandbox extensiv",
        description="Run a local Extensiv 3PL Warehouse Manager API simulator (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-id", default="dropstream-sandbox")
    parser.add_argument("--client-secret", default=None, help="default: a random secret")
    return parser


def seed_demo(sandbox: ExtensivSandbox, client_id: str, client_secret: str) -> Tenant:
    """The CLI's tenant ``demo``: one customer, two facilities, three SKUs with stock."""
    tenant = sandbox.add_tenant("demo", client_id=client_id, client_secret=client_secret,
                                user_login="hub-integration", user_login_id=412)
    tenant.add_customer(*DEMO_CUSTOMER)
    for facility_id, name, zone in DEMO_FACILITIES:
        tenant.add_facility(facility_id, name, zone)
    for sku, stock in DEMO_SKUS:
        tenant.add_sku(DEMO_CUSTOMER[0], sku, stock=stock)
    return tenant


def main(argv: list[str]) -> int:
    """Run until Ctrl-C or SIGTERM. Returns the exit code."""
    args = _parser().parse_args(argv)
    if not is_loopback_host(args.host):
        print(f"error: --host must be a loopback address (127.0.0.1, ::1), not {args.host!r}",
              file=sys.stderr)
        return 2
    try:
        sandbox = ExtensivSandbox(host=args.host, port=args.port, seed=args.seed)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    secret = args.client_secret or secrets.token_urlsafe(24)
    tenant = seed_demo(sandbox, args.client_id, secret)
    described = sandbox.describe_tenant("demo")
    lines = [
        "Extensiv 3PL Warehouse Manager sandbox",
        f"  base url:      {sandbox.base_url}",
        f"  token url:     {sandbox.token_url}",
        f"  control url:   {sandbox.control_url}",
        f"  client id:     {args.client_id}",
        f"  client secret: {secret}",
        f"  user login:    hub-integration (user_login_id 412), tpl {described['tpl']}",
        "  customers:     " + ", ".join(f"{c.id} ({c.name})" for c in tenant.customers.values()),
        "  facilities:    " + ", ".join(f"{f.id} ({f.name})"
                                        for f in tenant.facilities.values()),
        "  skus:          " + ", ".join(sku for sku, _ in DEMO_SKUS),
    ]
    print("\n".join(lines), flush=True)
    sandbox.start()
    return serve_until_stopped(sandbox, f"Extensiv sandbox on {sandbox.base_url} — Ctrl-C to stop")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))

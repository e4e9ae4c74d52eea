"""``ShipHeroSandbox``: the running simulator and its Python API.

    with ShipHeroSandbox(seed=7, clock=SimClock(start, frozen=True)) as sim:
        brand = sim.add_account("Acme Outdoor", refresh_token=token)
        primary = sim.add_warehouse(brand, "Primary")
        sim.add_product(brand, "TENT-4P-GRN", stock={primary: 10})
        httpx.post(sim.auth_url, json={"refresh_token": token})    # → access_token
        httpx.post(sim.graphql_url, json={"query": ...}, headers={"Authorization": ...})
        sim.ship_order(order_id, [{"lines": {"hub-1": 1}, "tracking_number": "1Z…"}])

URLs (spec §1): ``graphql_url`` = ``/graphql``, ``auth_url`` = ``/auth/refresh``,
``token_url`` = ``/auth/token``; the control endpoint (not ShipHero) is ``control_url`` =
``/_sandbox`` (``control.py``). Serves on loopback only; webhooks go to loopback only.
Account, warehouse and order arguments accept the returned handles, legacy ids or Relay ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dropstream.sandbox.serving import ServedSandbox
from dropstream.sandbox.shiphero import control, fulfilment, snapshots, stock
from dropstream.sandbox.shiphero import orders as order_rules
from dropstream.sandbox.shiphero.auth import TokenBook
from dropstream.sandbox.shiphero.clock import SimClock, fmt_time
from dropstream.sandbox.shiphero.endpoint import Api, Outcome, peek
from dropstream.sandbox.shiphero.errors import ApiError, ControlError
from dropstream.sandbox.shiphero.faults import FaultBook, FaultRule
from dropstream.sandbox.shiphero.httpd import Answer, Handler, Server, gateway_page, json_answer
from dropstream.sandbox.shiphero.meter import Meter
from dropstream.sandbox.shiphero.model import Account, Warehouse
from dropstream.sandbox.shiphero.net import is_loopback_host
from dropstream.sandbox.shiphero.resolvers import create_webhook
from dropstream.sandbox.shiphero.settings import Settings
from dropstream.sandbox.shiphero.state import SimState
from dropstream.sandbox.shiphero.webhooks import WebhookDispatcher

AccountRef = Any  # AccountInfo | Account | int | str
WarehouseRef = Any  # WarehouseInfo | Warehouse | int | str (legacy/Relay id or identifier)


@dataclass(frozen=True)
class AccountInfo:
    """A created account; ``refresh_token`` is None for accounts without a developer user."""

    id: str
    legacy_id: int
    name: str
    is_3pl: bool
    parent_id: int | None = None
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WarehouseInfo:
    id: str
    legacy_id: int
    identifier: str


class ShipHeroSandbox(ServedSandbox):
    """A ShipHero public-API simulator on a loopback port (port 0: any free one)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 1,
                 clock: SimClock | None = None, settings: Settings | None = None) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the sandbox serves on loopback only, not {host!r}")
        self.host = host
        self.seed = seed
        self.clock = clock or SimClock()
        self.settings = settings or Settings()
        self.state = SimState(seed=seed, clock=self.clock, settings=self.settings)
        self.tokens = TokenBook(self.clock, self.settings)
        self.meter = Meter()
        self.faults = FaultBook(seed)
        self.api = Api(self.state, self.tokens, self.meter)
        self.dispatcher = WebhookDispatcher(self.state, seed)
        self.state.on_event = self.dispatcher.submit
        self._serve(Server((host, port), self))

    # ------------------------------------------------------------------ lifecycle and URLs

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def auth_url(self) -> str:
        """The refresh endpoint (§2.2)."""
        return f"{self.url}/auth/refresh"

    @property
    def token_url(self) -> str:
        """The username/password endpoint (§2.1)."""
        return f"{self.url}/auth/token"

    @property
    def control_url(self) -> str:
        return f"{self.url}/_sandbox"

    thread_name = "shiphero-sim"

    def _on_start(self) -> None:
        self.dispatcher.start()

    def _on_stop(self) -> None:
        self.dispatcher.stop()

    # ------------------------------------------------------------------ set-up

    def add_account(self, name: str, *, is_3pl: bool = False, refresh_token: str | None = None,
                    with_token: bool = True, email: str | None = None,
                    username: str | None = None, password: str | None = None) -> AccountInfo:
        """A brand (default) or 3PL account with a developer user's static refresh token
        (``refresh_token`` or a random one). ``username``/``password`` enable /auth/token."""
        try:
            record = self.state.add_account(name, email=email, is_3pl=is_3pl)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return self._account_info(record, refresh_token, with_token, username, password)

    def add_customer(self, parent: AccountRef, name: str, *, refresh_token: str | None = None,
                     with_token: bool = False) -> AccountInfo:
        """A customer account of a 3PL (§3); no token of its own unless asked."""
        try:
            record = self.state.add_account(name, parent=self._account(parent))
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return self._account_info(record, refresh_token, with_token or bool(refresh_token),
                                  None, None)

    def _account_info(self, record: Account, refresh_token: str | None, with_token: bool,
                      username: str | None, password: str | None) -> AccountInfo:
        token = None
        if with_token or refresh_token:
            try:
                token = self.tokens.add_refresh_token(record.legacy_id, refresh_token)
            except ValueError as exc:
                raise ControlError(str(exc)) from None
        if username and password:
            self.tokens.add_login(record.legacy_id, username, password)
        return AccountInfo(record.id, record.legacy_id, record.username, record.is_3pl,
                           record.parent.legacy_id if record.parent else None, token)

    def add_refresh_token(self, account: AccountRef, token: str | None = None) -> str:
        return self.tokens.add_refresh_token(self._account(account).legacy_id, token)

    def issue_access_token(self, account: AccountRef) -> str:
        """An access token without the HTTP round trip (for tests of other things)."""
        return self.tokens.issue(self._account(account).legacy_id)

    def add_warehouse(self, account: AccountRef, identifier: str = "Primary", *,
                      address: dict[str, Any] | None = None) -> WarehouseInfo:
        """A warehouse of a brand or of a 3PL (customers use their 3PL's warehouses)."""
        try:
            record = self.state.add_warehouse(self._account(account), identifier, address)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return WarehouseInfo(record.id, record.legacy_id, record.identifier)

    def add_product(self, account: AccountRef, sku: str, *, name: str | None = None,
                    price: str = "0.00", barcode: str | None = None,
                    stock: Mapping[WarehouseRef, int] | None = None) -> list[dict[str, Any]]:
        """A SKU of the account with ``on_hand`` per warehouse; returns its stock rows."""
        with self.state.lock:
            owner = self._account(account)
            try:
                product = self.state.add_product(owner, sku, name=name, price=price,
                                                 barcode=barcode)
            except ValueError as exc:
                raise ControlError(str(exc)) from None
            for ref, on_hand in (stock or {}).items():
                row = self.state.stock_row(product, self._warehouse(owner, ref))
                row.on_hand = int(on_hand)
            return [snapshots.stock(row) for row in product.warehouse_products]

    # ------------------------------------------------------------------ stock

    def set_stock(self, account: AccountRef, sku: str, warehouse: WarehouseRef, *,
                  on_hand: int | None = None, delta: int | None = None,
                  reserve_inventory: int | None = None,
                  non_sellable_quantity: int | None = None) -> dict[str, Any]:
        """Set or move stock (an adjustment in the warehouse); fires Inventory Update when
        on_hand changes (§10.2)."""
        with self.state.lock:
            owner = self._account(account)
            product = owner.products.get(sku)
            if product is None:
                raise ControlError(f"no SKU {sku!r} in account {owner.legacy_id}")
            row = self.state.stock_row(product, self._warehouse(owner, warehouse))
            try:
                stock.change_stock(self.state, row, on_hand=on_hand, delta=delta,
                                   reserve_inventory=reserve_inventory,
                                   non_sellable_quantity=non_sellable_quantity)
            except ValueError as exc:
                raise ControlError(str(exc)) from None
            return snapshots.stock(row)

    def stock(self, account: AccountRef, sku: str) -> list[dict[str, Any]]:
        with self.state.lock:
            product = self._account(account).products.get(sku)
            if product is None:
                raise ControlError(f"no SKU {sku!r}")
            return [snapshots.stock(row) for row in product.warehouse_products]

    # ------------------------------------------------------------------ orders (driver)

    def order(self, ref: Any) -> dict[str, Any]:
        """An order by legacy id, Relay id, or a unique partner_order_id/order_number."""
        with self.state.lock:
            return snapshots.order(self._order(ref))

    def orders(self, account: AccountRef) -> list[dict[str, Any]]:
        with self.state.lock:
            return [snapshots.order(o) for o in self._account(account).orders]

    def pick_order(self, ref: Any) -> dict[str, Any]:
        with self.state.lock:
            return snapshots.order(fulfilment.pick_order(self.state, self._order(ref)))

    def ship_order(self, ref: Any, packages: list[dict[str, Any]] | None = None, *,
                   force: bool = False, shipped_off_shiphero: bool = False) -> dict[str, Any]:
        """Ship in one or several packages (see ``fulfilment.py``); returns the shipment."""
        with self.state.lock:
            shipment = fulfilment.ship_order(self.state, self._order(ref), packages,
                                             force=force,
                                             shipped_off_shiphero=shipped_off_shiphero)
            return snapshots.shipment(shipment)

    def cancel_order(self, ref: Any, *, reason: str = "", force: bool = False) -> dict[str, Any]:
        """Cancel as an operator in ShipHero would (same rules as ``order_cancel``)."""
        with self.state.lock:
            try:
                order = order_rules.cancel_order(self.state, self._order(ref), reason=reason,
                                                 force=force, by_name="Sandbox operator")
            except ApiError as exc:
                raise ControlError(exc.message) from None
            return snapshots.order(order)

    def set_holds(self, ref: Any, **holds: bool) -> dict[str, Any]:
        with self.state.lock:
            order = self._order(ref)
            return snapshots.order(order_rules.update_holds(self.state, order, holds))

    # ------------------------------------------------------------------ webhooks

    def register_webhook(self, account: AccountRef, name: str, url: str, *,
                         shop_name: str | None = None,
                         send_signature: bool = True) -> dict[str, Any]:
        """Like ``webhook_create`` (§11.1); the answer includes ``shared_signature_secret``."""
        with self.state.lock:
            try:
                hook = create_webhook(self.state, self._account(account), name, url, shop_name)
            except ApiError as exc:
                raise ControlError(exc.message) from None
            hook.send_signature = send_signature
            return {**hook.describe(), "shared_signature_secret": hook.shared_signature_secret}

    def update_webhook(self, ref: Any, *, send_signature: bool | None = None,
                       enabled: bool | None = None) -> dict[str, Any]:
        with self.state.lock:
            hook = self._webhook(ref)
            if send_signature is not None:
                hook.send_signature = send_signature
            if enabled is not None:
                hook.enabled = enabled
                if enabled:
                    hook.health, hook.consecutive_failures = "HEALTHY", 0
            return hook.describe()

    def webhooks(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [h.describe() for a in self.state.accounts.values() for h in a.webhooks]

    def add_webhook_faults(self, rules: Any) -> int:
        return self.dispatcher.add_faults(rules)

    def clear_webhook_faults(self) -> None:
        self.dispatcher.clear_faults()

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.deliveries()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (retries included) finished."""
        return self.dispatcher.wait_idle(timeout)

    # ------------------------------------------------------------------ faults, tokens

    def add_faults(self, rules: Any) -> int:
        return self.faults.add(rules)

    def clear_faults(self) -> None:
        self.faults.clear()

    def expire_tokens(self, account: AccountRef | None = None) -> int:
        """Fault "expire the access token now" (every issued token, or the account's)."""
        return self.tokens.expire(None if account is None else self._account(account).legacy_id)

    def revoke_tokens(self, account: AccountRef | None = None) -> int:
        return self.tokens.revoke(None if account is None else self._account(account).legacy_id)

    def suspend_account(self, account: AccountRef, suspended: bool = True) -> None:
        with self.state.lock:
            self._account(account).status = "suspended" if suspended else "active"

    # ------------------------------------------------------------------ credits, meter

    def credits(self, account: AccountRef) -> dict[str, Any]:
        bucket = self.api.bucket(self._account(account).legacy_id)
        return {"credits_remaining": bucket.level(self.clock.timestamp()),
                "max_available": self.settings.credits_max,
                "increment_rate": self.settings.credits_restore_per_second}

    def set_credits(self, account: AccountRef, remaining: float) -> dict[str, Any]:
        self.api.bucket(self._account(account).legacy_id).set_level(remaining,
                                                                    self.clock.timestamp())
        return self.credits(account)

    def meter_snapshot(self) -> dict[str, Any]:
        return self.meter.snapshot()

    def reset_meter(self) -> None:
        self.meter.reset()

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self.settings.update(changes)

    def describe(self) -> dict[str, Any]:
        with self.state.lock:
            accounts = [snapshots.account(a) for a in self.state.accounts.values()]
        return {"graphql_url": self.graphql_url, "auth_url": self.auth_url,
                "token_url": self.token_url, "control_url": self.control_url,
                "clock": self.clock.describe(), "accounts": accounts}

    # ------------------------------------------------------------------ look-ups

    def _account(self, ref: AccountRef) -> Account:
        key = ref.legacy_id if isinstance(ref, AccountInfo) else ref
        try:
            return self.state.account(key)
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _warehouse(self, owner: Account, ref: WarehouseRef) -> Warehouse:
        key = ref.legacy_id if isinstance(ref, WarehouseInfo) else ref
        try:
            return self.state.warehouse(owner, key)
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _order(self, ref: Any) -> Any:
        try:
            return self.state.order(ref)
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _webhook(self, ref: Any) -> Any:
        for account in self.state.accounts.values():
            for hook in account.webhooks:
                if ref in (hook.id, hook.legacy_id, str(hook.legacy_id)):
                    return hook
        raise ControlError(f"no webhook {ref!r}")

    # ------------------------------------------------------------------ HTTP dispatch

    def handle_http(self, handler: Handler, method: str, raw: bytes) -> Answer | None:
        """Answer one HTTP request (None: the connection was dropped on purpose)."""
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/") or "/"
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            segments = [s for s in path.split("/") if s][1:]
            status, body = control.handle(self, method, segments, raw)
            return json_answer(status, body)
        if path in ("/graphql", "/auth/refresh", "/auth/token"):
            if method != "POST":
                return json_answer(405, {"errors": [{"message": "Use POST"}]},
                                   {"Allow": "POST"})
            return self._api_request(handler, path, raw)
        return json_answer(404, {"errors": [{"message": "Not Found"}]})

    def _api_request(self, handler: Handler, path: str, raw: bytes) -> Answer | None:
        if path == "/graphql":
            found = peek(raw)
            key, names, op_name = found.meter_key, found.fault_names, found.named_operation
            authorization = handler.headers.get("Authorization")

            def perform() -> Outcome:
                return self.api.graphql(found, authorization)
        else:
            key = path.lstrip("/")
            names, op_name = {key}, None

            def perform() -> Outcome:
                return self.api.refresh(raw) if path == "/auth/refresh" else self.api.login(raw)
        self.meter.count(key, op_name)
        fault = self.faults.pick(names)
        outcome: Outcome | None = None
        answer: Answer | None
        if fault is None:
            outcome = perform()
            answer = json_answer(outcome.status, outcome.body, outcome.headers)
        else:
            outcome, answer = self._faulted(fault, perform, handler)
        entry = (outcome.meter_entry(fmt_time(self.clock.now())) if outcome else
                 {"at": fmt_time(self.clock.now()), "operation": key})
        if fault is not None:
            entry["fault"] = fault.action
            entry["status"] = answer.status if answer is not None else None
            entry["outcome"] = "fault" if outcome is None else outcome.outcome
        self.meter.finish(entry)
        return answer

    def _faulted(self, fault: FaultRule, perform: Any,
                 handler: Handler) -> tuple[Outcome | None, Answer | None]:
        if fault.action == "latency":
            self._stopping.wait(fault.delay_ms / 1000)
            outcome = perform()
            return outcome, json_answer(outcome.status, outcome.body, outcome.headers)
        outcome = perform() if fault.after_commit else None
        if fault.action == "status":
            return outcome, gateway_page(fault.status)
        handler.drop()
        return outcome, None

"""The simulator's data store: accounts (brand, 3PL and customers, spec §3), warehouses,
products with stock, orders, shipments and webhooks, behind one re-entrant lock.

Account scope (§3, §13 #4): a 3PL token without ``customer_account_id`` sees only the 3PL's own
records; with it, the named customer's. A brand token that sends ``customer_account_id`` gets an
error. ``customer_account_id`` may be the legacy number or the Relay id
(``settings.customer_id_forms``, §14.8).

Changes that ShipHero reports by webhook (§10.2, §11.3, §11.4) are handed to ``on_event`` as
``Event`` records whose payloads were built at the moment of the change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dropstream.sandbox.shiphero.clock import SimClock
from dropstream.sandbox.shiphero.errors import CODE_FORBIDDEN, CODE_NOT_FOUND, ApiError
from dropstream.sandbox.shiphero.ids import IdSource, legacy_from, parse_relay_id
from dropstream.sandbox.shiphero.model import (
    Account,
    Order,
    Product,
    Shipment,
    Warehouse,
    WarehouseProduct,
    Webhook,
)
from dropstream.sandbox.shiphero.settings import Settings

WEBHOOK_TYPES = ("Inventory Update", "Inventory Change", "Shipment Update", "Automation Rules",
                 "Order Canceled", "Capture Payment", "PO Update", "Return Update",
                 "Tote Complete", "Tote Cleared", "Order Packed Out", "Package Added",
                 "Print Barcode", "Order Allocated", "Order Deallocated", "Shipment ASN",
                 "Generate Label Webhook")


@dataclass
class Event:
    """A change to report by webhook: its type, owner account, shop and ready payloads."""

    webhook_type: str
    account: Account
    shop_name: str | None
    payloads: list[dict[str, Any]] = field(default_factory=list)


class SimState:
    """All simulated records. Hold ``lock`` while reading or changing them."""

    def __init__(self, *, seed: int, clock: SimClock, settings: Settings) -> None:
        self.lock = threading.RLock()
        self.ids = IdSource(seed)
        self.clock = clock
        self.settings = settings
        self.accounts: dict[int, Account] = {}
        self.on_event: Callable[[Event], None] = lambda event: None

    # ------------------------------------------------------------------ set-up

    def add_account(self, username: str, *, email: str | None = None, is_3pl: bool = False,
                    parent: Account | None = None) -> Account:
        with self.lock:
            if parent is not None and not parent.is_3pl:
                raise ValueError("a customer account's parent must be a 3PL account")
            if parent is not None and is_3pl:
                raise ValueError("a customer account cannot itself be a 3PL")
            account = Account(legacy_id=self.ids.legacy("Account"), username=username,
                              email=email or f"{username.lower().replace(' ', '.')}@example.com",
                              is_3pl=is_3pl, parent=parent)
            self.accounts[account.legacy_id] = account
            if parent is not None:
                parent.customers.append(account)
            return account

    def add_warehouse(self, account: Account, identifier: str,
                      address: dict[str, Any] | None = None) -> Warehouse:
        with self.lock:
            if account.parent is not None:
                raise ValueError("warehouses belong to the 3PL, not to its customer accounts")
            if any(w.identifier == identifier for w in account.warehouses):
                raise ValueError(f"warehouse {identifier!r} exists already")
            warehouse = Warehouse(legacy_id=self.ids.legacy("Warehouse"), account=account,
                                  identifier=identifier, address=dict(address or {}))
            account.warehouses.append(warehouse)
            return warehouse

    def add_product(self, account: Account, sku: str, *, name: str | None = None,
                    price: str = "0.00", barcode: str | None = None) -> Product:
        with self.lock:
            if sku in account.products:
                raise ValueError(f"SKU {sku!r} exists already in account {account.legacy_id}")
            now = self.clock.now()
            product = Product(legacy_id=self.ids.legacy("Product"), account=account, sku=sku,
                              name=name or sku, price=price, barcode=barcode, created_at=now,
                              updated_at=now)
            account.products[sku] = product
            return product

    def stock_row(self, product: Product, warehouse: Warehouse) -> WarehouseProduct:
        """The product's stock in ``warehouse``, created empty on first use."""
        with self.lock:
            row = product.stock.get(warehouse.legacy_id)
            if row is None:
                now = self.clock.now()
                row = WarehouseProduct(legacy_id=self.ids.legacy("WarehouseProduct"),
                                       product=product, warehouse=warehouse, created_at=now,
                                       updated_at=now)
                product.stock[warehouse.legacy_id] = row
            return row

    # ------------------------------------------------------------------ look-ups

    def account(self, ref: Account | int | str) -> Account:
        """By object, legacy id or Relay id. Raises KeyError."""
        if isinstance(ref, Account):
            return ref
        number = legacy_from(ref, "Account")
        if number is None or number not in self.accounts:
            raise KeyError(f"no account {ref!r}")
        return self.accounts[number]

    def scope(self, account: Account, customer_account_id: str | None) -> Account:
        """The account a request acts on (§3). Raises ApiError."""
        if customer_account_id is None:
            return account
        if not account.is_3pl:
            raise ApiError("customer_account_id can only be used by a 3PL account",
                           CODE_FORBIDDEN)
        number = self._customer_number(customer_account_id)
        for customer in account.customers:
            if customer.legacy_id == number:
                return customer
        raise ApiError(f"Customer account {customer_account_id!r} not found", CODE_NOT_FOUND)

    def _customer_number(self, text: str) -> int | None:
        forms = self.settings.customer_id_forms
        value = text.strip()
        if value.isdigit():
            return int(value) if forms in ("both", "legacy") else None
        parsed = parse_relay_id(value)
        if parsed is None or parsed[0] != "Account" or forms == "legacy":
            return None
        return parsed[1]

    def warehouse(self, account: Account, ref: Warehouse | int | str) -> Warehouse:
        """A warehouse that ships ``account``'s orders: object, legacy/Relay id or identifier.
        Raises KeyError."""
        candidates = account.all_warehouses()
        if isinstance(ref, Warehouse):
            if ref in candidates:
                return ref
            raise KeyError(f"warehouse {ref.identifier!r} does not serve this account")
        number = legacy_from(ref, "Warehouse")
        for warehouse in candidates:
            if warehouse.legacy_id == number or warehouse.identifier == ref:
                return warehouse
        raise KeyError(f"no warehouse {ref!r}")

    def all_orders(self) -> list[Order]:
        return [order for account in self.accounts.values() for order in account.orders]

    def order(self, ref: Order | int | str, scope: Account | None = None) -> Order:
        """By legacy or Relay id (in ``scope`` when given). Raises KeyError."""
        if isinstance(ref, Order):
            return ref
        number = legacy_from(ref, "Order")
        orders = scope.orders if scope is not None else self.all_orders()
        for order in orders:
            if order.legacy_id == number:
                return order
        if scope is None and isinstance(ref, str):
            matches = [o for o in orders if ref in (o.partner_order_id, o.order_number)]
            if len(matches) == 1:
                return matches[0]
        raise KeyError(f"no order {ref!r}")

    def shipments(self, scope: Account) -> list[Shipment]:
        return [shipment for order in scope.orders for shipment in order.shipments]

    def webhooks_for(self, event: Event) -> list[Webhook]:
        """Enabled webhooks of the event's account and type (shop filter: settings)."""
        found = []
        for hook in event.account.webhooks:
            if hook.name != event.webhook_type or not hook.enabled:
                continue
            if (self.settings.webhook_shop_filter and hook.shop_name and event.shop_name
                    and hook.shop_name != event.shop_name):
                continue
            found.append(hook)
        return found

    def emit(self, event: Event) -> None:
        self.on_event(event)

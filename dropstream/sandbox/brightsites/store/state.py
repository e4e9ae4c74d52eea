"""The data of one simulated Bright Sites store, and the lookups and changes its routes share.

All of a store's state is guarded by its one ``lock``; route functions (``api_orders``,
``api_shipments``, ``api_inventory``) build their answers under it, so a response is a
consistent snapshot.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dropstream.sandbox.brightsites.catalog import (
    Customer,
    IdSequence,
    InventoryRecord,
    Product,
    build_customers,
    build_products,
)
from dropstream.sandbox.brightsites.orders import Order, StoreIdentity
from dropstream.sandbox.brightsites.store import backoffice
from dropstream.sandbox.brightsites.store.settings import StoreSettings
from dropstream.sandbox.brightsites.store.tokens import TokenBook
from dropstream.sandbox.brightsites.wire import Clock, fmt_ts, not_found


@dataclass
class StoreIds:
    """The id sequences of one store: increasing, with the gaps a shared database leaves."""

    orders: IdSequence
    lines: IdSequence
    payments: IdSequence
    shipments: IdSequence
    records: IdSequence


class Store:
    """A fake Bright Sites store (one subdomain) held in memory."""

    def __init__(self, subdomain: str, *, seed: int, clock: Clock, products: int = 40,
                 site_id: int | None = None) -> None:
        self.subdomain = subdomain
        self.clock = clock
        self.lock = threading.RLock()
        self.rng = random.Random(f"{seed}:{subdomain}")
        self.settings = StoreSettings()
        self.tokens = TokenBook()
        now = clock.now()
        self.site = StoreIdentity(
            site_id=site_id if site_id is not None else self.rng.randint(100, 9999),
            site_name=f"{subdomain.replace('-', ' ').title()} Team Store",
            site_url=f"http://{subdomain}.mybrightsites.com",
            custom_store_id=f"{subdomain[:4].upper()}-{self.rng.randint(1, 99):02d}",
            organization_name=f"{subdomain.replace('-', ' ').title()} Corp",
            organization_id=self.rng.randint(10, 999),
        )
        self.products: dict[int, Product] = {p.id: p for p in build_products(self.rng, products,
                                                                              now)}
        self.records: dict[int, tuple[Product, InventoryRecord]] = {}
        self.variants: dict[str, tuple[Product, InventoryRecord | None]] = {}
        for product in self.products.values():
            self.index_product(product)
        self.customers: list[Customer] = build_customers(self.rng)
        self.orders: dict[int, Order] = {}
        self.order_ids: list[int] = []  # ascending; the list endpoint walks it backwards
        self.line_orders: dict[int, int] = {}
        self.emails: list[dict[str, Any]] = []
        # Drawn from the store's generator in this order, so a seed always gives the same ids.
        rng = self.rng
        self.ids = StoreIds(
            orders=IdSequence(rng, rng.randint(1000, 1200), max_gap=3),
            lines=IdSequence(rng, rng.randint(35_900_000, 36_000_000), max_gap=5),
            payments=IdSequence(rng, rng.randint(10_700_000, 10_800_000), max_gap=9),
            shipments=IdSequence(rng, rng.randint(30, 90), max_gap=4),
            records=IdSequence(rng, max(self.records, default=2800) + 1),
        )
        # Called with (store, order) when an order becomes pushable (§10); set by the server.
        self.on_pushable: Callable[[Store, Order], None] | None = None

    # -- tokens (§2.3) -------------------------------------------------------------------------

    def add_token(self, token: str, access: str, expires_at: datetime | None = None) -> None:
        """Accept ``token`` (see ``TokenBook.add``); raises ControlError for a bad one."""
        with self.lock:
            self.tokens.add(token, access, expires_at)

    def authorize(self, token: str | None, write: bool) -> None:
        """Returns when ``token`` may make the request; raises ApiError 401 for a missing,
        unknown or expired token, 403 for a read-only token on a write."""
        self.tokens.authorize(token, write=write, now=self.clock.now())

    # -- what the routes share -----------------------------------------------------------------

    def index_product(self, product: Product) -> None:
        """Make ``product``'s records findable by id and its variants by final SKU."""
        if product.gift_certificate:
            self.variants[product.sku] = (product, None)
        for record in product.records:
            self.records[record.id] = (product, record)
            self.variants[product.final_sku(record)] = (product, record)

    def stocked(self, product: Product) -> bool:
        """Store-managed inventory: listed by ``GET /inventories`` (§9.3, §9.6)."""
        return (product.enable_inventory and not product.vendor_inventory_enabled
                and not product.gift_certificate)

    def inventory_row(self, product: Product, record: InventoryRecord) -> dict[str, Any]:
        """§9.3 store-wide row."""
        return {"product_id": product.id, "product_name": product.name,
                "internal_id": product.internal_id, "sku": product.sku,
                "final_sku": product.final_sku(record), "id": record.id,
                "inventory": record.inventory, "trigger": record.trigger, "track": record.track,
                "allow_negative": record.allow_negative,
                "sub_option_ids": list(record.sub_option_ids), "sub_sku": record.sub_sku}

    def touch(self, order: Order) -> None:
        """Set ``updated_at`` to now, but always later than before: the hub compares it."""
        now = self.clock.now()
        order.updated_at = now if now > order.updated_at else order.updated_at + timedelta(
            seconds=1)

    def order_or_404(self, order_id: int) -> Order:
        """The order; raises ApiError 404 (§5.1) when the store has none with this id."""
        order = self.orders.get(order_id)
        if order is None:
            raise not_found()
        return order

    def restock(self, order: Order) -> None:
        """Give back the tracked stock ``order`` took when it was placed (§7.6)."""
        for record_id, quantity in order.stock_taken:
            found = self.records.get(record_id)
            if found is not None and found[1].track:
                found[1].inventory += quantity
        order.restocked = True

    def shipment_or_404(self, order: Order, shipment_id: int) -> dict[str, Any]:
        """The order's shipment; raises ApiError 404 when it has none with this id."""
        for shipment in order.shipments:
            if shipment["id"] == shipment_id:
                return shipment
        raise not_found()

    def product_or_404(self, product_id: int) -> Product:
        """The product; raises ApiError 404 when the store has none with this id."""
        product = self.products.get(product_id)
        if product is None:
            raise not_found()
        return product

    def record_or_404(self, product: Product, record_id: int) -> InventoryRecord:
        """The product's inventory record; raises ApiError 404 when it has none with this id
        or its inventory is vendor-managed (§9.5)."""
        for record in product.records:
            if record.id == record_id and not product.vendor_inventory_enabled:
                return record
        raise not_found()

    def record_email(self, order: Order, source: str, **extra: Any) -> None:
        """Note the shipping confirmation the store would e-mail now (§7.5, §8.3)."""
        self.emails.append({"kind": "shipping_confirmation", "source": source,
                            "order_id": order.id, "to": order.shipping_contact.get("email"),
                            "at": fmt_ts(self.clock.now()), **extra})

    def notify_pushable(self, order: Order) -> None:
        """Tell the server ``order`` became pushable (§10), if it listens."""
        if self.on_pushable is not None:
            self.on_pushable(self, order)

    # -- outside the API ------------------------------------------------------------------------
    # The back office's functions take the store first, so they serve as methods: the control
    # API, the command line, the push runtime and tests call ``store.create_orders(…)``.

    create_orders = backoffice.create_orders
    control_update_order = backoffice.control_update_order
    raw_order = backoffice.raw_order
    show_order_json = backoffice.show_order_json
    delete_orders = backoffice.delete_orders
    raw_inventories = backoffice.raw_inventories
    set_inventory = backoffice.set_inventory
    state = backoffice.state

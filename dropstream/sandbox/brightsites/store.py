"""One simulated Bright Sites store: its data and every API operation on it.

Each public ``api_*`` method implements one route of specs/brightsites-api.md and returns
``(status, body)``, or raises ``ApiError`` with the error answer. All state is guarded by one lock
per store; renderings are built under it, so a response is a consistent snapshot.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from dropstream.sandbox.brightsites import orders as order_json
from dropstream.sandbox.brightsites.catalog import (
    SHIPPING_METHODS,
    Customer,
    IdSequence,
    InventoryRecord,
    Product,
    build_customers,
    build_products,
)
from dropstream.sandbox.brightsites.orders import LineRequest, Order, StoreIdentity
from dropstream.sandbox.brightsites.wire import (
    ORDER_STATUSES,
    RULE_ARRAY_OF_HASHES,
    RULE_BOOLEAN,
    RULE_HASH,
    RULE_NUMBER,
    RULE_ORDER_DATE,
    RULE_REQUIRED,
    RULE_SHIP_DATE,
    RULE_STATUS,
    RULE_STRING,
    ApiError,
    Clock,
    ShapeA,
    as_bool,
    as_int,
    fmt_ts,
    invalid_parameter,
    not_found,
    parse_filter_time,
    parse_order_date,
    parse_ship_date,
    shape_b,
)

Query = Mapping[str, list[str]]
DEFAULT_PER_PAGE = 50  # §4 (observed)
MAX_PER_PAGE = 500  # §4 (documented since 2.1.1)
ADDRESS_KEYS = ("first_address", "company", "second_address", "city", "state", "country", "zip")
CONTACT_KEYS = ("first_name", "last_name", "email", "phone")
ADMIN_ORDER_FIELDS = ("status", "shipping_method", "tracking_number", "ship_date", "in_hands_date",
                      "note", "send_shipping_confirmation", "shipping_address", "billing_address",
                      "shipping_contact", "billing_contact")


class ControlError(ValueError):
    """A bad control-API request; the message says what to fix."""


@dataclass
class StoreSettings:
    """The simulator's switches for behaviour the spec leaves open (§13)."""

    shipment_validation: str = "strict"  # §8.3: "strict" or "lenient"
    auto_ship: bool = False  # §8.6: advance to shipped when every physical line is covered
    update_response: str = "observed"  # §7.5: "observed" (older shape) or "documented"
    cancel_errors: list[str] = field(default_factory=list)  # §7.6 errors[] of cancel
    line_extras: bool = True  # §7.4: pdf_status, pdf_file_url, split_items on every line
    gift_rate: float = 0.03  # share of generated orders with a gift-certificate line
    shipping_methods: list[str] = field(default_factory=lambda: list(SHIPPING_METHODS))

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply control-API values. Raises ControlError naming the bad key."""
        for key, value in values.items():
            if key == "shipment_validation" and value in ("strict", "lenient"):
                self.shipment_validation = value
            elif key == "update_response" and value in ("observed", "documented"):
                self.update_response = value
            elif key in ("auto_ship", "line_extras") and isinstance(value, bool):
                setattr(self, key, value)
            elif key == "gift_rate" and isinstance(value, int | float) and 0 <= value <= 1:
                self.gift_rate = float(value)
            elif key in ("cancel_errors", "shipping_methods") and isinstance(value, list) and all(
                    isinstance(item, str) for item in value):
                setattr(self, key, list(value))
            else:
                raise ControlError(f"setting {key!r} cannot be {value!r}")

    def describe(self) -> dict[str, Any]:
        return {"shipment_validation": self.shipment_validation, "auto_ship": self.auto_ship,
                "update_response": self.update_response, "cancel_errors": self.cancel_errors,
                "line_extras": self.line_extras, "gift_rate": self.gift_rate,
                "shipping_methods": self.shipping_methods}


@dataclass
class Token:
    """An API token: ``access`` is "read" or "read_write"; expired tokens answer 401."""

    access: str
    expires_at: datetime | None = None


class Store:
    """A fake Bright Sites store (one subdomain) held in memory."""

    def __init__(self, subdomain: str, *, seed: int, clock: Clock, products: int = 40,
                 site_id: int | None = None) -> None:
        self.subdomain = subdomain
        self.clock = clock
        self.lock = threading.RLock()
        self.rng = random.Random(f"{seed}:{subdomain}")
        self.settings = StoreSettings()
        self.tokens: dict[str, Token] = {}
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
            self._index_product(product)
        self.customers: list[Customer] = build_customers(self.rng)
        self.orders: dict[int, Order] = {}
        self.order_ids: list[int] = []  # ascending; the list endpoint walks it backwards
        self.line_orders: dict[int, int] = {}
        self.emails: list[dict[str, Any]] = []
        self._order_ids = IdSequence(self.rng, self.rng.randint(1000, 1200), max_gap=3)
        self._line_ids = IdSequence(self.rng, self.rng.randint(35_900_000, 36_000_000),
                                    max_gap=5)
        self._payment_ids = IdSequence(self.rng, self.rng.randint(10_700_000, 10_800_000),
                                       max_gap=9)
        self._shipment_ids = IdSequence(self.rng, self.rng.randint(30, 90), max_gap=4)
        self._record_ids = IdSequence(self.rng, max(self.records, default=2800) + 1)
        self._sub_option_ids = IdSequence(self.rng, 900_000)
        # Called with (store, order) when an order becomes pushable (§10); set by the server.
        self.on_pushable: Callable[[Store, Order], None] | None = None

    # ----------------------------------------------------------------------------------------
    # Tokens
    # ----------------------------------------------------------------------------------------

    def add_token(self, token: str, access: str, expires_at: datetime | None = None) -> None:
        if access not in ("read", "read_write"):
            raise ControlError("access must be 'read' or 'read_write'")
        if not token or any(ch.isspace() for ch in token):
            raise ControlError("a token must be non-empty and contain no spaces")
        with self.lock:
            self.tokens[token] = Token(access, expires_at)

    def authorize(self, token: str | None, write: bool) -> None:
        """§2.3: raises ApiError 401 for a missing/unknown/expired token, 403 for a read-only
        token on a write."""
        info = self.tokens.get(token or "")
        if info is None or (info.expires_at is not None and info.expires_at <= self.clock.now()):
            raise ApiError(401, {"errors": {"token": ["is invalid"]}})
        if write and info.access != "read_write":
            raise ApiError(403, {"errors": {"token": ["has read-only access"]}})

    # ----------------------------------------------------------------------------------------
    # Catalog helpers
    # ----------------------------------------------------------------------------------------

    def _index_product(self, product: Product) -> None:
        if product.gift_certificate:
            self.variants[product.sku] = (product, None)
        for record in product.records:
            self.records[record.id] = (product, record)
            self.variants[product.final_sku(record)] = (product, record)

    def _stocked(self, product: Product) -> bool:
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

    def _bump(self, order: Order) -> None:
        """Set ``updated_at`` to now, but always later than before: the hub compares it."""
        now = self.clock.now()
        order.updated_at = now if now > order.updated_at else order.updated_at + timedelta(
            seconds=1)

    # ----------------------------------------------------------------------------------------
    # Orders: API
    # ----------------------------------------------------------------------------------------

    def api_list_orders(self, query: Query) -> tuple[int, Any]:
        """``GET /orders`` (§7.2): newest first, filters, paging (§4)."""
        errors = ShapeA()
        status = _one(query, "status")
        if status is not None and status not in ORDER_STATUSES:
            errors.add("status", status, RULE_STATUS)
        customers = {c.strip().lower() for c in _many(query, "customer") if c.strip()}
        windows = {name: _time_filter(query, name, errors) for name in (
            "created_at_from", "created_at_to", "updated_at_from", "updated_at_to")}
        page, per_page = _paging(query, errors)
        errors.raise_if_any()
        created_from, created_to = windows["created_at_from"], windows["created_at_to"]
        updated_from, updated_to = windows["updated_at_from"], windows["updated_at_to"]
        with self.lock:
            matches: list[Order] = []
            for order_id in reversed(self.order_ids):
                order = self.orders[order_id]
                if status is not None and order.status != status:
                    continue
                if customers and order.customer_email.lower() not in customers:
                    continue
                if created_from and order.created_at < created_from:
                    continue
                if created_to and order.created_at > created_to:
                    continue
                if updated_from and order.updated_at < updated_from:
                    continue
                if updated_to and order.updated_at > updated_to:
                    continue
                matches.append(order)
            offset = (page - 1) * per_page
            rows = [order_json.list_row(o) for o in matches[offset:offset + per_page]]
        return 200, {"orders": rows,
                     "meta": {"total": len(matches), "offset": offset, "limit": per_page}}

    def _order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found()
        return order

    def api_show_order(self, order_id: int) -> tuple[int, Any]:
        with self.lock:
            return 200, order_json.show_order(self._order(order_id), self.site)

    def api_line_items(self, order_id: int) -> tuple[int, Any]:
        with self.lock:
            return 200, {"line_items": order_json.show_order(self._order(order_id),
                                                             self.site)["line_items"]}

    def api_line_item(self, order_id: int, line_id: int) -> tuple[int, Any]:
        with self.lock:
            order = self._order(order_id)
            if order.line(line_id) is None:
                raise not_found()
            lines = order_json.show_order(order, self.site)["line_items"]
            return 200, next(line for line in lines if line["id"] == line_id)

    def api_update_order(self, order_id: int, body: Any) -> tuple[int, Any]:
        """``PUT|PATCH /orders/:id`` (§7.5). Validation per §5.5; approval hold → shape B."""
        changes = _validate_order_update(body)
        with self.lock:
            order = self._order(order_id)
            status = changes.get("status")
            if status is not None and status != order.status and order.approval_pending:
                # §5.1 shape B, observed on orders that still show "new".
                raise shape_b("status",
                              "Order has not been approved, unable to change orders status")
            old_status = order.status
            changed = self._apply_order_changes(order, changes)
            if changed:
                self._bump(order)
            if changes.get("send_shipping_confirmation"):
                self._email(order, "order_update")
            if old_status != "paid" and order.status == "paid" and not order.approval_pending:
                self._pushable(order)
            return 200, order_json.update_response(order, self.settings.update_response)

    def _apply_order_changes(self, order: Order, changes: dict[str, Any]) -> bool:
        changed = False
        if "status" in changes and changes["status"] != order.status:
            order.status = changes["status"]
            changed = True
        legacy = order.legacy_shipment
        for key, target in (("shipping_method", "shipping_method"),
                            ("tracking_number", "tracking_number"),
                            ("ship_date", "ship_date"), ("in_hands_date", "in_hands_date")):
            if key in changes and legacy.get(target) != changes[key]:
                order.legacy_shipment = legacy = {**legacy, target: changes[key]}
                changed = True
        for part in ("shipping_address", "billing_address", "shipping_contact",
                     "billing_contact"):
            if part in changes:
                merged = {**getattr(order, part), **changes[part]}
                if merged != getattr(order, part):
                    setattr(order, part, merged)
                    changed = True
        if "note" in changes:
            order.notes.append({"username": "API", "created_at": fmt_ts(self.clock.now()),
                                "note": changes["note"]})
            changed = True
        return changed

    def api_cancel_order(self, order_id: int, client_ip: str) -> tuple[int, Any]:
        """``PUT|PATCH /orders/:id/cancel`` (§7.6): status canceled, restock, report steps."""
        with self.lock:
            order = self._order(order_id)
            success = []
            if order.status != "canceled":
                order.status = "canceled"
                success.append("Set status to 'Canceled'")
            if not order.restocked:
                self._restock(order)
                success.append("Restock inventory")
            success += ["Updated product statistics",
                        f"Order canceled by API. IP: {client_ip}"]
            self._bump(order)
            return 200, {"success": success, "errors": list(self.settings.cancel_errors)}

    def _restock(self, order: Order) -> None:
        for record_id, quantity in order.stock_taken:
            found = self.records.get(record_id)
            if found is not None and found[1].track:
                found[1].inventory += quantity
        order.restocked = True

    # ----------------------------------------------------------------------------------------
    # Shipments: API (§8)
    # ----------------------------------------------------------------------------------------

    def api_list_shipments(self, order_id: int) -> tuple[int, Any]:
        with self.lock:
            order = self._order(order_id)
            return 200, {"shipments": [order_json.shipment_json(s) for s in order.shipments]}

    def _shipment(self, order: Order, shipment_id: int) -> dict[str, Any]:
        for shipment in order.shipments:
            if shipment["id"] == shipment_id:
                return shipment
        raise not_found()

    def api_show_shipment(self, order_id: int, shipment_id: int) -> tuple[int, Any]:
        with self.lock:
            return 200, order_json.shipment_json(self._shipment(self._order(order_id),
                                                                 shipment_id))

    def api_create_shipment(self, order_id: int, body: Any) -> tuple[int, Any]:
        """``POST /orders/:id/shipments`` (§8.3): 201 with the created shipment."""
        fields = _validate_shipment(body)
        with self.lock:
            order = self._order(order_id)
            if self.settings.shipment_validation == "strict":
                self._check_quantities(order, fields["line_items"])
            shipment = {
                "id": self._shipment_ids.take(),
                "tracking_number": fields.get("tracking_number"),
                "ship_date": fields.get("ship_date"), "note": fields.get("note"),
                "shipping_method": fields.get("shipping_method")
                or order.legacy_shipment["shipping_method"],
                "line_items": fields["line_items"],
            }
            order.shipments.append(shipment)
            self._bump(order)
            if fields.get("send_shipping_confirmation"):
                self._email(order, "shipment", shipment_id=shipment["id"])
            if (self.settings.auto_ship and not order.approval_pending and order.fully_shipped()
                    and order.status not in ("shipped", "completed", "canceled")):
                order.status = "shipped"
            return 201, order_json.shipment_json(shipment)

    def _check_quantities(self, order: Order, items: list[dict[str, int]]) -> None:
        """Strict mode (§8.3): known line of this order, quantity > 0, ≤ unshipped."""
        wanted: dict[int, int] = {}
        for item in items:
            line = order.line(item["id"])
            if line is None:
                raise ApiError(422, {"errors": {"line_items": _msg(
                    "line_items", items, f"line item {item['id']} does not belong to order "
                    f"{order.id}")}})
            if item["quantity"] <= 0:
                raise ApiError(422, {"errors": {"line_items": _msg(
                    "line_items", items, "quantity must be greater than 0")}})
            wanted[item["id"]] = wanted.get(item["id"], 0) + item["quantity"]
        for line_id, quantity in wanted.items():
            line = order.line(line_id)
            assert line is not None
            remaining = line["quantity"] - order.shipped_quantity(line_id)
            if quantity > remaining:
                raise ApiError(422, {"errors": {"line_items": _msg(
                    "line_items", items, f"quantity {quantity} of line item {line_id} is more "
                    f"than the {remaining} not yet shipped")}})

    def api_delete_shipment(self, order_id: int, shipment_id: int) -> tuple[int, Any]:
        """§8.4: returns the deleted shipment with ``line_items: []``."""
        with self.lock:
            order = self._order(order_id)
            shipment = self._shipment(order, shipment_id)
            order.shipments.remove(shipment)
            self._bump(order)
            return 200, {**order_json.shipment_json(shipment), "line_items": []}

    def api_shipping_methods(self) -> tuple[int, Any]:
        with self.lock:
            return 200, {"shipping_methods": list(self.settings.shipping_methods)}

    # ----------------------------------------------------------------------------------------
    # Inventory and products: API (§9)
    # ----------------------------------------------------------------------------------------

    def _product_filter(self, query: Query, errors: ShapeA) -> Callable[[Product], bool]:
        sku = _one(query, "sku")
        internal_id = _one(query, "internal_id")
        name = _one(query, "name")
        categories = {c.lower() for c in _many(query, "categories")}
        vendors = {v.lower() for v in _many(query, "vendors")}
        windows = {n: _time_filter(query, n, errors) for n in (
            "created_at_from", "created_at_to", "updated_at_from", "updated_at_to")}

        def keep(product: Product) -> bool:
            if sku is not None and product.sku != sku:  # exact, case-sensitive (§9.3)
                return False
            if internal_id is not None and product.internal_id != internal_id:
                return False
            if name is not None and name.lower() not in product.name.lower():
                return False
            if categories and not any(str(c["id"]) in categories or c["name"].lower()
                                      in categories for c in product.categories):
                return False
            if vendors and not any(str(v["id"]) in vendors or v["name"].lower() in vendors
                                   for v in product.vendors):
                return False
            return _in_window(product.created_at, windows["created_at_from"],
                              windows["created_at_to"]) and _in_window(
                product.updated_at, windows["updated_at_from"], windows["updated_at_to"])
        return keep

    def api_list_inventories(self, query: Query) -> tuple[int, Any]:
        """``GET /inventories`` (§9.3): store-managed records only, product then record id."""
        errors = ShapeA()
        keep = self._product_filter(query, errors)
        page, per_page = _paging(query, errors)
        errors.raise_if_any()
        offset = (page - 1) * per_page
        with self.lock:
            rows = [(product, record) for product in sorted(self.products.values(),
                                                            key=lambda p: p.id)
                    if self._stocked(product) and keep(product)
                    for record in sorted(product.records, key=lambda r: r.id)]
            body = [self.inventory_row(p, r) for p, r in rows[offset:offset + per_page]]
        return 200, {"inventories": body,
                     "meta": {"total": len(rows), "offset": offset, "limit": per_page}}

    def _product(self, product_id: int) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise not_found()
        return product

    def api_batch_update(self, product_id: int, body: Any) -> tuple[int, Any]:
        """``PUT|PATCH /inventories/:product_id/batch_update`` (§9.4): absolute levels."""
        with self.lock:
            product = self._product(product_id)
            if product.vendor_inventory_enabled:
                raise shape_b("inventories", "Vendor inventory is enabled for this product")
            items = body.get("inventories") if isinstance(body, dict) else None
            errors = ShapeA()
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                errors.add("inventories", items, RULE_ARRAY_OF_HASHES)
                errors.raise_if_any()
            assert isinstance(items, list)
            own = {record.id: record for record in product.records}
            planned: list[tuple[InventoryRecord, dict[str, Any]]] = []
            for item in items:
                record_id = as_int(item.get("id"))
                if record_id is None:
                    errors.add("inventories", items, "id " + RULE_NUMBER)
                    continue
                if record_id not in own:
                    errors.add("inventories", items, f"inventory {record_id} does not belong "
                               f"to product {product_id}")
                    continue
                planned.append((own[record_id], _record_changes(item, "inventories", errors)))
            errors.raise_if_any()
            for record, change in planned:
                for key, value in change.items():
                    setattr(record, key, value)
            return 200, {"inventories": [self.inventory_row(product, record)
                                         for record, _ in planned]}

    def api_product_inventories(self, product_id: int) -> tuple[int, Any]:
        """§9.5 list: ``{"enabled", "inventories"}``; empty for vendor-managed products."""
        with self.lock:
            product = self._product(product_id)
            records = [] if product.vendor_inventory_enabled else [
                r.record() for r in sorted(product.records, key=lambda r: r.id)]
            return 200, {"enabled": product.enable_inventory, "inventories": records}

    def _record(self, product: Product, record_id: int) -> InventoryRecord:
        for record in product.records:
            if record.id == record_id and not product.vendor_inventory_enabled:
                return record
        raise not_found()

    def api_product_inventory(self, product_id: int, record_id: int) -> tuple[int, Any]:
        with self.lock:
            return 200, self._record(self._product(product_id), record_id).record()

    def api_create_product_inventory(self, product_id: int, body: Any) -> tuple[int, Any]:
        """§9.5 create: all of inventory, trigger, track, allow_negative required."""
        with self.lock:
            product = self._product(product_id)
            if product.vendor_inventory_enabled:
                raise shape_b("inventories", "Vendor inventory is enabled for this product")
            data = body.get("inventory") if isinstance(body, dict) else None
            errors = ShapeA()
            if not isinstance(data, dict):
                errors.add("inventory", data, RULE_HASH)
                errors.raise_if_any()
            assert isinstance(data, dict)
            for key in ("inventory", "trigger", "track", "allow_negative"):
                if key not in data:
                    errors.add(f"inventory[{key}]", None, RULE_REQUIRED)
            change = _record_changes(data, "inventory", errors)
            sub_ids = data.get("sub_option_ids", [])
            ids = [as_int(s) for s in sub_ids] if isinstance(sub_ids, list) else [None]
            if any(i is None or product.sub_option(i) is None for i in ids):
                errors.add("inventory[sub_option_ids]", sub_ids,
                           "Must be sub options of this product")
            errors.raise_if_any()
            clean_ids = sorted(i for i in ids if i is not None)
            if any(sorted(r.sub_option_ids) == clean_ids for r in product.records):
                raise shape_b("sub_option_ids", "Inventory for this combination already exists")
            record = InventoryRecord(id=self._record_ids.take(), product_id=product.id,
                                     sub_option_ids=clean_ids,
                                     sub_sku=product.sub_sku_for(clean_ids), inventory=0,
                                     trigger=0, track=True, allow_negative=False)
            for key, value in change.items():
                setattr(record, key, value)
            product.records.append(record)
            self._index_product(product)
            return 201, record.record()

    def api_update_product_inventory(self, product_id: int, record_id: int,
                                     body: Any) -> tuple[int, Any]:
        with self.lock:
            record = self._record(self._product(product_id), record_id)
            data = body.get("inventory") if isinstance(body, dict) else None
            errors = ShapeA()
            if not isinstance(data, dict):
                errors.add("inventory", data, RULE_HASH)
                errors.raise_if_any()
            assert isinstance(data, dict)
            change = _record_changes(data, "inventory", errors)
            errors.raise_if_any()
            for key, value in change.items():
                setattr(record, key, value)
            return 200, record.record()

    def api_delete_product_inventory(self, product_id: int, record_id: int) -> tuple[int, Any]:
        with self.lock:
            product = self._product(product_id)
            record = self._record(product, record_id)
            product.records.remove(record)
            self.records.pop(record.id, None)
            self.variants.pop(product.final_sku(record), None)
            return 200, record.record()

    def api_list_products(self, query: Query) -> tuple[int, Any]:
        """``GET /products`` (§9.7) rows with ``meta``."""
        errors = ShapeA()
        keep = self._product_filter(query, errors)
        page, per_page = _paging(query, errors)
        errors.raise_if_any()
        offset = (page - 1) * per_page
        with self.lock:
            chosen = [p for p in sorted(self.products.values(), key=lambda p: p.id) if keep(p)]
            rows = [{"id": p.id, "name": p.name, "sku": p.sku, "internal_id": p.internal_id,
                     "origin_address_id": None, "new_product": False, "new_expires_at": None,
                     "categories": [dict(c) for c in p.categories],
                     "vendors": [dict(v) for v in p.vendors], "active": True,
                     "created_at": fmt_ts(p.created_at), "updated_at": fmt_ts(p.updated_at)}
                    for p in chosen[offset:offset + per_page]]
        return 200, {"products": rows,
                     "meta": {"total": len(chosen), "offset": offset, "limit": per_page}}

    def api_show_product(self, product_id: int) -> tuple[int, Any]:
        """``GET /products/:id`` (§9.7), including ``id`` (assumption §13 #14)."""
        with self.lock:
            p = self._product(product_id)
            money = order_json.fmt_money
            return 200, {
                "id": p.id, "name": p.name, "sku": p.sku, "sku_separator": p.sku_separator,
                "internal_id": p.internal_id, "price": money(p.price),
                "sale_price": None, "cost": money(p.price / 2),
                "weight": str(p.weight), "length": "12.0", "width": "9.0", "height": "2.0",
                "active": True, "enable_inventory": p.enable_inventory,
                "vendor_inventory_enabled": p.vendor_inventory_enabled,
                "inventory_vendor_id": p.inventory_vendor_id,
                "categories": [dict(c) for c in p.categories],
                "vendors": [dict(v) for v in p.vendors],
                "options": [dict(o) for o in p.options],
                "sub_options": [dict(s) for s in p.sub_options],
                "inventories": [] if p.vendor_inventory_enabled
                else [r.record() for r in p.records],
                "note": None, "created_at": fmt_ts(p.created_at),
                "updated_at": fmt_ts(p.updated_at),
            }

    # ----------------------------------------------------------------------------------------
    # Control operations (not part of Bright Sites)
    # ----------------------------------------------------------------------------------------

    def create_orders(self, count: int = 1, *, status: str = "paid",
                      lines: list[dict[str, Any]] | None = None,
                      customer: dict[str, Any] | None = None,
                      shipping_method: str | None = None, created_at: str | None = None,
                      approval_pending: bool = False) -> list[int]:
        """Place ``count`` storefront orders. Raises ControlError for bad options."""
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 100_000:
            raise ControlError("count must be an integer from 0 to 100000")
        if status not in ORDER_STATUSES:
            raise ControlError(f"status must be one of {', '.join(ORDER_STATUSES)}")
        if shipping_method is not None and not isinstance(shipping_method, str):
            raise ControlError("shipping_method must be a string")
        when = None
        if created_at is not None:
            try:
                when = parse_filter_time(str(created_at))
            except ValueError:
                raise ControlError("created_at must be an ISO 8601 date-time") from None
        created: list[Order] = []
        with self.lock:
            requested = self._line_requests(lines) if lines is not None else None
            for _ in range(count):
                order = self._place_order(status, requested, customer, shipping_method, when,
                                          bool(approval_pending))
                created.append(order)
            for order in created:
                if order.status == "paid" and not order.approval_pending:
                    self._pushable(order)
        return [order.id for order in created]

    def _line_requests(self, lines: Any) -> list[LineRequest]:
        if not isinstance(lines, list) or not lines:
            raise ControlError("lines must be a non-empty list")
        requests = []
        for spec in lines:
            if not isinstance(spec, dict):
                raise ControlError("each line must be an object")
            quantity = as_int(spec.get("quantity", 1))
            if quantity is None or quantity < 1:
                raise ControlError("line quantity must be a positive integer")
            if spec.get("gift_certificate"):
                gift = next(p for p in self.products.values() if p.gift_certificate)
                try:
                    amount = Decimal(str(spec.get("amount", "25")))
                except InvalidOperation:
                    raise ControlError("gift certificate amount must be a number") from None
                requests.append(LineRequest(gift, None, quantity, amount))
            elif "final_sku" in spec:
                found = self.variants.get(str(spec["final_sku"]))
                if found is None:
                    raise ControlError(f"no variant has final_sku {spec['final_sku']!r}")
                requests.append(LineRequest(found[0], found[1], quantity))
            elif "product_id" in spec:
                product = self.products.get(as_int(spec["product_id"]) or -1)
                if product is None:
                    raise ControlError(f"no product {spec['product_id']!r}")
                record = product.records[0] if product.records else None
                requests.append(LineRequest(product, record, quantity))
            else:
                raise ControlError("a line needs final_sku, product_id or gift_certificate")
        return requests

    def _random_lines(self) -> list[LineRequest]:
        sellable = [p for p in self.products.values() if not p.gift_certificate and p.records]
        requests = []
        for product in self.rng.sample(sellable, min(len(sellable), self.rng.randint(1, 3))):
            requests.append(LineRequest(product, self.rng.choice(product.records),
                                        self.rng.choice((1, 1, 1, 2, 2, 3, 5, 12))))
        if self.rng.random() < self.settings.gift_rate:
            gift = next(p for p in self.products.values() if p.gift_certificate)
            requests.append(LineRequest(gift, None, 1))
        return requests

    def _customer(self, override: dict[str, Any] | None) -> Customer:
        base = self.rng.choice(self.customers)
        if not override:
            return base
        if not isinstance(override, dict):
            raise ControlError("customer must be an object")
        contact = {**base.contact, **{k: str(v) for k, v in override.items()
                                      if k in CONTACT_KEYS}}
        address = {**base.address, **{k: str(v) for k, v in
                                      (override.get("address") or {}).items()
                                      if k in ADDRESS_KEYS}}
        guest = bool(override.get("guest", base.customer_id is None))
        return Customer(
            customer_id=None if guest else (base.customer_id or 4_200_000),
            username="Guest" if guest else base.username, contact=contact, address=address,
            billing_contact=dict(contact), billing_address=dict(address),
            tax_rate=base.tax_rate)

    def _place_order(self, status: str, requested: list[LineRequest] | None,
                     customer: dict[str, Any] | None, shipping_method: str | None,
                     when: datetime | None, approval_pending: bool) -> Order:
        lines = requested or self._random_lines()
        method = shipping_method or self.rng.choice(
            [m for m in self.settings.shipping_methods if m != "No Shipping Method"]
            or ["UPS Ground"])
        order = order_json.build_order(
            self.rng, order_id=self._order_ids.take(),
            line_ids=[self._line_ids.take() for _ in lines],
            payment_id=self._payment_ids.take(), now=when or self.clock.now(), status=status,
            approval_pending=approval_pending, customer=self._customer(customer),
            shipping_method=method, lines=lines, line_extras=self.settings.line_extras)
        for request in lines:
            # §12 #22: decrement tracked store inventory, respecting allow_negative.
            record = request.record
            if record is None or not record.track or not self._stocked(request.product):
                continue
            taken = request.quantity if record.allow_negative else min(
                request.quantity, max(record.inventory, 0))
            record.inventory -= taken
            order.stock_taken.append((record.id, taken))
        self.orders[order.id] = order
        self.order_ids.append(order.id)
        for line in order.lines:
            self.line_orders[line["id"]] = order.id
        return order

    def control_update_order(self, order_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """An admin edit (bumps ``updated_at``): status, approval_pending, note, contacts..."""
        if not isinstance(fields, dict):
            raise ControlError("body must be an object")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise ControlError(f"no order {order_id}")
            approval = fields.get("approval_pending", order.approval_pending)
            if not isinstance(approval, bool):
                raise ControlError("approval_pending must be true or false")
            admin = {k: v for k, v in fields.items() if k != "approval_pending"}
            unknown = set(admin) - set(ADMIN_ORDER_FIELDS)
            if unknown:
                raise ControlError(f"unknown order field(s): {', '.join(sorted(unknown))}")
            try:
                changes = _validate_order_update({"order": admin})
            except ApiError as exc:
                raise ControlError(str(exc.body)) from None
            was_pushable = order.status == "paid" and not order.approval_pending
            order.approval_pending = approval
            self._apply_order_changes(order, changes)
            self._bump(order)
            if order.status == "paid" and not order.approval_pending and not was_pushable:
                self._pushable(order)
            return self.raw_order(order_id)

    def raw_order(self, order_id: int) -> dict[str, Any]:
        """The stored order with its hidden fields, for assertions without metering."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise ControlError(f"no order {order_id}")
            body = order_json.show_order(order, self.site)
            body["approval_pending"] = order.approval_pending
            body["stock_taken"] = [list(item) for item in order.stock_taken]
            return body

    def show_order_json(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return order_json.show_order(self._order(order_id), self.site)

    def delete_orders(self) -> None:
        with self.lock:
            self.orders.clear()
            self.order_ids.clear()
            self.line_orders.clear()

    def _email(self, order: Order, source: str, **extra: Any) -> None:
        self.emails.append({"kind": "shipping_confirmation", "source": source,
                            "order_id": order.id, "to": order.shipping_contact.get("email"),
                            "at": fmt_ts(self.clock.now()), **extra})

    def _pushable(self, order: Order) -> None:
        if self.on_pushable is not None:
            self.on_pushable(self, order)

    def raw_inventories(self) -> list[dict[str, Any]]:
        """Every record (vendor-managed ones too) with its product flags."""
        with self.lock:
            return [{**self.inventory_row(product, record),
                     "vendor_managed": product.vendor_inventory_enabled,
                     "enable_inventory": product.enable_inventory}
                    for product in sorted(self.products.values(), key=lambda p: p.id)
                    for record in sorted(product.records, key=lambda r: r.id)]

    def set_inventory(self, levels: Any) -> int:
        """``{final_sku: level}`` or ``[{final_sku, inventory?, track?, allow_negative?}]``."""
        items = ([{"final_sku": k, "inventory": v} for k, v in levels.items()]
                 if isinstance(levels, dict) else levels)
        if not isinstance(items, list):
            raise ControlError("send {final_sku: level} or a list of objects")
        with self.lock:
            planned = []
            for item in items:
                found = self.variants.get(str(item.get("final_sku"))) if isinstance(
                    item, dict) else None
                if found is None or found[1] is None:
                    raise ControlError(f"unknown final_sku in {item!r}")
                errors = ShapeA()
                change = _record_changes(item, "inventory", errors)
                if errors.errors:
                    raise ControlError(str(errors.errors))
                planned.append((found[1], change))
            for record, change in planned:
                for key, value in change.items():
                    setattr(record, key, value)
        return len(planned)

    def state(self) -> dict[str, Any]:
        with self.lock:
            by_status: dict[str, int] = {}
            for order in self.orders.values():
                by_status[order.status] = by_status.get(order.status, 0) + 1
            return {
                "subdomain": self.subdomain, "site_id": self.site.site_id,
                "orders": {"total": len(self.orders), "by_status": by_status,
                           "approval_pending": sum(o.approval_pending
                                                   for o in self.orders.values())},
                "shipments": sum(len(o.shipments) for o in self.orders.values()),
                "emails": len(self.emails), "products": len(self.products),
                "inventory_records": len(self.records), "settings": self.settings.describe(),
                "clock": self.clock.describe(),
            }


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


_msg = invalid_parameter


def _one(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _many(query: Query, name: str) -> list[str]:
    """``name=a`` or ``name[]=a&name[]=b`` (§3 array encoding assumption)."""
    return list(query.get(name, [])) + list(query.get(f"{name}[]", []))


def _paging(query: Query, errors: ShapeA) -> tuple[int, int]:
    """§4: page from 1 (< 1 → 1), per_page default 50, clamped to 500."""
    page, per_page = 1, DEFAULT_PER_PAGE
    raw_page, raw_per_page = _one(query, "page"), _one(query, "per_page")
    if raw_page not in (None, ""):
        value = as_int(raw_page)
        if value is None:
            errors.add("page", raw_page, RULE_NUMBER)
        else:
            page = max(value, 1)
    if raw_per_page not in (None, ""):
        value = as_int(raw_per_page)
        if value is None:
            errors.add("per_page", raw_per_page, RULE_NUMBER)
        else:
            per_page = min(max(value, 1), MAX_PER_PAGE)
    return page, per_page


def _time_filter(query: Query, name: str, errors: ShapeA) -> datetime | None:
    raw = _one(query, name)
    if raw in (None, ""):
        return None
    try:
        return parse_filter_time(raw)
    except ValueError:
        errors.add(name, raw, "Invalid date format. Valid format: ISO 8601")
        return None


def _in_window(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)


def _validate_order_update(body: Any) -> dict[str, Any]:
    """§7.5 keys → clean values. Raises ApiError 422 shape A listing every bad field."""
    errors = ShapeA()
    order = body.get("order") if isinstance(body, dict) else None
    if not isinstance(order, dict):
        errors.add("order", order, RULE_HASH)
        errors.raise_if_any()
    assert isinstance(order, dict)
    changes: dict[str, Any] = {}
    if "status" in order:
        if not isinstance(order["status"], str) or order["status"] not in ORDER_STATUSES:
            errors.add("status", order["status"], RULE_STATUS)
        else:
            changes["status"] = order["status"]
    for key in ("shipping_method", "tracking_number", "note"):
        if key in order:
            if not isinstance(order[key], str):
                errors.add(key, order[key], RULE_STRING)
            else:
                changes[key] = order[key]
    for key in ("ship_date", "in_hands_date"):
        if key in order:
            parsed = parse_order_date(order[key])
            if parsed is None:
                errors.add(key, order[key], RULE_ORDER_DATE)
            else:
                changes[key] = parsed
    if "send_shipping_confirmation" in order:
        flag = as_bool(order["send_shipping_confirmation"])
        if flag is None:
            errors.add("send_shipping_confirmation", order["send_shipping_confirmation"],
                       RULE_BOOLEAN)
        else:
            changes["send_shipping_confirmation"] = flag
    for part, keys in (("shipping_address", ADDRESS_KEYS), ("billing_address", ADDRESS_KEYS),
                       ("shipping_contact", CONTACT_KEYS), ("billing_contact", CONTACT_KEYS)):
        if part not in order:
            continue
        value = order[part]
        if not isinstance(value, dict):
            errors.add(part, value, RULE_HASH)
            continue
        clean = {}
        for key in keys:
            if key in value:
                if not isinstance(value[key], str):
                    errors.add(f"{part}[{key}]", value[key], RULE_STRING)
                else:
                    clean[key] = value[key]
        changes[part] = clean
    errors.raise_if_any()
    return changes


def _validate_shipment(body: Any) -> dict[str, Any]:
    """§8.3 structure (both modes). Raises ApiError 422 shape A."""
    errors = ShapeA()
    shipment = body.get("shipment") if isinstance(body, dict) else None
    if not isinstance(shipment, dict):
        errors.add("shipment", shipment, RULE_HASH)
        errors.raise_if_any()
    assert isinstance(shipment, dict)
    fields: dict[str, Any] = {}
    for key in ("tracking_number", "shipping_method", "note"):
        value = shipment.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.add(key, value, RULE_STRING)
        elif key == "note" and len(value) > 255:
            errors.add(key, value, f"{RULE_STRING} (max 255 characters)")
        else:
            fields[key] = value
    if shipment.get("ship_date") is not None:
        parsed = parse_ship_date(shipment["ship_date"])
        if parsed is None:
            errors.add("ship_date", shipment["ship_date"], RULE_SHIP_DATE)
        else:
            fields["ship_date"] = parsed
    if "send_shipping_confirmation" in shipment:
        flag = as_bool(shipment["send_shipping_confirmation"])
        if flag is None:
            errors.add("send_shipping_confirmation", shipment["send_shipping_confirmation"],
                       RULE_BOOLEAN)
        else:
            fields["send_shipping_confirmation"] = flag
    items = shipment.get("line_items")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        errors.add("line_items", items, RULE_ARRAY_OF_HASHES)
    else:
        clean = []
        for item in items:
            line_id, quantity = as_int(item.get("id")), as_int(item.get("quantity"))
            if line_id is None:
                errors.add("line_items", items, "id " + RULE_NUMBER)
            elif quantity is None:
                errors.add("line_items", items, "quantity " + RULE_NUMBER)
            else:
                clean.append({"id": line_id, "quantity": quantity})
        fields["line_items"] = clean
    errors.raise_if_any()
    return fields


def _record_changes(item: dict[str, Any], name: str, errors: ShapeA) -> dict[str, Any]:
    """inventory/trigger (numbers), track/allow_negative (booleans) of one record update."""
    change: dict[str, Any] = {}
    for key in ("inventory", "trigger"):
        if key in item:
            value = as_int(item[key])
            if value is None:
                errors.add(f"{name}[{key}]", item[key], RULE_NUMBER)
            else:
                change[key] = value
    for key in ("track", "allow_negative"):
        if key in item:
            flag = as_bool(item[key])
            if flag is None:
                errors.add(f"{name}[{key}]", item[key], RULE_BOOLEAN)
            else:
                change[key] = flag
    return change

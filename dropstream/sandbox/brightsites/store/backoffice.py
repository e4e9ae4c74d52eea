"""What happens to a store outside its API: shoppers place orders, staff edit them and set stock,
and the control API reads the raw state. Not part of Bright Sites; never metered.

``Store`` offers each public function here as a method (``store.create_orders(…)``), for the
control API, the command line, the push runtime and tests. Raises ControlError for a bad request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from dropstream.sandbox.brightsites import orders as order_json
from dropstream.sandbox.brightsites.catalog import Customer
from dropstream.sandbox.brightsites.orders import LineRequest, Order
from dropstream.sandbox.brightsites.store.api_orders import apply_order_changes
from dropstream.sandbox.brightsites.store.settings import ControlError
from dropstream.sandbox.brightsites.store.validation import (
    ADDRESS_KEYS,
    CONTACT_KEYS,
    record_changes,
    validate_order_update,
)
from dropstream.sandbox.brightsites.wire import (
    ORDER_STATUSES,
    ApiError,
    ShapeA,
    as_int,
    parse_filter_time,
)

if TYPE_CHECKING:
    from dropstream.sandbox.brightsites.store.state import Store

ADMIN_ORDER_FIELDS = ("status", "shipping_method", "tracking_number", "ship_date", "in_hands_date",
                      "note", "send_shipping_confirmation", "shipping_address", "billing_address",
                      "shipping_contact", "billing_contact")


def create_orders(store: Store, count: int = 1, *, status: str = "paid",
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
    with store.lock:
        requested = _line_requests(store, lines) if lines is not None else None
        for _ in range(count):
            order = _place_order(store, status, requested, customer, shipping_method, when,
                                 bool(approval_pending))
            created.append(order)
        for order in created:
            if order.status == "paid" and not order.approval_pending:
                store.notify_pushable(order)
    return [order.id for order in created]


def _line_requests(store: Store, lines: Any) -> list[LineRequest]:
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
            gift = next(p for p in store.products.values() if p.gift_certificate)
            try:
                amount = Decimal(str(spec.get("amount", "25")))
            except InvalidOperation:
                raise ControlError("gift certificate amount must be a number") from None
            requests.append(LineRequest(gift, None, quantity, amount))
        elif "final_sku" in spec:
            found = store.variants.get(str(spec["final_sku"]))
            if found is None:
                raise ControlError(f"no variant has final_sku {spec['final_sku']!r}")
            requests.append(LineRequest(found[0], found[1], quantity))
        elif "product_id" in spec:
            product = store.products.get(as_int(spec["product_id"]) or -1)
            if product is None:
                raise ControlError(f"no product {spec['product_id']!r}")
            record = product.records[0] if product.records else None
            requests.append(LineRequest(product, record, quantity))
        else:
            raise ControlError("a line needs final_sku, product_id or gift_certificate")
    return requests


def _random_lines(store: Store) -> list[LineRequest]:
    sellable = [p for p in store.products.values() if not p.gift_certificate and p.records]
    requests = []
    for product in store.rng.sample(sellable, min(len(sellable), store.rng.randint(1, 3))):
        requests.append(LineRequest(product, store.rng.choice(product.records),
                                    store.rng.choice((1, 1, 1, 2, 2, 3, 5, 12))))
    if store.rng.random() < store.settings.gift_rate:
        gift = next(p for p in store.products.values() if p.gift_certificate)
        requests.append(LineRequest(gift, None, 1))
    return requests


def _customer(store: Store, override: dict[str, Any] | None) -> Customer:
    base = store.rng.choice(store.customers)
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


def _place_order(store: Store, status: str, requested: list[LineRequest] | None,
                 customer: dict[str, Any] | None, shipping_method: str | None,
                 when: datetime | None, approval_pending: bool) -> Order:
    lines = requested or _random_lines(store)
    method = shipping_method or store.rng.choice(
        [m for m in store.settings.shipping_methods if m != "No Shipping Method"]
        or ["UPS Ground"])
    order = order_json.build_order(
        store.rng, order_id=store.ids.orders.take(),
        line_ids=[store.ids.lines.take() for _ in lines],
        payment_id=store.ids.payments.take(), now=when or store.clock.now(), status=status,
        approval_pending=approval_pending, customer=_customer(store, customer),
        shipping_method=method, lines=lines, line_extras=store.settings.line_extras)
    for request in lines:
        # §12 #22: decrement tracked store inventory, respecting allow_negative.
        record = request.record
        if record is None or not record.track or not store.stocked(request.product):
            continue
        taken = request.quantity if record.allow_negative else min(
            request.quantity, max(record.inventory, 0))
        record.inventory -= taken
        order.stock_taken.append((record.id, taken))
    store.orders[order.id] = order
    store.order_ids.append(order.id)
    for line in order.lines:
        store.line_orders[line["id"]] = order.id
    return order


def control_update_order(store: Store, order_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """An admin edit (bumps ``updated_at``): status, approval_pending, note, contacts..."""
    if not isinstance(fields, dict):
        raise ControlError("body must be an object")
    with store.lock:
        order = store.orders.get(order_id)
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
            changes = validate_order_update({"order": admin})
        except ApiError as exc:
            raise ControlError(str(exc.body)) from None
        was_pushable = order.status == "paid" and not order.approval_pending
        order.approval_pending = approval
        apply_order_changes(store, order, changes)
        store.touch(order)
        if order.status == "paid" and not order.approval_pending and not was_pushable:
            store.notify_pushable(order)
        return raw_order(store, order_id)


def raw_order(store: Store, order_id: int) -> dict[str, Any]:
    """The stored order with its hidden fields, for assertions without metering."""
    with store.lock:
        order = store.orders.get(order_id)
        if order is None:
            raise ControlError(f"no order {order_id}")
        body = order_json.show_order(order, store.site)
        body["approval_pending"] = order.approval_pending
        body["stock_taken"] = [list(item) for item in order.stock_taken]
        return body


def show_order_json(store: Store, order_id: int) -> dict[str, Any]:
    """The order as ``GET /orders/:id`` shows it, without metering; ApiError 404 if absent."""
    with store.lock:
        return order_json.show_order(store.order_or_404(order_id), store.site)


def delete_orders(store: Store) -> None:
    """Forget every order (products and stock stay as they are)."""
    with store.lock:
        store.orders.clear()
        store.order_ids.clear()
        store.line_orders.clear()


def raw_inventories(store: Store) -> list[dict[str, Any]]:
    """Every record (vendor-managed ones too) with its product flags."""
    with store.lock:
        return [{**store.inventory_row(product, record),
                 "vendor_managed": product.vendor_inventory_enabled,
                 "enable_inventory": product.enable_inventory}
                for product in sorted(store.products.values(), key=lambda p: p.id)
                for record in sorted(product.records, key=lambda r: r.id)]


def set_inventory(store: Store, levels: Any) -> int:
    """``{final_sku: level}`` or ``[{final_sku, inventory?, track?, allow_negative?}]``."""
    items = ([{"final_sku": k, "inventory": v} for k, v in levels.items()]
             if isinstance(levels, dict) else levels)
    if not isinstance(items, list):
        raise ControlError("send {final_sku: level} or a list of objects")
    with store.lock:
        planned = []
        for item in items:
            found = store.variants.get(str(item.get("final_sku"))) if isinstance(
                item, dict) else None
            if found is None or found[1] is None:
                raise ControlError(f"unknown final_sku in {item!r}")
            errors = ShapeA()
            change = record_changes(item, "inventory", errors)
            if errors.errors:
                raise ControlError(str(errors.errors))
            planned.append((found[1], change))
        for record, change in planned:
            for key, value in change.items():
                setattr(record, key, value)
    return len(planned)


def state(store: Store) -> dict[str, Any]:
    """Counts of what the store holds, its settings and its clock, for the control API."""
    with store.lock:
        by_status: dict[str, int] = {}
        for order in store.orders.values():
            by_status[order.status] = by_status.get(order.status, 0) + 1
        return {
            "subdomain": store.subdomain, "site_id": store.site.site_id,
            "orders": {"total": len(store.orders), "by_status": by_status,
                       "approval_pending": sum(o.approval_pending
                                               for o in store.orders.values())},
            "shipments": sum(len(o.shipments) for o in store.orders.values()),
            "emails": len(store.emails), "products": len(store.products),
            "inventory_records": len(store.records), "settings": store.settings.describe(),
            "clock": store.clock.describe(),
        }

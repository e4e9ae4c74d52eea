"""Order rules: ``order_create`` (spec §4), ``order_cancel`` (§6), ``order_update_holds`` (§6).

* No idempotency key exists (§4.3): a second create with the same ``partner_order_id`` or
  ``order_number`` makes a second order unless ``settings.duplicate_orders == "reject"``.
* Unknown SKU (§13 #5): rejected, or accepted and backordered (``settings.unknown_sku``).
* US addresses are validated (§4.2, §13 #5): a failure puts an ``address_hold`` on the order
  unless ``ignore_address_validation_errors`` or ``skip_address_validation`` is set.
* Cancel (§6, §13 #13): works on unshipped orders; once picking started or something
  shipped it follows ``settings.cancel_started`` (default: refused unless ``force``). It sets
  ``fulfillment_status`` to ``settings.canceled_status``, releases allocations, keeps labels,
  and fires Order Canceled (§11.4).
"""

from __future__ import annotations

import re
from typing import Any

from dropstream.sandbox.shiphero import payloads, stock
from dropstream.sandbox.shiphero.errors import (
    CODE_INVALID,
    CODE_NOT_FOUND,
    CODE_STATE,
    ApiError,
)
from dropstream.sandbox.shiphero.model import Account, HistoryEntry, LineItem, Order
from dropstream.sandbox.shiphero.state import Event, SimState

HOLD_NAMES = ("payment_hold", "operator_hold", "fraud_hold", "address_hold",
              "shipping_method_hold", "client_hold")
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_ORDER_FIELDS = ("order_number", "partner_order_id", "shop_name", "email", "currency",
                 "total_tax", "total_discounts", "subtotal", "total_price", "packing_note",
                 "gift_note", "order_date", "required_ship_date", "hold_until_date")
_LINE_EXTRAS = ("custom_options", "custom_barcode", "eligible_for_return", "customs_value",
                "quantity_pending_fulfillment")


def create_order(state: SimState, scope: Account, data: dict[str, Any]) -> Order:
    """Validate the CreateOrderInput ``data`` (already coerced by GraphQL) and store the order,
    allocated. Raises ApiError."""
    _check_duplicates(state, scope, data)
    now = state.clock.now()
    order = Order(legacy_id=0, account=scope, fulfillment_status="pending", order_date=None,
                  created_at=now, updated_at=now,
                  shipping_address=dict(data["shipping_address"]),
                  **{name: data.get(name) for name in _ORDER_FIELDS if name != "order_date"})
    order.order_date = data.get("order_date") or now
    order.fulfillment_status = data.get("fulfillment_status") or "pending"
    order.billing_address = dict(data["billing_address"]) if data.get("billing_address") else None
    order.shipping_lines = dict(data["shipping_lines"]) if data.get("shipping_lines") else None
    order.holds = {name: bool((data.get("holds") or {}).get(name)) for name in HOLD_NAMES}
    order.tags = [t for t in (data.get("tags") or []) if t is not None]
    order.allow_partial = bool(data.get("allow_partial"))
    order.allow_split = bool(data.get("allow_split"))
    known = {*_ORDER_FIELDS, "shipping_address", "billing_address", "shipping_lines", "holds",
             "tags", "allow_partial", "allow_split", "line_items", "fulfillment_status",
             "customer_account_id"}
    order.extras = {k: v for k, v in data.items() if k not in known}
    lines = [_line(state, scope, order, raw, now)
             for raw in (data.get("line_items") or []) if raw is not None]
    if _address_fails(order.shipping_address) and state.settings.address_validation and not (
            data.get("ignore_address_validation_errors") or data.get("skip_address_validation")):
        order.holds["address_hold"] = True
    order.legacy_id = state.ids.legacy("Order")
    for line in lines:
        line.legacy_id = state.ids.legacy("LineItem")
    order.line_items = lines
    order.order_history.append(HistoryEntry(now, "Order created via API"))
    scope.orders.append(order)
    stock.allocate_order(state, order)
    return order


def _check_duplicates(state: SimState, scope: Account, data: dict[str, Any]) -> None:
    if state.settings.duplicate_orders != "reject":
        return
    for key in ("partner_order_id", "order_number"):
        value = data.get(key)
        if value and any(getattr(o, key) == value for o in scope.orders):
            raise ApiError(f"An order with {key} {value!r} already exists", CODE_INVALID)


def _line(state: SimState, scope: Account, order: Order, raw: dict[str, Any],
          now: Any) -> LineItem:
    sku = raw["sku"]
    if raw["quantity"] < 1:
        raise ApiError(f"Line item {raw['partner_line_item_id']!r}: quantity must be at least 1")
    product = scope.products.get(sku)
    if product is None and state.settings.unknown_sku == "reject":
        raise ApiError(f"The SKU {sku!r} does not exist in this account", CODE_NOT_FOUND)
    line = LineItem(legacy_id=0, order=order, sku=sku,
                    partner_line_item_id=raw["partner_line_item_id"], quantity=raw["quantity"],
                    price=raw["price"], product=product, created_at=now, updated_at=now,
                    product_name=raw.get("product_name") or (product.name if product else None),
                    option_title=raw.get("option_title"), barcode=raw.get("barcode"),
                    extras={k: raw[k] for k in _LINE_EXTRAS if k in raw})
    if raw.get("warehouse_id"):
        try:
            line.warehouse = state.warehouse(scope, raw["warehouse_id"])
        except KeyError:
            raise ApiError(f"Warehouse {raw['warehouse_id']!r} not found",
                           CODE_NOT_FOUND) from None
        line.pinned = True
    return line


def _address_fails(address: dict[str, Any]) -> bool:
    """The simulator's US address check: street, city, a 2-letter state code, a ZIP code."""
    country = (address.get("country_code") or address.get("country") or "").strip().upper()
    if country not in ("US", "USA", "UNITED STATES"):
        return False
    state_code = (address.get("state_code") or "").strip()
    return not ((address.get("address1") or "").strip() and (address.get("city") or "").strip()
                and re.fullmatch(r"[A-Za-z]{2}", state_code)
                and _US_ZIP.match((address.get("zip") or "").strip()))


def find_order(state: SimState, scope: Account, ref: str) -> Order:
    try:
        return state.order(ref, scope)
    except KeyError:
        raise ApiError(f"Order {ref!r} not found", CODE_NOT_FOUND) from None


def cancel_order(state: SimState, order: Order, *, reason: str | None, force: bool,
                 by_name: str = "Public API") -> Order:
    """Cancel per the rules above. Raises ApiError."""
    if order.canceled:
        raise ApiError("The order is already canceled", CODE_STATE)
    if order.line_items and all(line.quantity_shipped >= line.quantity
                                for line in order.line_items):
        raise ApiError("The order is fulfilled and cannot be canceled", CODE_STATE)
    started = order.picked or bool(order.shipments)
    mode = state.settings.cancel_started
    if started and (mode == "refuse" or (mode == "refuse_unless_force" and not force)):
        what = "has shipments" if order.shipments else "is being picked"
        hint = "" if mode == "refuse" else "; use force to cancel anyway"
        raise ApiError(f"The order {what} and cannot be canceled{hint}", CODE_STATE)
    now = state.clock.now()
    order.canceled = True  # first: released units must not go straight back to this order
    stock.release_order(state, order)
    order.canceled_at = now
    order.cancel_reason = reason
    order.fulfillment_status = state.settings.canceled_status
    order.updated_at = now
    order.order_history.append(HistoryEntry(now, f"Order canceled: {reason or 'no reason'}"))
    state.emit(Event("Order Canceled", order.account, order.shop_name,
                     [payloads.order_canceled(order, by_name, state.settings)]))
    return order


def update_holds(state: SimState, order: Order, data: dict[str, Any]) -> Order:
    for name in HOLD_NAMES:
        if data.get(name) is not None:
            order.holds[name] = bool(data[name])
    order.updated_at = state.clock.now()
    order.order_history.append(HistoryEntry(order.updated_at, "Holds updated"))
    return order

"""Shipment routes of the API (specs/brightsites-api.md §8) and the shipping methods.

Each route function takes the store first and returns ``(status, body)`` or raises ApiError with
the error answer; it reads and changes the store under ``store.lock``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dropstream.sandbox.brightsites import orders as order_json
from dropstream.sandbox.brightsites.orders import Order
from dropstream.sandbox.brightsites.store.validation import validate_shipment
from dropstream.sandbox.brightsites.wire import ApiError, invalid_parameter

if TYPE_CHECKING:
    from dropstream.sandbox.brightsites.store.state import Store


def list_shipments(store: Store, order_id: int) -> tuple[int, Any]:
    """``GET /orders/:id/shipments`` (§8.2)."""
    with store.lock:
        order = store.order_or_404(order_id)
        return 200, {"shipments": [order_json.shipment_json(s) for s in order.shipments]}


def show_shipment(store: Store, order_id: int, shipment_id: int) -> tuple[int, Any]:
    """``GET /orders/:id/shipments/:id`` (§8.2)."""
    with store.lock:
        order = store.order_or_404(order_id)
        return 200, order_json.shipment_json(store.shipment_or_404(order, shipment_id))


def create_shipment(store: Store, order_id: int, body: Any) -> tuple[int, Any]:
    """``POST /orders/:id/shipments`` (§8.3): 201 with the created shipment."""
    fields = validate_shipment(body)
    with store.lock:
        order = store.order_or_404(order_id)
        if store.settings.shipment_validation == "strict":
            check_quantities(order, fields["line_items"])
        shipment = {
            "id": store.ids.shipments.take(),
            "tracking_number": fields.get("tracking_number"),
            "ship_date": fields.get("ship_date"), "note": fields.get("note"),
            "shipping_method": fields.get("shipping_method")
            or order.legacy_shipment["shipping_method"],
            "line_items": fields["line_items"],
        }
        order.shipments.append(shipment)
        store.touch(order)
        if fields.get("send_shipping_confirmation"):
            store.record_email(order, "shipment", shipment_id=shipment["id"])
        if (store.settings.auto_ship and not order.approval_pending and order.fully_shipped()
                and order.status not in ("shipped", "completed", "canceled")):
            order.status = "shipped"
        return 201, order_json.shipment_json(shipment)


def check_quantities(order: Order, items: list[dict[str, int]]) -> None:
    """Strict mode (§8.3): known line of this order, quantity > 0, ≤ unshipped."""
    wanted: dict[int, int] = {}
    for item in items:
        line = order.line(item["id"])
        if line is None:
            raise ApiError(422, {"errors": {"line_items": invalid_parameter(
                "line_items", items, f"line item {item['id']} does not belong to order "
                f"{order.id}")}})
        if item["quantity"] <= 0:
            raise ApiError(422, {"errors": {"line_items": invalid_parameter(
                "line_items", items, "quantity must be greater than 0")}})
        wanted[item["id"]] = wanted.get(item["id"], 0) + item["quantity"]
    for line_id, quantity in wanted.items():
        line = order.line(line_id)
        assert line is not None
        remaining = line["quantity"] - order.shipped_quantity(line_id)
        if quantity > remaining:
            raise ApiError(422, {"errors": {"line_items": invalid_parameter(
                "line_items", items, f"quantity {quantity} of line item {line_id} is more "
                f"than the {remaining} not yet shipped")}})


def delete_shipment(store: Store, order_id: int, shipment_id: int) -> tuple[int, Any]:
    """§8.4: returns the deleted shipment with ``line_items: []``."""
    with store.lock:
        order = store.order_or_404(order_id)
        shipment = store.shipment_or_404(order, shipment_id)
        order.shipments.remove(shipment)
        store.touch(order)
        return 200, {**order_json.shipment_json(shipment), "line_items": []}


def shipping_methods(store: Store) -> tuple[int, Any]:
    """``GET /shipping_methods`` (§8.5)."""
    with store.lock:
        return 200, {"shipping_methods": list(store.settings.shipping_methods)}

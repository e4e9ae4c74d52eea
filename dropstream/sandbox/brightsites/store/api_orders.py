"""Order routes of the API (specs/brightsites-api.md §7): list, show, line items, update, cancel.

Each route function takes the store first and returns ``(status, body)`` or raises ApiError with
the error answer; it reads and changes the store under ``store.lock``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dropstream.sandbox.brightsites import orders as order_json
from dropstream.sandbox.brightsites.orders import Order
from dropstream.sandbox.brightsites.store.validation import (
    Query,
    many,
    one,
    page_meta,
    paging,
    time_filter,
    validate_order_update,
)
from dropstream.sandbox.brightsites.wire import (
    ORDER_STATUSES,
    RULE_STATUS,
    ShapeA,
    fmt_ts,
    not_found,
    shape_b,
)

if TYPE_CHECKING:
    from dropstream.sandbox.brightsites.store.state import Store


def list_orders(store: Store, query: Query) -> tuple[int, Any]:
    """``GET /orders`` (§7.2): newest first, filters, paging (§4)."""
    errors = ShapeA()
    status = one(query, "status")
    if status is not None and status not in ORDER_STATUSES:
        errors.add("status", status, RULE_STATUS)
    customers = {c.strip().lower() for c in many(query, "customer") if c.strip()}
    windows = {name: time_filter(query, name, errors) for name in (
        "created_at_from", "created_at_to", "updated_at_from", "updated_at_to")}
    page, per_page = paging(query, errors)
    errors.raise_if_any()
    created_from, created_to = windows["created_at_from"], windows["created_at_to"]
    updated_from, updated_to = windows["updated_at_from"], windows["updated_at_to"]
    with store.lock:
        matches: list[Order] = []
        for order_id in reversed(store.order_ids):
            order = store.orders[order_id]
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
    return 200, {"orders": rows, "meta": page_meta(len(matches), offset, per_page)}


def show_order(store: Store, order_id: int) -> tuple[int, Any]:
    """``GET /orders/:id`` (§7.3)."""
    with store.lock:
        return 200, order_json.show_order(store.order_or_404(order_id), store.site)


def line_items(store: Store, order_id: int) -> tuple[int, Any]:
    """``GET /orders/:id/line_items`` (§7.4)."""
    with store.lock:
        return 200, {"line_items": order_json.show_order(store.order_or_404(order_id),
                                                         store.site)["line_items"]}


def line_item(store: Store, order_id: int, line_id: int) -> tuple[int, Any]:
    """``GET /orders/:id/line_items/:id`` (§7.4); 404 for a line of another order."""
    with store.lock:
        order = store.order_or_404(order_id)
        if order.line(line_id) is None:
            raise not_found()
        lines = order_json.show_order(order, store.site)["line_items"]
        return 200, next(line for line in lines if line["id"] == line_id)


def update_order(store: Store, order_id: int, body: Any) -> tuple[int, Any]:
    """``PUT|PATCH /orders/:id`` (§7.5). Validation per §5.5; approval hold → shape B."""
    changes = validate_order_update(body)
    with store.lock:
        order = store.order_or_404(order_id)
        status = changes.get("status")
        if status is not None and status != order.status and order.approval_pending:
            # §5.1 shape B, observed on orders that still show "new".
            raise shape_b("status",
                          "Order has not been approved, unable to change orders status")
        old_status = order.status
        changed = apply_order_changes(store, order, changes)
        if changed:
            store.touch(order)
        if changes.get("send_shipping_confirmation"):
            store.record_email(order, "order_update")
        if old_status != "paid" and order.status == "paid" and not order.approval_pending:
            store.notify_pushable(order)
        return 200, order_json.update_response(order, store.settings.update_response)


def apply_order_changes(store: Store, order: Order, changes: dict[str, Any]) -> bool:
    """Apply validated ``changes`` (``validate_order_update``) to ``order``; returns whether
    anything changed. A note is always a change."""
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
        order.notes.append({"username": "API", "created_at": fmt_ts(store.clock.now()),
                            "note": changes["note"]})
        changed = True
    return changed


def cancel_order(store: Store, order_id: int, client_ip: str) -> tuple[int, Any]:
    """``PUT|PATCH /orders/:id/cancel`` (§7.6): status canceled, restock, report steps."""
    with store.lock:
        order = store.order_or_404(order_id)
        success = []
        if order.status != "canceled":
            order.status = "canceled"
            success.append("Set status to 'Canceled'")
        if not order.restocked:
            store.restock(order)
            success.append("Restock inventory")
        success += ["Updated product statistics",
                    f"Order canceled by API. IP: {client_ip}"]
        store.touch(order)
        return 200, {"success": success, "errors": list(store.settings.cancel_errors)}

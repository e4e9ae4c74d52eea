"""Hub values ↔ ShipHero's GraphQL shapes (spec §4, §5, §10, §11). Pure functions, no requests.

* An order goes under ``partner_order_id`` = ``<shop name>:<warehouse order number>`` (the
  hub's deterministic reference, prefixed so another integration's ids in the same account
  cannot be mistaken for ours) and ``order_number`` = the warehouse order number; each line
  under ``partner_line_item_id`` = ``<partner_order_id>-L<line number>``, which is how a
  shipped line finds its way back.
* A shipment comes back as one hub shipment per package (``ShippingLabel``), keyed by order
  number and the label's legacy id in the poll and in the webhook alike, so the two paths
  recognise each other. Tracking, carrier and method are the package's, never the legacy
  top-level copies (§11.3). Voided labels (refunded, needs_refund) are left out (§5.2).

A member of the wrong shape in an answer or a webhook body (a list where a quantity belongs,
``1e999``, text holding NUL) raises BadResponse naming it (``platforms/answers.py``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from dropstream.platforms import answers
from dropstream.platforms.base import (
    InventoryLevel,
    WarehouseCancellation,
    WarehouseOrder,
    WarehouseShipment,
    WarehouseShipmentLine,
)
from dropstream.platforms.errors import BadResponse

_LINE_ID = re.compile(r"-L([0-9]{1,9})$")
PLATFORM = "ShipHero"


def _text(value: Any, field: str) -> str:
    return answers.text(PLATFORM, value, field)


def _whole(value: Any, field: str) -> int:
    return answers.whole(PLATFORM, value, field)


def _list(value: Any, field: str) -> list[Any]:
    return answers.records(PLATFORM, value, field)


def partner_order_id(shop_name: str, order_number: str) -> str:
    return f"{shop_name}:{order_number}"


def partner_line_item_id(reference: str, line_number: int) -> str:
    return f"{reference}-L{line_number}"


def line_number_of(partner_line: Any) -> int | None:
    found = _LINE_ID.search(str(partner_line or ""))
    return int(found.group(1)) if found else None


def legacy_id(value: Any) -> str:
    """A Relay id (base64 ``Type:123``) or a legacy number → ``"123"``; "" when neither."""
    text = str(value or "").strip()
    if text.isascii() and text.isdigit():
        return text
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
    _, _, number = decoded.partition(":")
    return number if number.isdigit() else ""


def _names(full: str) -> tuple[str, str]:
    first, _, last = full.strip().partition(" ")
    return first, last.strip()


def order_input(order: WarehouseOrder, *, shop_name: str,
                customer_account_id: str = "") -> dict[str, Any]:
    """``CreateOrderInput`` (§4.2) for one order."""
    reference = partner_order_id(shop_name, order.order_number)
    ship = order.ship_to
    first, last = _names(ship.name)
    address = {"first_name": first, "last_name": last, "company": ship.company,
               "address1": ship.street1, "address2": ship.street2, "city": ship.city,
               "state": ship.state, "state_code": ship.state, "zip": ship.postal_code,
               "country": ship.country, "country_code": ship.country, "phone": ship.phone,
               "email": ship.email or order.customer_email}
    method = order.ship_method.strip()
    data: dict[str, Any] = {
        "order_number": order.order_number, "partner_order_id": reference,
        "shop_name": shop_name, "fulfillment_status": "pending",
        "order_date": order.ordered_at.astimezone(UTC).isoformat(),
        "email": order.customer_email or ship.email,
        "shipping_address": address,
        "shipping_lines": {"title": method or "Standard", "price": "0.00",
                           "carrier": method.split(" ")[0] if method else None,
                           "method": method or None},
        "line_items": [{"sku": line.sku,
                        "partner_line_item_id": partner_line_item_id(reference,
                                                                     line.line_number),
                        "quantity": line.quantity, "price": f"{line.unit_price:.2f}",
                        "product_name": line.name or line.sku}
                       for line in order.lines],
    }
    if order.bill_to is not None:
        bill = order.bill_to
        bfirst, blast = _names(bill.name)
        data["billing_address"] = {
            "first_name": bfirst, "last_name": blast, "company": bill.company,
            "address1": bill.street1, "address2": bill.street2, "city": bill.city,
            "state": bill.state, "state_code": bill.state, "zip": bill.postal_code,
            "country": bill.country, "country_code": bill.country, "phone": bill.phone,
            "email": bill.email}
    if order.customer_notes:
        data["packing_note"] = order.customer_notes
    if order.gift_message:
        data["gift_note"] = order.gift_message
    if customer_account_id:
        data["customer_account_id"] = customer_account_id
    return data


def _day(value: Any) -> date:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return datetime.now(UTC).date()


def _edges(connection: Any, field: str) -> list[Mapping[str, Any]]:
    if not isinstance(connection, Mapping):
        return []
    return [edge["node"] for edge in _list(connection.get("edges"), f"{field}.edges")
            if isinstance(edge, Mapping) and isinstance(edge.get("node"), Mapping)]


def page_of(wrapper: Mapping[str, Any], root: str
            ) -> tuple[list[Mapping[str, Any]], str | None]:
    """One page of a connection (``wrapper.data``, §3): its nodes, and the cursor of the next
    page (None on the last). Raises BadResponse for a page of the wrong shape."""
    page = wrapper.get("data") or {}
    if not isinstance(page, Mapping):
        raise answers.bad(PLATFORM, f"{root}.data", page, "a connection object")
    nodes = [edge["node"] for edge in _list(page.get("edges"), f"{root}.data.edges")
             if isinstance(edge, Mapping) and isinstance(edge.get("node"), Mapping)]
    info = page.get("pageInfo") or {}
    if not isinstance(info, Mapping) or not info.get("hasNextPage"):
        return nodes, None
    cursor = _text(info.get("endCursor"), f"{root}.data.pageInfo.endCursor")
    return nodes, cursor or None


def _voided(label: Mapping[str, Any]) -> bool:
    return bool(label.get("refunded") or label.get("needs_refund"))


def shipment_key(order_number: str, label_legacy_id: Any) -> str:
    return f"{order_number}|label-{label_legacy_id}"


def shipments_from_node(node: Mapping[str, Any]) -> list[WarehouseShipment]:
    """One queried ``Shipment`` (§5.2) → one hub shipment per valid label."""
    order = node.get("order") if isinstance(node.get("order"), Mapping) else {}
    number = _text(order.get("order_number"), "order.order_number")
    labels = [label for label in _list(node.get("shipping_labels"), "shipping_labels")
              if isinstance(label, Mapping) and not _voided(label)]
    lines = _edges(node.get("line_items"), "line_items")
    made = []
    for index, label in enumerate(labels):
        where = f"shipping_labels[{index}]"
        mine = [ln for ln in lines if ln.get("shipping_label_id") == label.get("id")]
        if not mine and len(labels) == 1:
            mine = lines  # no label ids on the lines: all of them are in the only package
        label_id = _text(label.get("legacy_id") or None, f"{where}.legacy_id") \
            or legacy_id(label.get("id"))
        made.append(WarehouseShipment(
            key=shipment_key(number, label_id),
            order_number=number, carrier=_text(label.get("carrier"), f"{where}.carrier"),
            service=_text(label.get("shipping_method"), f"{where}.shipping_method"),
            tracking_number=_text(label.get("tracking_number"), f"{where}.tracking_number"),
            ship_date=_day(label.get("created_date") or node.get("created_date")),
            lines=tuple(_line(ln.get("line_item"), ln.get("quantity"), "line_items.edges.node")
                        for ln in mine),
            warehouse_shipment_id=_text(node.get("legacy_id"), "legacy_id"),
            cost=_money(label.get("cost"))))
    return made


def _money(value: Any) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _line(item: Any, quantity: Any, field: str) -> WarehouseShipmentLine:
    item = item if isinstance(item, Mapping) else {}
    return WarehouseShipmentLine(line_number=line_number_of(item.get("partner_line_item_id")),
                                 sku=_text(item.get("sku"), f"{field}.line_item.sku"),
                                 quantity=_whole(quantity, f"{field}.quantity"))


def shipments_from_webhook(payload: Mapping[str, Any]) -> list[WarehouseShipment]:
    """A Shipment Update body (§11.3) → a hub shipment for each package it lists. The members
    of ``packages[]`` are unverified: a package without a label id is skipped (the
    reconciliation poll brings it), never stored under a key the poll would not know."""
    fulfillment = payload.get("fulfillment")
    if not isinstance(fulfillment, Mapping):
        raise ValueError("a Shipment Update without a fulfillment object")
    number = _text(fulfillment.get("order_number"), "fulfillment.order_number")
    if not number:
        raise ValueError("a Shipment Update without an order_number")
    made = []
    packages = _list(fulfillment.get("packages"), "fulfillment.packages")
    for index, package in enumerate(packages):
        if not isinstance(package, Mapping) or not package.get("shipping_label_id"):
            continue
        if _voided(package):
            continue
        where = f"fulfillment.packages[{index}]"
        lines = tuple(
            WarehouseShipmentLine(line_number=line_number_of(ln.get("id")),
                                  sku=_text(ln.get("sku"), f"{where}.line_items.sku"),
                                  quantity=_whole(ln.get("quantity"),
                                                  f"{where}.line_items.quantity"))
            for ln in _list(package.get("line_items"), f"{where}.line_items")
            if isinstance(ln, Mapping))
        label_id = _text(package["shipping_label_id"], f"{where}.shipping_label_id")
        made.append(WarehouseShipment(
            key=shipment_key(number, label_id), order_number=number,
            carrier=_text(package.get("shipping_carrier"), f"{where}.shipping_carrier"),
            service=_text(package.get("shipping_method"), f"{where}.shipping_method"),
            tracking_number=_text(package.get("tracking_number"), f"{where}.tracking_number"),
            ship_date=datetime.now(UTC).date(), lines=lines,
            warehouse_shipment_id=_text(fulfillment.get("shipment_id"),
                                        "fulfillment.shipment_id"),
            cost=_money(package.get("cost"))))
    return made


def cancellation_from_webhook(payload: Mapping[str, Any]) -> WarehouseCancellation:
    """Order Canceled (§11.4, fields unverified): any order number it carries."""
    number = _text(payload.get("order_number"), "order_number")
    if not number:
        raise ValueError("an Order Canceled body without an order_number")
    reason = _text(payload.get("cancel_reason"), "cancel_reason").strip()
    who = _text(payload.get("canceled_by_name"), "canceled_by_name").strip()
    said = "; ".join(part for part in (reason, f"by {who}" if who else "") if part)
    return WarehouseCancellation(order_number=number,
                                 reason=f"canceled in ShipHero{': ' + said if said else ''}")


def levels_from_rows(rows: Iterable[Mapping[str, Any]],
                     warehouses: frozenset[str]) -> list[InventoryLevel]:
    """``warehouse_products`` nodes (§10.1) → a level per (SKU, warehouse legacy id)."""
    levels = []
    for index, row in enumerate(rows):
        facility = legacy_id(row.get("warehouse_id"))
        if warehouses and facility not in warehouses:
            continue
        where = f"warehouse_products[{index}]"
        levels.append(InventoryLevel(
            sku=_text(row.get("sku"), f"{where}.sku"),
            available=max(0, _whole(row.get("available"), f"{where}.available")),
            on_hand=_whole(row.get("on_hand"), f"{where}.on_hand"), facility=facility))
    return [level for level in levels if level.sku]


def levels_from_webhook(payload: Mapping[str, Any],
                        warehouses: frozenset[str]) -> list[InventoryLevel]:
    """Inventory Update (§10.2): string quantities; the warehouse's own figures are in
    ``updated_warehouse``."""
    levels = []
    for index, item in enumerate(_list(payload.get("inventory"), "inventory")):
        if not isinstance(item, Mapping):
            continue
        where = item.get("updated_warehouse")
        if not isinstance(where, Mapping):
            continue
        facility = legacy_id(where.get("warehouse_id") or where.get("warehouse_uuid"))
        if warehouses and facility not in warehouses:
            continue
        inside = f"inventory[{index}].updated_warehouse"
        try:
            available = _whole(where.get("inventory"), f"{inside}.inventory")
            on_hand = _whole(where.get("on_hand"), f"{inside}.on_hand") \
                if where.get("on_hand") is not None else None
        except BadResponse:
            continue  # as before: an item without usable figures is left out, not the body
        sku = _text(item.get("sku"), f"inventory[{index}].sku")
        if sku:
            levels.append(InventoryLevel(sku=sku, available=max(0, available),
                                         on_hand=on_hand, facility=facility))
    return levels


def configured_warehouses(text: str) -> frozenset[str]:
    return frozenset(legacy_id(part) or part for part in text.split(",") if part.strip())

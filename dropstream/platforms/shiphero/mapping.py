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
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from dropstream.platforms.base import (
    InventoryLevel,
    WarehouseCancellation,
    WarehouseOrder,
    WarehouseShipment,
    WarehouseShipmentLine,
)

_LINE_ID = re.compile(r"-L(\d+)$")


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
    if text.isdigit():
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


def _edges(connection: Any) -> list[Mapping[str, Any]]:
    if not isinstance(connection, Mapping):
        return []
    return [edge["node"] for edge in connection.get("edges") or []
            if isinstance(edge, Mapping) and isinstance(edge.get("node"), Mapping)]


def _voided(label: Mapping[str, Any]) -> bool:
    return bool(label.get("refunded") or label.get("needs_refund"))


def shipment_key(order_number: str, label_legacy_id: Any) -> str:
    return f"{order_number}|label-{label_legacy_id}"


def shipments_from_node(node: Mapping[str, Any]) -> list[WarehouseShipment]:
    """One queried ``Shipment`` (§5.2) → one hub shipment per valid label."""
    order = node.get("order") if isinstance(node.get("order"), Mapping) else {}
    number = str(order.get("order_number") or "")
    labels = [label for label in node.get("shipping_labels") or []
              if isinstance(label, Mapping) and not _voided(label)]
    lines = _edges(node.get("line_items"))
    made = []
    for label in labels:
        mine = [ln for ln in lines if ln.get("shipping_label_id") == label.get("id")]
        if not mine and len(labels) == 1:
            mine = lines  # no label ids on the lines: all of them are in the only package
        made.append(WarehouseShipment(
            key=shipment_key(number, label.get("legacy_id") or legacy_id(label.get("id"))),
            order_number=number, carrier=str(label.get("carrier") or ""),
            service=str(label.get("shipping_method") or ""),
            tracking_number=str(label.get("tracking_number") or ""),
            ship_date=_day(label.get("created_date") or node.get("created_date")),
            lines=tuple(_line(ln.get("line_item") or {}, ln.get("quantity")) for ln in mine),
            warehouse_shipment_id=str(node.get("legacy_id") or ""),
            cost=_money(label.get("cost"))))
    return made


def _money(value: Any) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _line(item: Mapping[str, Any], quantity: Any) -> WarehouseShipmentLine:
    return WarehouseShipmentLine(line_number=line_number_of(item.get("partner_line_item_id")),
                                 sku=str(item.get("sku") or ""), quantity=int(quantity or 0))


def shipments_from_webhook(payload: Mapping[str, Any]) -> list[WarehouseShipment]:
    """A Shipment Update body (§11.3) → a hub shipment for each package it lists. The members
    of ``packages[]`` are unverified: a package without a label id is skipped (the
    reconciliation poll brings it), never stored under a key the poll would not know."""
    fulfillment = payload.get("fulfillment")
    if not isinstance(fulfillment, Mapping):
        raise ValueError("a Shipment Update without a fulfillment object")
    number = str(fulfillment.get("order_number") or "")
    if not number:
        raise ValueError("a Shipment Update without an order_number")
    made = []
    for package in fulfillment.get("packages") or []:
        if not isinstance(package, Mapping) or not package.get("shipping_label_id"):
            continue
        if _voided(package):
            continue
        lines = tuple(WarehouseShipmentLine(line_number=line_number_of(ln.get("id")),
                                            sku=str(ln.get("sku") or ""),
                                            quantity=int(ln.get("quantity") or 0))
                      for ln in package.get("line_items") or [] if isinstance(ln, Mapping))
        made.append(WarehouseShipment(
            key=shipment_key(number, package["shipping_label_id"]), order_number=number,
            carrier=str(package.get("shipping_carrier") or ""),
            service=str(package.get("shipping_method") or ""),
            tracking_number=str(package.get("tracking_number") or ""),
            ship_date=datetime.now(UTC).date(), lines=lines,
            warehouse_shipment_id=str(fulfillment.get("shipment_id") or ""),
            cost=_money(package.get("cost"))))
    return made


def cancellation_from_webhook(payload: Mapping[str, Any]) -> WarehouseCancellation:
    """Order Canceled (§11.4, fields unverified): any order number it carries."""
    number = str(payload.get("order_number") or "")
    if not number:
        raise ValueError("an Order Canceled body without an order_number")
    reason = str(payload.get("cancel_reason") or "").strip()
    who = str(payload.get("canceled_by_name") or "").strip()
    said = "; ".join(part for part in (reason, f"by {who}" if who else "") if part)
    return WarehouseCancellation(order_number=number,
                                 reason=f"canceled in ShipHero{': ' + said if said else ''}")


def levels_from_rows(rows: Iterable[Mapping[str, Any]],
                     warehouses: frozenset[str]) -> list[InventoryLevel]:
    """``warehouse_products`` nodes (§10.1) → a level per (SKU, warehouse legacy id)."""
    levels = []
    for row in rows:
        facility = legacy_id(row.get("warehouse_id"))
        if warehouses and facility not in warehouses:
            continue
        levels.append(InventoryLevel(sku=str(row.get("sku") or ""),
                                     available=max(0, int(row.get("available") or 0)),
                                     on_hand=int(row.get("on_hand") or 0), facility=facility))
    return [level for level in levels if level.sku]


def levels_from_webhook(payload: Mapping[str, Any],
                        warehouses: frozenset[str]) -> list[InventoryLevel]:
    """Inventory Update (§10.2): string quantities; the warehouse's own figures are in
    ``updated_warehouse``."""
    levels = []
    for item in payload.get("inventory") or []:
        if not isinstance(item, Mapping):
            continue
        where = item.get("updated_warehouse")
        if not isinstance(where, Mapping):
            continue
        facility = legacy_id(where.get("warehouse_id") or where.get("warehouse_uuid"))
        if warehouses and facility not in warehouses:
            continue
        try:
            available = int(str(where.get("inventory") or "0"))
            on_hand = int(str(where.get("on_hand"))) if where.get("on_hand") is not None \
                else None
        except ValueError:
            continue
        if item.get("sku"):
            levels.append(InventoryLevel(sku=str(item["sku"]), available=max(0, available),
                                         on_hand=on_hand, facility=facility))
    return levels


def configured_warehouses(text: str) -> frozenset[str]:
    return frozenset(legacy_id(part) or part for part in text.split(",") if part.strip())

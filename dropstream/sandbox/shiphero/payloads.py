"""Webhook bodies (spec §10.2 Inventory Update, §11.3 Shipment Update, §11.4 Order Canceled).

Built when the change happens, from the records as they are then. Remote quirks kept:
quantities in Inventory Update are strings (§10.2); in Shipment Update ``line_items[].id`` is
the order line's ``partner_line_item_id`` and ``shiphero_id`` its legacy id (§11.3); the
top-level tracking/carrier/method are legacy copies of the package's (§11.3). The members of
``packages[]`` and the whole Order Canceled body are **unverified** (§11.3, §11.4, §14.7):
the names used here are the simulator's guess, and Order Canceled is trimmed to
``settings.order_canceled_fields`` when that is set.
"""

from __future__ import annotations

from typing import Any

from dropstream.sandbox.shiphero.clock import fmt_time
from dropstream.sandbox.shiphero.model import (
    Account,
    Order,
    Shipment,
    ShipmentLine,
    ShippingLabel,
    WarehouseProduct,
)
from dropstream.sandbox.shiphero.settings import Settings

ORDER_CANCELED_FIELDS = ("account_id", "account_uuid", "order_id", "order_uuid", "order_number",
                         "partner_order_id", "canceled_by_user_id", "canceled_by_name",
                         "canceled_at", "cancel_reason", "warehouse_id", "warehouse_name")


def inventory_update(account: Account, rows: list[WarehouseProduct],
                     settings: Settings) -> dict[str, Any]:
    """§10.2: one item per changed (SKU, warehouse); ``inventory`` is account-wide available."""
    legacy = settings.inventory_update_style == "legacy"
    items = []
    for row in rows:
        all_rows = row.product.warehouse_products
        item: dict[str, Any] = {
            "sku": row.sku,
            "inventory": str(sum(r.available for r in all_rows)),
            "backorder_quantity": str(sum(r.backorder for r in all_rows)),
            "on_hand": str(sum(r.on_hand for r in all_rows)),
            "virtual": False,
            "updated_warehouse": {
                "warehouse_id": row.warehouse.legacy_id, "warehouse_uuid": row.warehouse.id,
                "identifier": row.warehouse.identifier, "inventory": str(row.available),
                "on_hand": str(row.on_hand), "backorder_quantity": str(row.backorder)},
        }
        if legacy:
            item["webhook_type"] = "INVENTORY_UPDATE"
        items.append(item)
    return {"account_id": str(account.legacy_id) if legacy else account.legacy_id,
            "account_uuid": account.id, "webhook_type": "Inventory Update", "inventory": items}


def shipment_updates(shipment: Shipment, settings: Settings) -> list[dict[str, Any]]:
    """§11.3/§13 #16: one body per package (label), or one for the whole shipment."""
    labels = shipment.shipping_labels
    packages = [_package(shipment, label) for label in labels]
    if settings.shipment_update_per_package:
        return [_fulfillment(shipment, label, _label_lines(shipment, label), packages)
                for label in labels]
    return [_fulfillment(shipment, labels[0], shipment.lines, packages)]


def _fulfillment(shipment: Shipment, label: ShippingLabel, lines: list[ShipmentLine],
                 packages: list[dict[str, Any]]) -> dict[str, Any]:
    order = shipment.order
    return {"test": "0", "webhook_type": "Shipment Update", "fulfillment": {
        "shipment_id": shipment.legacy_id, "shipment_uuid": shipment.id,
        "warehouse": shipment.warehouse.identifier,
        "warehouse_id": shipment.warehouse.legacy_id, "warehouse_uuid": shipment.warehouse.id,
        "webhook_type": "Shipment Update",
        "order_id": order.legacy_id, "order_uuid": order.id,
        "partner_order_id": order.partner_order_id, "order_number": order.order_number,
        "tracking_number": label.tracking_number,
        "line_items": [_line(line) for line in lines],
        "custom_tracking_url": "",
        "package_number": label.package_number,
        "total_packages": len(shipment.shipping_labels),
        "shipping_method": label.shipping_method, "shipping_carrier": label.carrier,
        "shipping_address": _address(shipment.address),
        "packages": packages,
    }}


def _label_lines(shipment: Shipment, label: ShippingLabel) -> list[ShipmentLine]:
    return [line for line in shipment.lines if line.label is label]


def _line(line: ShipmentLine) -> dict[str, Any]:
    item = line.line_item
    return {"id": item.partner_line_item_id, "shiphero_id": item.legacy_id,
            "quantity": line.quantity, "sku": item.sku, "serial_numbers": [],
            "customs_description": "", "package": f"Package #{line.label.package_number}",
            "lot_id": None, "lot_name": None, "lot_expiration": None}


def _package(shipment: Shipment, label: ShippingLabel) -> dict[str, Any]:
    """Unverified member names (§11.3): contents, label (carrier, method, tracking), box."""
    return {"name": f"Package #{label.package_number}", "package_number": label.package_number,
            "shipping_label_id": label.legacy_id, "tracking_number": label.tracking_number,
            "shipping_carrier": label.carrier, "shipping_method": label.shipping_method,
            "shipping_name": label.shipping_name, "cost": label.cost,
            "box_code": label.box_code, "dimensions": dict(label.dimensions),
            "line_items": [_line(line) for line in _label_lines(shipment, label)]}


def _address(address: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
    keys = ("company", "address1", "address2", "city", "state", "state_code", "zip", "country",
            "country_code", "phone", "email")
    return {"name": name, **{key: address.get(key) or "" for key in keys}}


def order_canceled(order: Order, by_name: str, settings: Settings) -> dict[str, Any]:
    """§11.4 (unverified): the members one public listener reads, plus ids of the order."""
    warehouse = next((line.warehouse for line in order.line_items if line.warehouse), None)
    body: dict[str, Any] = {
        "webhook_type": "Order Canceled", "test": "0",
        "account_id": order.account.legacy_id, "account_uuid": order.account.id,
        "order_id": order.legacy_id, "order_uuid": order.id,
        "order_number": order.order_number, "partner_order_id": order.partner_order_id,
        "canceled_by_user_id": None, "canceled_by_name": by_name,
        "canceled_at": fmt_time(order.canceled_at), "cancel_reason": order.cancel_reason or "",
        "warehouse_id": warehouse.legacy_id if warehouse else None,
        "warehouse_name": warehouse.identifier if warehouse else None,
    }
    keep = settings.order_canceled_fields
    if keep is not None:
        body = {k: v for k, v in body.items() if k in keep or k == "webhook_type"}
    return body

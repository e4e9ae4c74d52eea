"""Plain-JSON views of the simulator's records for the Python API and the control endpoint
(not ShipHero's shapes: legacy ids as numbers, warehouses by identifier, no secrets)."""

from __future__ import annotations

from typing import Any

from dropstream.sandbox.shiphero.clock import fmt_time
from dropstream.sandbox.shiphero.model import Account, Order, Shipment, WarehouseProduct


def account(record: Account) -> dict[str, Any]:
    return {"id": record.id, "legacy_id": record.legacy_id, "name": record.username,
            "email": record.email, "is_3pl": record.is_3pl, "status": record.status,
            "parent_id": record.parent.legacy_id if record.parent else None,
            "customers": [c.legacy_id for c in record.customers],
            "warehouses": [{"id": w.id, "legacy_id": w.legacy_id, "identifier": w.identifier}
                           for w in record.all_warehouses()],
            "products": sorted(record.products), "orders": len(record.orders),
            "webhooks": [h.describe() for h in record.webhooks]}


def stock(row: WarehouseProduct) -> dict[str, Any]:
    return {"sku": row.sku, "account_id": row.product.account.legacy_id,
            "warehouse": row.warehouse.identifier, "warehouse_id": row.warehouse.legacy_id,
            "on_hand": row.on_hand, "allocated": row.allocated, "available": row.available,
            "backorder": row.backorder, "reserve_inventory": row.reserve_inventory,
            "non_sellable_quantity": row.non_sellable_quantity,
            "updated_at": fmt_time(row.updated_at)}


def shipment(record: Shipment) -> dict[str, Any]:
    packages = []
    for label in record.shipping_labels:
        lines: dict[str, int] = {}
        for line in record.lines:
            if line.label is label:
                key = line.line_item.partner_line_item_id
                lines[key] = lines.get(key, 0) + line.quantity
        packages.append({"id": label.id, "legacy_id": label.legacy_id,
                         "package_number": label.package_number,
                         "tracking_number": label.tracking_number, "carrier": label.carrier,
                         "shipping_method": label.shipping_method, "cost": label.cost,
                         "lines": lines})
    return {"id": record.id, "legacy_id": record.legacy_id, "order_id": record.order.legacy_id,
            "warehouse": record.warehouse.identifier,
            "created_date": fmt_time(record.created_date), "packages": packages}


def order(record: Order) -> dict[str, Any]:
    return {"id": record.id, "legacy_id": record.legacy_id,
            "account_id": record.account.legacy_id, "order_number": record.order_number,
            "partner_order_id": record.partner_order_id, "shop_name": record.shop_name,
            "fulfillment_status": record.fulfillment_status, "picked": record.picked,
            "canceled": record.canceled, "cancel_reason": record.cancel_reason,
            "holds": dict(record.holds), "allow_partial": record.allow_partial,
            "allow_split": record.allow_split, "updated_at": fmt_time(record.updated_at),
            "line_items": [{"id": line.id, "legacy_id": line.legacy_id, "sku": line.sku,
                            "partner_line_item_id": line.partner_line_item_id,
                            "quantity": line.quantity,
                            "quantity_allocated": line.quantity_allocated,
                            "quantity_shipped": line.quantity_shipped,
                            "backorder_quantity": line.backorder_quantity,
                            "warehouse": line.warehouse.identifier if line.warehouse else None}
                           for line in record.line_items],
            "shipments": [shipment(s) for s in record.shipments]}

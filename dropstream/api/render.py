"""Model rows → response dicts (the schemas in ``schemas.py`` validate and serialize them).

Adapter settings appear only through ``masked_adapter()``: never decrypted into a response.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dropstream.catalog.models import Product
from dropstream.connections.models import Channel, Connection, Merchant, Store, Warehouse
from dropstream.orders.models import Order, OrderLine
from dropstream.shipments.models import Shipment


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def customer(merchant: Merchant) -> dict[str, Any]:
    return {
        "id": merchant.pk, "company_name": merchant.company_name, "street1": merchant.street1,
        "street2": merchant.street2, "street3": merchant.street3, "city": merchant.city,
        "state": merchant.state, "zipcode": merchant.zipcode, "country": merchant.country,
        "provider": merchant.provider, "created_at": merchant.created_at,
    }


def store(row: Store, *, with_adapter: bool = False) -> dict[str, Any]:
    data = {
        "id": row.pk, "customer_id": row.customer_id, "name": row.name,
        "description": row.description, "url": row.url or None, "platform": row.platform,
        "created_at": row.created_at, "enabled_at": row.enabled_at,
        "import_since": row.import_since, "order_imported_at": row.order_imported_at,
        "inventory_updated_at": row.inventory_updated_at,
    }
    if with_adapter:
        data["adapter"] = row.masked_adapter()
    return data


def warehouse(row: Warehouse, *, with_adapter: bool = False) -> dict[str, Any]:
    data = {
        "id": row.pk, "customer_id": row.customer_id, "description": row.description,
        "platform": row.platform, "created_at": row.created_at, "enabled_at": row.enabled_at,
        "order_status_imported_at": row.order_status_imported_at,
        "inventory_updated_at": row.inventory_updated_at,
    }
    if with_adapter:
        data["adapter"] = row.masked_adapter()
    return data


def channel(row: Channel) -> dict[str, Any]:
    return {
        "id": row.pk, "type": row.type, "enabled_at": row.enabled_at,
        "connection_id": row.connection_id, "rules": list(row.rules or []),
        "full_sync_rules": list(row.full_sync_rules or []), "next_run_at": row.next_run_at,
        "last_completed_at": row.last_completed_at,
    }


def connection(row: Connection, *, with_channels: bool = False) -> dict[str, Any]:
    data = {
        "id": row.pk, "customer_id": row.customer_id, "warehouse_id": row.warehouse_id,
        "store_id": row.store_id, "name": row.name, "connection_type": row.connection_type,
        "created_at": row.created_at, "enabled_at": row.enabled_at,
        "locations": [str(x) for x in (row.locations or [])],
        "inventory_reserve": row.inventory_reserve, "zero_out_threshold": row.zero_out_threshold,
        "unmapped_shipping_method": row.unmapped_shipping_method,
        "imports_orders": row.imports_orders,
        "counts_toward_store_stock": row.counts_toward_store_stock,
    }
    if with_channels:
        data["channels"] = [channel(c) for c in row.channels.all()]
    return data


def _address(order: Order, prefix: str) -> dict[str, str]:
    get = lambda part: getattr(order, f"{prefix}_{part}")  # noqa: E731
    return {"name": get("name"), "company": get("company"), "street1": get("street1"),
            "street2": get("street2"), "city": get("city"), "state": get("state"),
            "zipcode": get("postal_code"), "country": get("country"), "phone": get("phone"),
            "email": get("email")}


def order(row: Order) -> dict[str, Any]:
    """An order as the reference's ``order`` object; ``fulfillment_state`` is our status."""
    return {
        "id": row.pk, "store_id": row.store_id, "connection_id": row.connection_id,
        "customer_id": row.connection.customer_id, "external_id": row.external_id,
        "external_display_id": row.external_display_id, "ordered_at": row.ordered_at,
        "created_at": row.created_at, "updated_at": row.updated_at,
        "customer_email": row.customer_email,
        "external_shipping_description": row.external_shipping_description,
        "shipping_carrier_name": row.shipping_carrier_name,
        "shipping_carrier_service_level": row.shipping_carrier_service_level,
        "shipping_warehouse_code": row.shipping_warehouse_code,
        "shipping_amount": money(row.shipping_amount), "tax_amount": money(row.tax_amount),
        "discount_amount": money(row.discount_amount), "total_amount": money(row.total_amount),
        "currency_code": row.currency_code, "notes": row.notes, "gift_message": row.gift_message,
        "fulfillment_state": row.status,
        "fulfillment_warehouse_id": row.connection.warehouse_id,
        "external_warehouse_order_id": row.warehouse_order_number,
        "error_message": row.error_message,
        "shipping_address": _address(row, "ship"), "billing_address": _address(row, "bill"),
    }


def order_item(line: OrderLine, shipment_ids: dict[int, int]) -> dict[str, Any]:
    return {
        "id": line.pk, "external_order_item_id": line.external_line_id, "sku": line.store_sku,
        "warehouse_sku": line.warehouse_sku, "name": line.name,
        "qty_ordered": line.quantity_ordered, "qty_fulfilled": line.quantity_shipped,
        "unit_price": money(line.unit_price), "canceled": line.canceled,
        "line_number": line.line_number, "parent_id": line.parent_id,
        "shipment_id": shipment_ids.get(line.pk),
    }


def shipment(row: Shipment) -> dict[str, Any]:
    lines = list(row.lines.all())
    return {
        "id": row.pk, "order_id": row.order_id, "connection_id": row.connection_id,
        "store_id": row.connection.store_id, "customer_id": row.connection.customer_id,
        "warehouse_id": row.warehouse_id, "external_warehouse_order_id": row.order_number,
        "tracking_number": row.tracking_number, "carrier_name": row.carrier,
        "service_level": row.service, "shipped_at": row.ship_date,
        "weight": money(row.weight), "external_shipment_id": row.warehouse_shipment_id,
        "state": row.state, "error_message": row.error_message, "created_at": row.created_at,
        "posted_at": row.posted_at,
        "order_items": [{"id": line.order_line_id} for line in lines if line.order_line_id],
        "lines": [{"order_item_id": line.order_line_id, "sku": line.sku, "qty": line.quantity,
                   "line_number": line.line_number} for line in lines],
    }


def order_detail(row: Order) -> dict[str, Any]:
    shipments = list(row.shipments.select_related("connection").prefetch_related("lines")
                     .order_by("created_at", "id"))
    # The reference ties an item to one shipment (order_item.shipment_id): the first that
    # carried it.
    shipment_ids: dict[int, int] = {}
    for item in shipments:
        for line in item.lines.all():
            if line.order_line_id:
                shipment_ids.setdefault(line.order_line_id, item.pk)
    data = order(row)
    data["items"] = [order_item(line, shipment_ids) for line in row.lines.all()]
    data["shipments"] = [shipment(item) for item in shipments]
    data["activity"] = [{"at": a.at, "actor": a.actor, "event": a.event, "message": a.message}
                        for a in row.activity.all()]
    return data


def product(row: Product) -> dict[str, Any]:
    return {
        "id": row.pk, "customer_id": row.customer_id, "sku": row.sku, "name": row.name,
        "variant_of": row.variant_of, "created_at": row.created_at,
        "bundle": [{"product_id": c.component_id, "qty": c.quantity}
                   for c in row.components.all()],
        "listings": [{"id": item.pk, "store_id": item.store_id, "store_sku": item.store_sku}
                     for item in row.listings.all()],
    }

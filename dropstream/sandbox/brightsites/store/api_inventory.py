"""Inventory and product routes of the API (specs/brightsites-api.md §9).

Each route function takes the store first and returns ``(status, body)`` or raises ApiError with
the error answer; it reads and changes the store under ``store.lock``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dropstream.sandbox.brightsites import orders as order_json
from dropstream.sandbox.brightsites.catalog import InventoryRecord, Product
from dropstream.sandbox.brightsites.store.validation import (
    Query,
    in_window,
    many,
    object_in,
    one,
    page_meta,
    paging,
    record_changes,
    time_filter,
)
from dropstream.sandbox.brightsites.wire import (
    RULE_ARRAY_OF_HASHES,
    RULE_NUMBER,
    RULE_REQUIRED,
    ShapeA,
    as_int,
    fmt_ts,
    shape_b,
)

if TYPE_CHECKING:
    from dropstream.sandbox.brightsites.store.state import Store


def product_filter(query: Query, errors: ShapeA) -> Callable[[Product], bool]:
    """The product filter of a listing query (§9.3, §9.7): ``sku`` exact, ``name`` a part,
    ``categories``/``vendors`` by id or name, time windows; bad times go to ``errors``."""
    sku = one(query, "sku")
    internal_id = one(query, "internal_id")
    name = one(query, "name")
    categories = {c.lower() for c in many(query, "categories")}
    vendors = {v.lower() for v in many(query, "vendors")}
    windows = {n: time_filter(query, n, errors) for n in (
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
        return in_window(product.created_at, windows["created_at_from"],
                         windows["created_at_to"]) and in_window(
            product.updated_at, windows["updated_at_from"], windows["updated_at_to"])
    return keep


def listing_query(query: Query) -> tuple[Callable[[Product], bool], int, int]:
    """(product filter, offset, page size) of a product listing's query (§4, §9.3, §9.7);
    raises ApiError 422 (shape A) naming every bad parameter."""
    errors = ShapeA()
    keep = product_filter(query, errors)
    page, per_page = paging(query, errors)
    errors.raise_if_any()
    return keep, (page - 1) * per_page, per_page


def list_inventories(store: Store, query: Query) -> tuple[int, Any]:
    """``GET /inventories`` (§9.3): store-managed records only, product then record id."""
    keep, offset, per_page = listing_query(query)
    with store.lock:
        rows = [(product, record) for product in sorted(store.products.values(),
                                                        key=lambda p: p.id)
                if store.stocked(product) and keep(product)
                for record in sorted(product.records, key=lambda r: r.id)]
        body = [store.inventory_row(p, r) for p, r in rows[offset:offset + per_page]]
    return 200, {"inventories": body, "meta": page_meta(len(rows), offset, per_page)}


def batch_update(store: Store, product_id: int, body: Any) -> tuple[int, Any]:
    """``PUT|PATCH /inventories/:product_id/batch_update`` (§9.4): absolute levels."""
    with store.lock:
        product = store.product_or_404(product_id)
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
            planned.append((own[record_id], record_changes(item, "inventories", errors)))
        errors.raise_if_any()
        for record, change in planned:
            for key, value in change.items():
                setattr(record, key, value)
        return 200, {"inventories": [store.inventory_row(product, record)
                                     for record, _ in planned]}


def product_inventories(store: Store, product_id: int) -> tuple[int, Any]:
    """§9.5 list: ``{"enabled", "inventories"}``; empty for vendor-managed products."""
    with store.lock:
        product = store.product_or_404(product_id)
        records = [] if product.vendor_inventory_enabled else [
            r.record() for r in sorted(product.records, key=lambda r: r.id)]
        return 200, {"enabled": product.enable_inventory, "inventories": records}


def product_inventory(store: Store, product_id: int, record_id: int) -> tuple[int, Any]:
    """``GET /products/:id/inventories/:id`` (§9.5): one record."""
    with store.lock:
        return 200, store.record_or_404(store.product_or_404(product_id), record_id).record()


def create_product_inventory(store: Store, product_id: int, body: Any) -> tuple[int, Any]:
    """§9.5 create: all of inventory, trigger, track, allow_negative required."""
    with store.lock:
        product = store.product_or_404(product_id)
        if product.vendor_inventory_enabled:
            raise shape_b("inventories", "Vendor inventory is enabled for this product")
        data = object_in(body, "inventory")
        errors = ShapeA()
        for key in ("inventory", "trigger", "track", "allow_negative"):
            if key not in data:
                errors.add(f"inventory[{key}]", None, RULE_REQUIRED)
        change = record_changes(data, "inventory", errors)
        sub_ids = data.get("sub_option_ids", [])
        ids = [as_int(s) for s in sub_ids] if isinstance(sub_ids, list) else [None]
        if any(i is None or product.sub_option(i) is None for i in ids):
            errors.add("inventory[sub_option_ids]", sub_ids,
                       "Must be sub options of this product")
        errors.raise_if_any()
        clean_ids = sorted(i for i in ids if i is not None)
        if any(sorted(r.sub_option_ids) == clean_ids for r in product.records):
            raise shape_b("sub_option_ids", "Inventory for this combination already exists")
        record = InventoryRecord(id=store.ids.records.take(), product_id=product.id,
                                 sub_option_ids=clean_ids,
                                 sub_sku=product.sub_sku_for(clean_ids), inventory=0,
                                 trigger=0, track=True, allow_negative=False)
        for key, value in change.items():
            setattr(record, key, value)
        product.records.append(record)
        store.index_product(product)
        return 201, record.record()


def update_product_inventory(store: Store, product_id: int, record_id: int,
                             body: Any) -> tuple[int, Any]:
    """``PUT|PATCH /products/:id/inventories/:id`` (§9.5): the changed record."""
    with store.lock:
        record = store.record_or_404(store.product_or_404(product_id), record_id)
        data = object_in(body, "inventory")
        errors = ShapeA()
        change = record_changes(data, "inventory", errors)
        errors.raise_if_any()
        for key, value in change.items():
            setattr(record, key, value)
        return 200, record.record()


def delete_product_inventory(store: Store, product_id: int, record_id: int) -> tuple[int, Any]:
    """``DELETE /products/:id/inventories/:id`` (§9.5): the deleted record."""
    with store.lock:
        product = store.product_or_404(product_id)
        record = store.record_or_404(product, record_id)
        product.records.remove(record)
        store.records.pop(record.id, None)
        store.variants.pop(product.final_sku(record), None)
        return 200, record.record()


def list_products(store: Store, query: Query) -> tuple[int, Any]:
    """``GET /products`` (§9.7) rows with ``meta``."""
    keep, offset, per_page = listing_query(query)
    with store.lock:
        chosen = [p for p in sorted(store.products.values(), key=lambda p: p.id) if keep(p)]
        rows = [{"id": p.id, "name": p.name, "sku": p.sku, "internal_id": p.internal_id,
                 "origin_address_id": None, "new_product": False, "new_expires_at": None,
                 "categories": [dict(c) for c in p.categories],
                 "vendors": [dict(v) for v in p.vendors], "active": True,
                 "created_at": fmt_ts(p.created_at), "updated_at": fmt_ts(p.updated_at)}
                for p in chosen[offset:offset + per_page]]
    return 200, {"products": rows, "meta": page_meta(len(chosen), offset, per_page)}


def show_product(store: Store, product_id: int) -> tuple[int, Any]:
    """``GET /products/:id`` (§9.7), including ``id`` (assumption §13 #14)."""
    with store.lock:
        p = store.product_or_404(product_id)
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

"""The quantity to show in a store for each store SKU (pure; no database).

For a store SKU s (specs/dropstream-reference.md §7, issue 5):

    w        = the listing's warehouse SKU for s, else s itself
    free(x)  = warehouse available(x) at time T − units of x on orders the warehouse did not know
               at T (not exported, or exported after T; canceled/skipped/closed excluded)
    q(s)     = free(w), or for a bundle min over components c of ⌊free(c) / qty(c)⌋
    shown(s) = 0 if q − reserve ≤ zero_out_threshold else q − reserve   (never negative)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def reserved_by_warehouse_sku(
    store_lines: Iterable[tuple[str, int]],
    listings: Mapping[str, str],
    bundles: Mapping[str, list[tuple[str, int]]],
) -> dict[str, int]:
    """Units per warehouse SKU held by open store lines given as (store sku, quantity)."""
    reserved: dict[str, int] = {}
    for store_sku, quantity in store_lines:
        warehouse_sku = listings.get(store_sku, store_sku)
        components = bundles.get(warehouse_sku)
        if components:
            for component_sku, per_bundle in components:
                reserved[component_sku] = reserved.get(component_sku, 0) + per_bundle * quantity
        else:
            reserved[warehouse_sku] = reserved.get(warehouse_sku, 0) + quantity
    return reserved


def store_quantities(
    available: Mapping[str, int],
    *,
    listings: Mapping[str, str],
    bundles: Mapping[str, list[tuple[str, int]]],
    reserved: Mapping[str, int],
    reserve: int = 0,
    zero_out_threshold: int = 0,
) -> dict[str, int]:
    """Quantities keyed by store SKU for every SKU the warehouse or the catalog knows.

    SKUs the warehouse has never reported (and bundles none of whose components it reported)
    are left out: the hub knows nothing to write for them.
    """
    def free(sku: str) -> int:
        return available[sku] - reserved.get(sku, 0)

    # A warehouse SKU listed under another store SKU is sold under that name only.
    renamed = {w for s, w in listings.items() if s != w}
    store_to_warehouse: dict[str, str] = {s: s for s in available if s not in renamed}
    store_to_warehouse.update(listings)
    for bundle_sku in bundles:
        if bundle_sku not in renamed:
            store_to_warehouse.setdefault(bundle_sku, bundle_sku)
    result: dict[str, int] = {}
    for store_sku, warehouse_sku in store_to_warehouse.items():
        components = bundles.get(warehouse_sku)
        if components:
            if not any(c in available for c, _ in components):
                continue
            quantity = min((free(c) // n if c in available else 0) for c, n in components)
        elif warehouse_sku in available:
            quantity = free(warehouse_sku)
        else:
            continue
        quantity -= reserve
        result[store_sku] = 0 if quantity <= max(zero_out_threshold, 0) else quantity
    return result


def changed_quantities(computed: Mapping[str, int], last_written: Mapping[str, int], *,
                       full: bool) -> dict[str, int]:
    """Smart sync: only SKUs whose value differs from the last one written; full: all."""
    if full:
        return dict(computed)
    return {sku: qty for sku, qty in computed.items() if last_written.get(sku) != qty}

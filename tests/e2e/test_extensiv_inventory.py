"""Inventory from Extensiv stock summaries: ``available`` summed over the two facilities mapped
to the connection, into the hub's formula; smart sync writes what changed, full sync corrects
the store."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import run_locked
from tests.platforms.extensiv.fixtures import (  # noqa: F401 - a fixture
    CUSTOMER,
    FACILITY,
    OTHER_FACILITY,
    connect,
    extensiv_wms,
    stockable,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
BATCH = "PUT /inventories/:id/batch_update"


def store_level(bs_store, sku: str) -> int:
    return next(r["inventory"] for r in bs_store.control.inventories() if r["final_sku"] == sku)


def test_smart_and_full_sync_from_stock_summaries_over_two_facilities(bs_store, extensiv):
    connection = connect(bs_store, extensiv,
                         inventory_facility_ids=f"{FACILITY}, {OTHER_FACILITY}")
    a, b = stockable(bs_store)[:2]
    extensiv.tenant.set_stock(CUSTOMER, a, FACILITY, on_hand=30, on_hold=4)
    extensiv.tenant.set_stock(CUSTOMER, a, OTHER_FACILITY, on_hand=5)
    extensiv.tenant.set_stock(CUSTOMER, b, FACILITY, on_hand=0)
    extensiv.tenant.set_stock(CUSTOMER, b, OTHER_FACILITY, on_hand=12)

    first = run_locked(connection, "inventory")
    assert first.ok, first.error
    assert (store_level(bs_store, a), store_level(bs_store, b)) == (31, 12)  # 26 + 5, 0 + 12

    extensiv.tenant.set_stock(CUSTOMER, b, OTHER_FACILITY, on_hand=9)
    smart = run_locked(connection, "inventory")
    assert smart.ok and smart.requests == {BATCH: 1}
    assert store_level(bs_store, b) == 9

    bs_store.control.set_inventory({a: 999})  # edited in the store's admin
    full = run_locked(connection, "inventory", mode="full")
    assert full.ok and full.counts["inventory_written"] == 1
    assert store_level(bs_store, a) == 31
    # One stock-summaries page for both facilities per run (plus the token once).
    assert extensiv.sandbox.meter.count("GET /inventory/stocksummaries") == 3

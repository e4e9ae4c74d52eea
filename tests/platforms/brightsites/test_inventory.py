"""Inventory writes against the sandbox: the cached SKU map, one batch_update per changed
product, nothing for unchanged levels, vendor-managed products skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dropstream.platforms.brightsites.adapter import NOT_LISTED, NOT_TRACKED, VENDOR_MANAGED
from tests.fixtures.brightsites import BsStore
from tests.fixtures.secret_leaks import make_secret
from tests.platforms.brightsites.helpers import make_adapter

LIST = "GET /inventories"
BATCH = "PUT /inventories/:id/batch_update"


@pytest.fixture
def big_store(brightsites_sandbox) -> BsStore:
    """A store with 120 products, so that more than 50 have tracked, store-managed stock."""
    from dropstream.sandbox.brightsites.control import SandboxControl

    rw, ro = make_secret("bsrw"), make_secret("bsro")
    brightsites_sandbox.add_store("big", read_write_token=rw, read_only_token=ro, products=120)
    control = SandboxControl(brightsites_sandbox.control_url("big"))
    yield BsStore(subdomain="big", api_url=brightsites_sandbox.api_url("big"),
                  read_write_token=rw, read_only_token=ro, control=control,
                  sandbox=brightsites_sandbox)
    control.close()


def store_rows(store) -> list[dict]:
    return store.control.inventories()


def writable(rows) -> dict[str, dict]:
    return {r["final_sku"]: r for r in rows if not r["vendor_managed"] and r["track"]}


def calls(meter, endpoint) -> int:
    return len(meter.for_endpoint(endpoint))


def test_unchanged_levels_cost_nothing_and_a_second_identical_write_makes_no_request(bs_store):
    cache: dict = {}
    adapter, meter = make_adapter(bs_store, inventory_cache=cache)
    rows = writable(store_rows(bs_store))
    levels = {sku: row["inventory"] for sku, row in rows.items()}
    first_sku = sorted(levels)[0]
    levels[first_sku] += 7

    first = adapter.write_inventory(levels)
    meter.clear()
    second = adapter.write_inventory(levels)

    assert first.written == {first_sku: levels[first_sku]}
    assert calls(meter, BATCH) == 0 and meter == []
    assert second.written == {} and second.failed == {} and second.skipped == {}
    assert cache["fetched_at"] and cache["skus"][first_sku][2] == levels[first_sku]


def test_fifty_changed_products_cost_fifty_batch_updates(big_store):
    cache: dict = {}
    adapter, meter = make_adapter(big_store, inventory_cache=cache)
    rows = writable(store_rows(big_store))
    levels = {sku: row["inventory"] for sku, row in rows.items()}
    adapter.write_inventory(levels)  # learns the map: list pages only, nothing changed
    assert calls(meter, BATCH) == 0
    by_product: dict[int, list[str]] = {}
    for sku, row in rows.items():
        by_product.setdefault(row["product_id"], []).append(sku)
    assert len(by_product) >= 50
    changed_products = sorted(by_product)[:50]
    for product_id in changed_products:
        for sku in by_product[product_id]:  # every variant of the product changes
            levels[sku] += 3
    meter.clear()
    big_store.control.reset_meter()

    result = adapter.write_inventory(levels)

    assert calls(meter, BATCH) == 50 and len(meter) == 50
    assert big_store.control.meter()["by_endpoint"] == {BATCH: 50}
    assert len(result.written) == sum(len(by_product[p]) for p in changed_products)
    after = {r["final_sku"]: r["inventory"] for r in store_rows(big_store)}
    assert all(after[sku] == level for sku, level in result.written.items())


def test_vendor_managed_and_untracked_variants_are_skipped_with_a_reason(bs_store):
    adapter, meter = make_adapter(bs_store, inventory_cache={})
    all_rows = store_rows(bs_store)
    vendor = next(r for r in all_rows if r["vendor_managed"])
    untracked = next(r for r in all_rows if not r["vendor_managed"] and not r["track"])

    result = adapter.write_inventory({vendor["final_sku"]: vendor["inventory"] + 1,
                                      untracked["final_sku"]: untracked["inventory"] + 1,
                                      "NO-SUCH-SKU": 4})

    assert result.skipped == {vendor["final_sku"]: NOT_LISTED,
                              untracked["final_sku"]: NOT_TRACKED, "NO-SUCH-SKU": NOT_LISTED}
    assert result.written == {} and result.failed == {}
    assert calls(meter, BATCH) == 0


def test_a_product_that_became_vendor_managed_is_skipped_and_forgotten(bs_store):
    cache: dict = {}
    adapter, meter = make_adapter(bs_store, inventory_cache=cache)
    row = next(iter(writable(store_rows(bs_store)).values()))
    adapter.write_inventory({row["final_sku"]: row["inventory"]})
    store = bs_store.sandbox.store(bs_store.subdomain)
    product = store.products[row["product_id"]]
    product.vendor_inventory_enabled = True

    result = adapter.write_inventory({row["final_sku"]: row["inventory"] + 1})

    assert result.skipped == {row["final_sku"]: VENDOR_MANAGED}
    assert row["final_sku"] in cache["missing"]


def test_an_unknown_sku_rereads_the_map_once_and_then_not_again(bs_store):
    adapter, meter = make_adapter(bs_store, inventory_cache={})
    adapter.write_inventory({"NO-SUCH-SKU": 1})
    assert calls(meter, LIST) == 1
    meter.clear()

    adapter.write_inventory({"NO-SUCH-SKU": 2})

    assert meter == []


def test_the_map_is_read_again_once_it_is_a_day_old(bs_store):
    cache: dict = {}
    adapter, meter = make_adapter(bs_store, inventory_cache=cache)
    sku, row = next(iter(writable(store_rows(bs_store)).items()))
    adapter.write_inventory({sku: row["inventory"]})
    cache["fetched_at"] = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    meter.clear()

    adapter.write_inventory({sku: row["inventory"]})

    assert [c.endpoint for c in meter] == [LIST]
    assert datetime.fromisoformat(cache["fetched_at"]) > datetime.now(UTC) - timedelta(minutes=1)


def test_the_cache_survives_into_a_new_adapter(bs_store):
    cache: dict = {}
    first, _ = make_adapter(bs_store, inventory_cache=cache)
    sku, row = next(iter(writable(store_rows(bs_store)).items()))
    first.write_inventory({sku: row["inventory"]})
    first.close()
    second, meter = make_adapter(bs_store, inventory_cache=cache)

    result = second.write_inventory({sku: row["inventory"] + 2})

    assert result.written == {sku: row["inventory"] + 2}
    assert [c.endpoint for c in meter] == [BATCH]

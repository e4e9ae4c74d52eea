from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dropstream.inventory.compute import (
    changed_quantities,
    reserved_by_warehouse_sku,
    store_quantities,
)


def test_a_sku_without_listing_is_written_under_its_own_name():
    result = store_quantities({"TEE-M": 10}, listings={}, bundles={}, reserved={})
    assert result == {"TEE-M": 10}


def test_a_listing_renames_the_sku_for_the_store():
    result = store_quantities({"WH-1": 7}, listings={"STORE-1": "WH-1"}, bundles={}, reserved={})
    assert result == {"STORE-1": 7}


def test_a_bundle_is_the_fewest_complete_bundles():
    bundles = {"KIT": [("A", 2), ("B", 1)]}
    result = store_quantities({"A": 9, "B": 3}, listings={}, bundles=bundles, reserved={})
    assert result["KIT"] == 3
    assert store_quantities({"A": 5, "B": 10}, listings={}, bundles=bundles,
                            reserved={})["KIT"] == 2


def test_open_orders_reserve_and_the_floor_is_zero():
    reserved = reserved_by_warehouse_sku([("KIT", 2), ("A", 1)], {}, {"KIT": [("A", 2)]})
    assert reserved == {"A": 5}
    result = store_quantities({"A": 4}, listings={}, bundles={}, reserved=reserved)
    assert result == {"A": 0}


def test_reserve_and_zero_out_threshold():
    result = store_quantities({"A": 10, "B": 4}, listings={}, bundles={}, reserved={},
                              reserve=2, zero_out_threshold=2)
    assert result == {"A": 8, "B": 0}


def test_smart_sync_writes_only_changes_and_full_writes_all():
    computed = {"A": 1, "B": 2, "C": 3}
    assert changed_quantities(computed, {"A": 1, "B": 5}, full=False) == {"B": 2, "C": 3}
    assert changed_quantities(computed, {"A": 1, "B": 2, "C": 3}, full=False) == {}
    assert changed_quantities(computed, computed, full=True) == computed


@given(st.dictionaries(st.sampled_from("ABCDE"), st.integers(0, 1000)),
       st.dictionaries(st.sampled_from("ABCDE"), st.integers(0, 100)),
       st.integers(0, 10), st.integers(0, 10))
def test_quantities_are_never_negative_nor_above_stock(available, reserved, reserve, zero):
    result = store_quantities(available, listings={}, bundles={}, reserved=reserved,
                              reserve=reserve, zero_out_threshold=zero)
    for sku, quantity in result.items():
        assert 0 <= quantity <= available[sku]
        assert quantity == 0 or quantity > zero

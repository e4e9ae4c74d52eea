"""Inputs the fuzzer (tests/fuzz, benchmarks/fuzz.py) found that broke the Push Orders intake or
the order mapping; each is also a file in ``tests/corpus/``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dropstream.platforms.brightsites.hooks import parse_push
from dropstream.platforms.brightsites.mapping import (
    inventory_from_row,
    order_from_json,
    shipment_id,
)
from dropstream.platforms.errors import BadResponse, OrderDataError
from dropstream.platforms.hooks import HookRejected

EXAMPLE = json.loads((Path(__file__).parent / "show_order.json").read_text())
SETTINGS = {"subdomain": "acme"}


@pytest.mark.parametrize("site_url", ["http://[", "http://[::1", "https://[x]:80/"])
def test_a_site_url_urlsplit_cannot_read_is_not_this_store(site_url):
    # urlsplit raised ValueError ("Invalid IPv6 URL") out of parse_push: the hook answered 500.
    body = json.dumps({**EXAMPLE, "site_url": site_url}).encode()

    with pytest.raises(HookRejected) as caught:
        parse_push(body, {}, SETTINGS)
    assert caught.value.status == 400
    assert "is not this store" in caught.value.message


@pytest.mark.parametrize(("path", "value", "field", "problem"), [
    (("order_id",), "9" * 5000, "order_id", "must be at most 9223372036854775807"),
    (("order_id",), 2**64, "order_id", "must be at most 9223372036854775807"),
    (("line_items", 0, "quantity"), 2**31, "line_items[0].quantity", "must be at most 2147483647"),
    (("line_items", 0, "quantity"), "9" * 30, "line_items[0].quantity",
     "must be at most 2147483647"),
    (("line_items", 0, "id"), "9" * 4400, "line_items[0].id", "must be at most 9223372036854775807"),
])
def test_an_id_or_quantity_no_database_column_holds_is_an_order_data_error(path, value, field,
                                                                          problem):
    # int() of a 5,000-digit string raised ValueError; 2**64 overflowed the id column later.
    order = copy.deepcopy(EXAMPLE)
    target = order
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value

    with pytest.raises(OrderDataError) as caught:
        order_from_json(order)
    assert caught.value.field == field
    assert caught.value.message.endswith(f"{field} {problem}")


def test_an_inventory_level_past_a_32_bit_column_is_a_bad_response_naming_it():
    # Found by benchmarks/fuzz.py: 2**64 passed as a level, beyond any column the hub stores.
    row = {"id": 5, "product_id": 77, "final_sku": "TENT", "inventory": 2**64}

    with pytest.raises(BadResponse) as caught:
        inventory_from_row(row, "inventories[0]")
    assert caught.value.field == "inventories[0].inventory"


@pytest.mark.parametrize("value", ["39\u00000", "\ud800"])
def test_a_created_shipment_id_no_column_stores_is_a_bad_response(value):
    # Found by benchmarks/fuzz.py: an id with NUL came back as the store's shipment id.
    with pytest.raises(BadResponse) as caught:
        shipment_id({"id": value})
    assert caught.value.field == "id"


def test_a_created_shipment_id_longer_than_its_column_is_cut_to_it():
    assert shipment_id({"id": "7" * 100}) == "7" * 64

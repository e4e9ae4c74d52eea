"""Extensiv answers of the wrong shape, as the fuzzer (tests/fuzz, benchmarks/fuzz.py) found
them: each is a BadResponse naming the member, not a TypeError/ValueError/OverflowError from
inside the mapping. Each is also a file in ``tests/corpus/``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dropstream.platforms.errors import BadResponse
from dropstream.platforms.extensiv import mapping
from dropstream.platforms.extensiv.client import ORDER_REL, embedded

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PAGE = json.loads((CORPUS / "extensiv-orders" / "hal-page.json").read_text())
STOCK = json.loads((CORPUS / "extensiv-stock" / "summaries.json").read_text())


def closed_order() -> dict:
    return copy.deepcopy(embedded(PAGE, ORDER_REL)[0])


def test_the_closed_sample_order_maps_to_its_two_packages():
    shipments = mapping.shipments(closed_order())

    assert [(s.key, s.tracking_number, [(li.line_number, li.sku, li.quantity) for li in s.lines])
            for s in shipments] == [
        ("BS-1043|51", "1Z999AA10123456784", [(1, "TENT-4P-GRN", 1)]),
        ("BS-1043|52", "1Z999AA10123456795", [(2, "STOVE-01", 1)])]


@pytest.mark.parametrize(("damage", "field"), [
    (lambda o: o["readOnly"].update(packages=7.5), "readOnly.packages"),
    (lambda o: o["readOnly"]["packages"][0].update(packageContents=1),
     "readOnly.packages[0].packageContents"),
    (lambda o: o["readOnly"]["packages"][0]["packageContents"][0].update(qty="Infinity"),
     "readOnly.packages[0].packageContents[0].qty"),
    (lambda o: o["readOnly"]["packages"][0]["packageContents"][0].update(qty=[1]),
     "readOnly.packages[0].packageContents[0].qty"),
    (lambda o: o["readOnly"]["packages"][0]["packageContents"][0].update(orderItemId="~"),
     "readOnly.packages[0].packageContents[0].orderItemId"),
    (lambda o: o["readOnly"]["packages"][0].update(weight="heavy"),
     "readOnly.packages[0].weight"),
    (lambda o: o["readOnly"]["packages"][0].update(trackingNumber="1Z\x00"),
     "readOnly.packages[0].trackingNumber"),
    (lambda o: o.update(referenceNum={"a": 1}), "referenceNum"),
    (lambda o: o.update(orderItems=5, _embedded={}), "orderItems"),
])
def test_a_wrong_member_in_a_closed_order_is_a_bad_response_naming_it(damage, field):
    order = closed_order()
    damage(order)

    with pytest.raises(BadResponse) as caught:
        mapping.shipments(order)

    assert caught.value.field == field
    assert caught.value.message.startswith(f"Extensiv sent {field} = ")


@pytest.mark.parametrize(("value", "field"), [("~", "readOnly.orderId"),
                                              (float("inf"), "readOnly.orderId"),
                                              (2**40, "readOnly.orderId")])
def test_an_order_id_that_is_not_a_whole_number_is_a_bad_response(value, field):
    order = closed_order()
    order["readOnly"]["orderId"] = value

    with pytest.raises(BadResponse) as caught:
        mapping.order_id(order)
    assert caught.value.field == field


def test_a_status_of_the_wrong_type_is_a_bad_response():
    order = closed_order()
    order["readOnly"]["status"] = {"closed": True}

    with pytest.raises(BadResponse, match="readOnly.status"):
        mapping.status(order)


@pytest.mark.parametrize(("value", "field"), [
    (float("nan"), "summaries[0].available"), ("1e999", "summaries[0].available"),
    ([3], "summaries[0].available"), (10**30, "summaries[0].available")])
def test_a_stock_figure_that_is_not_a_finite_number_is_a_bad_response(value, field):
    rows = copy.deepcopy(STOCK["summaries"])
    rows[0]["available"] = value

    with pytest.raises(BadResponse) as caught:
        mapping.levels(rows)
    assert caught.value.field == field


def test_a_sku_holding_a_lone_surrogate_is_a_bad_response():
    rows = copy.deepcopy(STOCK["summaries"])
    rows[1]["itemIdentifier"]["sku"] = "A\ud800"

    with pytest.raises(BadResponse, match="valid Unicode text"):
        mapping.levels(rows)


def test_stock_summed_over_facilities_still_merges_case_and_floors_available_at_zero():
    levels = mapping.levels(STOCK["summaries"])

    assert [(lv.sku, lv.available, lv.on_hand) for lv in levels] == [
        ("STOVE-01", 0, 3), ("TENT-4P-GRN", 10, 17)]

"""ShipHero answers and webhook bodies of the wrong shape, as the fuzzer (tests/fuzz,
benchmarks/fuzz.py) found them: each is a BadResponse naming the member, not a TypeError,
AttributeError or OverflowError from inside the mapping. Each is also in ``tests/corpus/``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dropstream.platforms.errors import BadResponse
from dropstream.platforms.shiphero import mapping

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
ANSWER = json.loads((CORPUS / "shiphero-shipments" / "shipments.json").read_text())
STOCK = json.loads((CORPUS / "shiphero-stock" / "warehouse-products.json").read_text())
WEBHOOK = json.loads((CORPUS / "shiphero-webhook" / "shipment-update.json").read_text())
INVENTORY = json.loads((CORPUS / "shiphero-webhook" / "inventory-update.json").read_text())


def wrapper() -> dict:
    return copy.deepcopy(ANSWER["data"]["shipments"])


def test_a_page_gives_its_nodes_and_no_cursor_on_the_last_page():
    nodes, cursor = mapping.page_of(wrapper(), "shipments")

    assert [n["legacy_id"] for n in nodes] == [315518042]
    assert cursor is None
    shipments = mapping.shipments_from_node(nodes[0])
    assert [(s.key, [(li.line_number, li.quantity) for li in s.lines]) for s in shipments] == [
        ("BS-1043|label-1", [(1, 1)]), ("BS-1043|label-2", [(2, 2)])]


@pytest.mark.parametrize(("data", "field"), [(3.5, "shipments.data"),
                                             ({"edges": 2.0}, "shipments.data.edges")])
def test_a_page_of_the_wrong_shape_is_a_bad_response(data, field):
    answer = wrapper()
    answer["data"] = data

    with pytest.raises(BadResponse) as caught:
        mapping.page_of(answer, "shipments")
    assert caught.value.field == field


@pytest.mark.parametrize(("damage", "field"), [
    (lambda n: n.update(shipping_labels=1.0), "shipping_labels"),
    (lambda n: n["line_items"].update(edges=7), "line_items.edges"),
    (lambda n: n["line_items"]["edges"][0]["node"].update(quantity=[1]),
     "line_items.edges.node.quantity"),
    (lambda n: n["line_items"]["edges"][0]["node"].update(quantity="^"),
     "line_items.edges.node.quantity"),
    (lambda n: n["shipping_labels"][0].update(carrier="u\x00ps"), "shipping_labels[0].carrier"),
])
def test_a_wrong_member_of_a_shipment_node_is_a_bad_response_naming_it(damage, field):
    node = wrapper()["data"]["edges"][0]["node"]
    damage(node)

    with pytest.raises(BadResponse) as caught:
        mapping.shipments_from_node(node)
    assert caught.value.field == field


@pytest.mark.parametrize(("value", "field"), [
    ("*", "warehouse_products[0].available"), (float("inf"), "warehouse_products[0].available"),
    ([2], "warehouse_products[0].available")])
def test_a_stock_figure_of_the_wrong_shape_is_a_bad_response(value, field):
    rows = copy.deepcopy(STOCK)
    rows[0]["available"] = value

    with pytest.raises(BadResponse) as caught:
        mapping.levels_from_rows(rows, frozenset())
    assert caught.value.field == field


@pytest.mark.parametrize(("damage", "field"), [
    (lambda b: b["fulfillment"].update(packages=1.5), "fulfillment.packages"),
    (lambda b: b["fulfillment"]["packages"][0]["line_items"][0].update(quantity={"n": 1}),
     "fulfillment.packages[0].line_items.quantity"),
])
def test_a_wrong_member_of_a_shipment_update_is_a_bad_response(damage, field):
    body = copy.deepcopy(WEBHOOK)
    damage(body)

    with pytest.raises(BadResponse) as caught:
        mapping.shipments_from_webhook(body)
    assert caught.value.field == field


def test_an_inventory_item_without_usable_figures_is_left_out_and_the_others_kept():
    body = copy.deepcopy(INVENTORY)
    second = copy.deepcopy(body["inventory"][0])
    second["sku"] = "200200"
    second["updated_warehouse"]["inventory"] = [1]
    body["inventory"].append(second)

    levels = mapping.levels_from_webhook(body, frozenset())

    assert [(lv.sku, lv.available, lv.on_hand) for lv in levels] == [("100100", 35, 40)]

"""Shipments (spec §5.2, §13 #9): packages with their own tracking, partial shipments over
time, the ``date_from``/``date_to`` window, and stock leaving the warehouse (§13 #14)."""

from __future__ import annotations

import pytest

from dropstream.sandbox.shiphero.errors import ControlError
from tests.sandbox.shiphero.conftest import World

SHIPMENTS = """
query($from: ISODateTime, $to: ISODateTime, $order: String) {
  shipments(date_from: $from, date_to: $to, order_id: $order) {
    complexity
    data(first: 10) {
      pageInfo { hasNextPage }
      edges { node {
        id legacy_id order_id warehouse_id created_date
        order { order_number partner_order_id fulfillment_status }
        line_items(first: 10) { edges { node { quantity shipping_label_id
          line_item { sku partner_line_item_id } } } }
        shipping_labels { id tracking_number carrier shipping_method shipping_name cost status
          order_number warehouse dimensions { weight } }
      } }
    }
  }
}"""

TWO_PACKAGES = [
    {"lines": {"hub-1-1": 2}, "tracking_number": "1Z999AA10123456784", "carrier": "ups",
     "method": "Ground", "cost": "8.12"},
    {"lines": {"hub-1-1": 1, "hub-1-2": 1}, "tracking_number": "9400111899223197428490",
     "carrier": "usps", "method": "Priority", "cost": "7.40",
     "dimensions": {"weight": "3.5"}},
]


def nodes(body: dict) -> list[dict]:
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["shipments"]["data"]["edges"]]


def test_an_order_shipped_in_two_packages_shows_both_labels(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 3), ("STOVE-01", 1)])

    shipment = world.sim.ship_order(order["legacy_id"], TWO_PACKAGES)

    [node] = nodes(world.gql(SHIPMENTS, {"from": "2026-03-06T00:00:00Z"}))
    assert node["id"] == shipment["id"]
    assert node["order_id"] == order["id"]
    assert node["warehouse_id"] == world.primary.id
    assert node["created_date"] == "2026-03-06T12:00:00+00:00"
    assert node["order"] == {"order_number": "BS-hub-1", "partner_order_id": "hub-1",
                             "fulfillment_status": "fulfilled"}
    labels = node["shipping_labels"]
    assert [(label["tracking_number"], label["carrier"], label["shipping_method"],
             label["shipping_name"], label["cost"], label["status"], label["order_number"],
             label["warehouse"], label["dimensions"]["weight"]) for label in labels] == [
        ("1Z999AA10123456784", "ups", "Ground", "ups Ground", "8.12", "valid", "BS-hub-1",
         "Primary", "1.00"),
        ("9400111899223197428490", "usps", "Priority", "usps Priority", "7.40", "valid",
         "BS-hub-1", "Primary", "3.5")]
    per_label = [(labels.index(next(lb for lb in labels if lb["id"] == li["shipping_label_id"])),
                  li["line_item"]["partner_line_item_id"], li["quantity"])
                 for li in (edge["node"] for edge in node["line_items"]["edges"])]
    assert per_label == [(0, "hub-1-1", 2), (1, "hub-1-1", 1), (1, "hub-1-2", 1)]


def test_partial_shipments_over_time(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 2), ("STOVE-01", 1)], allow_partial=True)
    world.sim.ship_order(order["legacy_id"], [{"lines": {"hub-1-1": 1},
                                               "tracking_number": "T-1"}])
    status_after_first = world.sim.order(order["legacy_id"])["fulfillment_status"]
    world.sim.clock.advance(7200)
    world.sim.ship_order(order["legacy_id"], [{"lines": {"hub-1-1": 1, "hub-1-2": 1},
                                               "tracking_number": "T-2"}])

    everything = nodes(world.gql(SHIPMENTS, {"order": order["id"]}))
    later = nodes(world.gql(SHIPMENTS, {"from": "2026-03-06T14:00:00+00:00"}))
    earlier = nodes(world.gql(SHIPMENTS, {"to": "2026-03-06T12:00:00+00:00"}))

    assert status_after_first == "partially_fulfilled"
    assert [n["shipping_labels"][0]["tracking_number"] for n in everything] == ["T-1", "T-2"]
    assert [n["shipping_labels"][0]["tracking_number"] for n in later] == ["T-2"]
    assert [n["shipping_labels"][0]["tracking_number"] for n in earlier] == ["T-1"]
    assert later[0]["order"]["fulfillment_status"] == "fulfilled"
    lines = world.gql("""query($id: String!) { order(id: $id) { data { line_items { edges { node {
        partner_line_item_id quantity_shipped quantity_pending_fulfillment fulfillment_status
        } } } } } }""", {"id": order["id"]})["data"]["order"]["data"]["line_items"]["edges"]
    assert [e["node"] for e in lines] == [
        {"partner_line_item_id": "hub-1-1", "quantity_shipped": 2,
         "quantity_pending_fulfillment": 0, "fulfillment_status": "fulfilled"},
        {"partner_line_item_id": "hub-1-2", "quantity_shipped": 1,
         "quantity_pending_fulfillment": 0, "fulfillment_status": "fulfilled"}]


def test_date_bounds_can_be_exclusive(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.sim.ship_order(order["legacy_id"])
    world.sim.configure(date_bounds_inclusive=False)

    assert nodes(world.gql(SHIPMENTS, {"from": "2026-03-06T12:00:00Z"})) == []


def test_a_partial_shipment_needs_allow_partial(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 2)])

    with pytest.raises(ControlError, match="does not allow partial shipments"):
        world.sim.ship_order(order["legacy_id"], [{"lines": {"hub-1-1": 1}}])
    forced = world.sim.ship_order(order["legacy_id"], [{"lines": {"hub-1-1": 1}}], force=True)

    assert forced["packages"][0]["lines"] == {"hub-1-1": 1}


def test_only_allocated_units_ship_and_held_orders_wait(world: World) -> None:
    backordered = world.create("hub-1", [("STOVE-01", 5)], allow_partial=True)  # 3 in stock
    held = world.create("hub-2", [("TENT-4P-GRN", 1)], holds={"fraud_hold": True})

    with pytest.raises(ControlError, match="has 3 allocated unit"):
        world.sim.ship_order(backordered["legacy_id"], [{"lines": {"hub-1-1": 4}}])
    with pytest.raises(ControlError, match=r"on hold \(fraud_hold\)"):
        world.sim.ship_order(held["legacy_id"])


def test_shipping_moves_stock(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 3), ("STOVE-01", 1)])
    query = """query($w: String) { warehouse_products(warehouse_id: $w) { data { edges { node {
        sku on_hand allocated available backorder } } } } }"""
    before = world.gql(query, {"w": world.primary.id})["data"]["warehouse_products"]["data"][
        "edges"]

    world.sim.ship_order(order["legacy_id"], TWO_PACKAGES)
    after = world.gql(query, {"w": world.primary.id})["data"]["warehouse_products"]["data"][
        "edges"]

    assert [e["node"] for e in before] == [
        {"sku": "TENT-4P-GRN", "on_hand": 10, "allocated": 3, "available": 7, "backorder": 0},
        {"sku": "STOVE-01", "on_hand": 3, "allocated": 1, "available": 2, "backorder": 0},
        {"sku": "LAMP-LED", "on_hand": 0, "allocated": 0, "available": 0, "backorder": 0}]
    assert [e["node"] for e in after] == [
        {"sku": "TENT-4P-GRN", "on_hand": 7, "allocated": 0, "available": 7, "backorder": 0},
        {"sku": "STOVE-01", "on_hand": 2, "allocated": 0, "available": 2, "backorder": 0},
        {"sku": "LAMP-LED", "on_hand": 0, "allocated": 0, "available": 0, "backorder": 0}]


def test_the_driver_over_the_control_endpoint(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 3), ("STOVE-01", 1)])

    shipped = world.control("POST", f"/orders/{order['legacy_id']}/ship",
                            {"packages": TWO_PACKAGES})
    refused = world.control("POST", f"/orders/{order['legacy_id']}/ship", {})
    snapshot = world.control("GET", f"/orders/{order['legacy_id']}").json()

    assert shipped.status_code == 201
    assert [(p["package_number"], p["tracking_number"], p["lines"])
            for p in shipped.json()["packages"]] == [
        (1, "1Z999AA10123456784", {"hub-1-1": 2}),
        (2, "9400111899223197428490", {"hub-1-1": 1, "hub-1-2": 1})]
    assert refused.status_code == 400
    assert refused.json() == {"error": "nothing to ship: no allocated units in the packages"}
    assert snapshot["fulfillment_status"] == "fulfilled"
    assert [(li["quantity_shipped"], li["quantity_allocated"])
            for li in snapshot["line_items"]] == [(3, 0), (1, 0)]


def test_one_shipment_by_id(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 1)])
    shipment = world.sim.ship_order(order["legacy_id"], [{"tracking_number": "ONE"}])

    body = world.gql('query($id: String!) { shipment(id: $id) { data { legacy_id '
                     'shipping_labels { tracking_number } address { name city } } } }',
                     {"id": str(shipment["legacy_id"])})

    assert body["data"]["shipment"]["data"] == {
        "legacy_id": shipment["legacy_id"], "shipping_labels": [{"tracking_number": "ONE"}],
        "address": {"name": "Jane Buyer", "city": "Portland"}}

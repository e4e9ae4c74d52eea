"""order_cancel (spec §6, §13 #13) and inventory (§10.1, §13 #14)."""

from __future__ import annotations

from tests.sandbox.shiphero.conftest import World

CANCEL = """mutation($data: CancelOrderInput!) { order_cancel(data: $data) {
  request_id complexity order { id fulfillment_status } } }"""

STOCK = """query($sku: String) { warehouse_products(sku: $sku, active: true) { request_id complexity
  data(first: 100) { pageInfo { hasNextPage } edges { node { sku warehouse_id
  warehouse_identifier on_hand allocated available backorder non_sellable_quantity
  reserve_inventory updated_at } } } } }"""


def stock_of(world: World, sku: str) -> dict[str, tuple[int, int, int, int]]:
    body = world.gql(STOCK, {"sku": sku})
    assert "errors" not in body, body
    return {e["node"]["warehouse_identifier"]: (e["node"]["on_hand"], e["node"]["allocated"],
                                                e["node"]["available"], e["node"]["backorder"])
            for e in body["data"]["warehouse_products"]["data"]["edges"]}


def test_cancel_an_unshipped_order_releases_its_stock(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 4)])
    assert stock_of(world, "TENT-4P-GRN")["Primary"] == (10, 4, 6, 0)

    body = world.gql(CANCEL, {"data": {"order_id": order["id"], "reason": "Customer request",
                                       "void_on_platform": False}})

    assert body["data"]["order_cancel"]["complexity"] == 10
    assert body["data"]["order_cancel"]["order"] == {"id": order["id"],
                                                     "fulfillment_status": "canceled"}
    assert stock_of(world, "TENT-4P-GRN")["Primary"] == (10, 0, 10, 0)
    snapshot = world.sim.order(order["legacy_id"])
    assert (snapshot["canceled"], snapshot["cancel_reason"]) == (True, "Customer request")


def test_cancel_is_refused_after_shipping_unless_forced(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 2)], allow_partial=True)
    world.sim.ship_order(order["legacy_id"], [{"lines": {"hub-1-1": 1}}])

    refused = world.gql(CANCEL, {"data": {"order_id": order["id"]}})
    forced = world.gql(CANCEL, {"data": {"order_id": str(order["legacy_id"]), "force": True}})

    assert refused["data"] == {"order_cancel": None}
    assert (refused["errors"][0]["message"], refused["errors"][0]["code"]) == (
        "The order has shipments and cannot be canceled; use force to cancel anyway", 6)
    assert forced["data"]["order_cancel"]["order"]["fulfillment_status"] == "canceled"
    assert stock_of(world, "TENT-4P-GRN")["Primary"] == (9, 0, 9, 0)


def test_cancel_of_a_fulfilled_or_canceled_order_fails(world: World) -> None:
    shipped = world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.sim.ship_order(shipped["legacy_id"])
    canceled = world.create("hub-2", [("TENT-4P-GRN", 1)])
    world.gql(CANCEL, {"data": {"order_id": canceled["id"]}})

    messages = [world.gql(CANCEL, {"data": {"order_id": o["id"], "force": True}})
                ["errors"][0]["message"] for o in (shipped, canceled)]

    assert messages == ["The order is fulfilled and cannot be canceled",
                        "The order is already canceled"]


def test_cancel_once_picking_started(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.control("POST", f"/orders/{order['legacy_id']}/pick")

    refused = world.gql(CANCEL, {"data": {"order_id": order["id"]}})
    world.sim.configure(cancel_started="allow")
    allowed = world.gql(CANCEL, {"data": {"order_id": order["id"]}})

    assert refused["errors"][0]["message"].startswith("The order is being picked")
    assert "errors" not in allowed


def test_cancel_an_unknown_order(world: World) -> None:
    body = world.gql(CANCEL, {"data": {"order_id": "T3JkZXI6OTk5"}})

    assert (body["errors"][0]["message"], body["errors"][0]["code"]) == (
        "Order 'T3JkZXI6OTk5' not found", 5)


def test_inventory_snapshot_and_adjustments(world: World) -> None:
    world.create("hub-1", [("STOVE-01", 5)])  # 3 on hand: 3 allocated, 2 backordered
    assert stock_of(world, "STOVE-01") == {"Primary": (3, 3, 0, 2)}

    world.sim.set_stock(world.brand, "STOVE-01", world.primary, delta=4)  # stock arrives
    assert stock_of(world, "STOVE-01") == {"Primary": (7, 5, 2, 0)}
    line = world.sim.order("hub-1")["line_items"][0]
    assert (line["quantity_allocated"], line["backorder_quantity"]) == (5, 0)

    answer = world.control("PUT", f"/accounts/{world.brand.legacy_id}/products/STOVE-01/stock",
                           {"warehouse": "Primary", "reserve_inventory": 1,
                            "non_sellable_quantity": 1})
    assert answer.status_code == 200
    assert (answer.json()["on_hand"], answer.json()["available"]) == (7, 0)

    world.sim.set_stock(world.brand, "STOVE-01", "Primary", on_hand=4)  # a count finds less
    assert stock_of(world, "STOVE-01") == {"Primary": (4, 2, 0, 3)}


def test_warehouse_products_filters_and_updated_at(world: World) -> None:
    world.sim.clock.advance(60)
    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=-1)

    by_warehouse = world.gql('query($w: String) { warehouse_products(warehouse_id: $w) { data '
                             '{ edges { node { sku on_hand } } } } }',
                             {"w": str(world.east.legacy_id)})
    changed = world.gql('{ warehouse_products(updated_from: "2026-03-06T12:01:00Z") { data '
                        '{ edges { node { sku warehouse_identifier on_hand updated_at } } } } }')

    assert [e["node"] for e in by_warehouse["data"]["warehouse_products"]["data"]["edges"]] == [
        {"sku": "TENT-4P-GRN", "on_hand": 0}, {"sku": "LAMP-LED", "on_hand": 4}]
    assert [e["node"] for e in changed["data"]["warehouse_products"]["data"]["edges"]] == [
        {"sku": "LAMP-LED", "warehouse_identifier": "East", "on_hand": 4,
         "updated_at": "2026-03-06T12:01:00+00:00"}]


def test_products_with_all_their_warehouses(world: World) -> None:
    body = world.gql('{ products(sku: "TENT-4P-GRN") { data(first: 5) { edges { node { sku name '
                     'warehouse_products { warehouse_id on_hand available } } } } } '
                     'product(sku: "LAMP-LED") { data { price warehouse_products { on_hand } } } }')

    [node] = [e["node"] for e in body["data"]["products"]["data"]["edges"]]
    assert node == {"sku": "TENT-4P-GRN", "name": "Tent 4P green", "warehouse_products": [
        {"warehouse_id": world.primary.id, "on_hand": 10, "available": 10},
        {"warehouse_id": world.east.id, "on_hand": 0, "available": 0}]}
    assert body["data"]["product"]["data"] == {
        "price": "0.00", "warehouse_products": [{"on_hand": 0}, {"on_hand": 5}]}

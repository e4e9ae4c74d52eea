"""order_create (spec §4) and reading orders back (§5.1), accounts (§3), allocation (§13 #8)."""

from __future__ import annotations

import base64

from tests.fixtures.secret_leaks import make_secret
from tests.sandbox.shiphero.conftest import CREATE, World, order_input

BY_PARTNER = """
query Find($key: String!) {
  orders(partner_order_id: $key) {
    request_id complexity
    data(first: 2) { edges { node { id order_number fulfillment_status } } }
  }
}"""


def test_order_create_answers_the_spec_shape(world: World) -> None:
    body = world.gql(CREATE, {"data": order_input("hub-2f9c1e", [("TENT-4P-GRN", 2),
                                                                  ("STOVE-01", 1)])})

    answer = body["data"]["order_create"]
    assert answer["complexity"] == 10
    assert len(answer["request_id"]) == 24
    order = answer["order"]
    assert base64.b64decode(order["id"]).decode() == f"Order:{order['legacy_id']}"
    assert {k: order[k] for k in ("order_number", "partner_order_id", "shop_name",
                                  "fulfillment_status")} == {
        "order_number": "BS-hub-2f9c1e", "partner_order_id": "hub-2f9c1e",
        "shop_name": "brightsites-hub", "fulfillment_status": "pending"}
    lines = [edge["node"] for edge in order["line_items"]["edges"]]
    assert [(n["sku"], n["partner_line_item_id"], n["quantity"], n["quantity_allocated"],
             n["backorder_quantity"]) for n in lines] == [
        ("TENT-4P-GRN", "hub-2f9c1e-1", 2, 2, 0), ("STOVE-01", "hub-2f9c1e-2", 1, 1, 0)]
    assert base64.b64decode(lines[0]["id"]).decode().startswith("LineItem:")


def test_an_order_is_found_by_partner_order_id_and_by_order_number(world: World) -> None:
    created = world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.create("hub-2", [("TENT-4P-GRN", 1)])

    found = world.gql(BY_PARTNER, {"key": "hub-1"})["data"]["orders"]
    by_number = world.gql('{ orders(order_number: "BS-hub-2") { data(first: 2) '
                          '{ edges { node { partner_order_id } } } } }')
    none = world.gql(BY_PARTNER, {"key": "hub-404"})["data"]["orders"]

    assert found["complexity"] == 3
    assert found["data"]["edges"] == [{"node": {"id": created["id"], "order_number": "BS-hub-1",
                                                "fulfillment_status": "pending"}}]
    assert by_number["data"]["orders"]["data"]["edges"] == [
        {"node": {"partner_order_id": "hub-2"}}]
    assert none["data"]["edges"] == []


def test_order_by_id_accepts_the_relay_id_and_reads_nested_fields(world: World) -> None:
    created = world.create("hub-1", [("TENT-4P-GRN", 2)],
                           tags=["b2b"], holds={"operator_hold": True})

    body = world.gql("""query($id: String!) { order(id: $id) { data {
        legacy_id order_date shipping_address { city state_code zip }
        shipping_lines { title carrier method price } tags
        holds { operator_hold address_hold }
        allocations { warehouse_id line_items { sku quantity_allocated } } } } }""",
                     {"id": created["id"]})

    order = body["data"]["order"]["data"]
    assert order == {
        "legacy_id": created["legacy_id"], "order_date": "2026-03-05T14:32:10+00:00",
        "shipping_address": {"city": "Portland", "state_code": "OR", "zip": "97209"},
        "shipping_lines": {"title": "UPS Ground", "carrier": "UPS", "method": "Ground",
                           "price": "9.95"},
        "tags": ["b2b"], "holds": {"operator_hold": True, "address_hold": False},
        "allocations": [{"warehouse_id": world.primary.id,
                         "line_items": [{"sku": "TENT-4P-GRN", "quantity_allocated": 2}]}]}


def test_a_duplicate_partner_order_id_creates_a_second_order_by_default(world: World) -> None:
    first = world.create("hub-1", [("TENT-4P-GRN", 1)])
    second = world.create("hub-1", [("TENT-4P-GRN", 1)])

    edges = world.gql(BY_PARTNER, {"key": "hub-1"})["data"]["orders"]["data"]["edges"]

    assert [e["node"]["id"] for e in edges] == [first["id"], second["id"]]


def test_duplicates_can_be_rejected(world: World) -> None:
    world.sim.configure(duplicate_orders="reject")
    world.create("hub-1", [("TENT-4P-GRN", 1)])

    body = world.gql(CREATE, {"data": order_input("hub-1", [("TENT-4P-GRN", 1)])})

    assert body["data"] == {"order_create": None}
    assert body["errors"][0]["message"] == (
        "An order with partner_order_id 'hub-1' already exists")


def test_an_unknown_sku_is_rejected_or_backordered(world: World) -> None:
    rejected = world.gql(CREATE, {"data": order_input("hub-1", [("NOPE", 1)])})
    world.sim.configure(unknown_sku="backorder")
    accepted = world.create("hub-2", [("NOPE", 3)])

    assert rejected["errors"][0]["message"] == "The SKU 'NOPE' does not exist in this account"
    assert rejected["errors"][0]["code"] == 5
    node = accepted["line_items"]["edges"][0]["node"]
    assert (node["quantity_allocated"], node["backorder_quantity"]) == (0, 3)


def test_a_bad_us_address_puts_an_address_hold_unless_told_to_skip(world: World) -> None:
    bad = order_input("hub-1", [("TENT-4P-GRN", 1)])
    bad["shipping_address"]["zip"] = "ABC"
    skipped = order_input("hub-2", [("TENT-4P-GRN", 1)], skip_address_validation=True)
    skipped["shipping_address"]["zip"] = "ABC"

    world.gql(CREATE, {"data": bad})
    world.gql(CREATE, {"data": skipped})

    holds = {o["partner_order_id"]: o["holds"]["address_hold"]
             for o in world.sim.orders(world.brand)}
    assert holds == {"hub-1": True, "hub-2": False}


def test_stock_is_allocated_in_one_warehouse_or_split(world: World) -> None:
    # TENT: Primary 10, East 0; LAMP: Primary 0, East 5.
    whole = world.create("hub-1", [("TENT-4P-GRN", 1), ("LAMP-LED", 2)])
    split = world.create("hub-2", [("TENT-4P-GRN", 1), ("LAMP-LED", 2)], allow_split=True)

    def placed(order_id: int) -> list[tuple[str, str | None, int, int]]:
        return [(line["sku"], line["warehouse"], line["quantity_allocated"],
                 line["backorder_quantity"]) for line in world.sim.order(order_id)["line_items"]]

    assert placed(whole["legacy_id"]) == [("TENT-4P-GRN", "Primary", 1, 0),
                                          ("LAMP-LED", "Primary", 0, 2)]
    assert placed(split["legacy_id"]) == [("TENT-4P-GRN", "Primary", 1, 0),
                                          ("LAMP-LED", "East", 2, 0)]


def test_a_line_pinned_to_a_warehouse(world: World) -> None:
    data = order_input("hub-1", [("TENT-4P-GRN", 1)])
    data["line_items"][0]["warehouse_id"] = world.east.id

    order = world.gql(CREATE, {"data": data})["data"]["order_create"]["order"]

    line = world.sim.order(order["legacy_id"])["line_items"][0]
    assert (line["warehouse"], line["quantity_allocated"], line["backorder_quantity"]) == (
        "East", 0, 1)


def test_a_3pl_creates_orders_for_a_customer_by_either_id_form(world: World) -> None:
    tpl = world.sim.add_account("Big 3PL", is_3pl=True, refresh_token=make_secret("rt3"))
    customer = world.sim.add_customer(tpl, "Brand X")
    dock = world.sim.add_warehouse(tpl, "Dock")
    world.sim.add_product(customer, "MUG", stock={dock: 4})
    token = world.refresh(tpl.refresh_token).json()["access_token"]

    for key, form in (("c-1", str(customer.legacy_id)), ("c-2", customer.id)):
        body = world.gql(CREATE, {"data": order_input(key, [("MUG", 1)],
                                                      customer_account_id=form)}, token=token)
        assert "errors" not in body, body
    own = world.gql('{ orders { data { edges { node { partner_order_id } } } } }', token=token)
    theirs = world.gql('query($c: String) { orders(customer_account_id: $c) { data { edges '
                       '{ node { partner_order_id } } } } }', {"c": str(customer.legacy_id)},
                       token=token)
    stranger = world.gql('{ orders(customer_account_id: "1") { request_id } }', token=token)

    assert own["data"]["orders"]["data"]["edges"] == []
    assert [e["node"]["partner_order_id"] for e in
            theirs["data"]["orders"]["data"]["edges"]] == ["c-1", "c-2"]
    assert stranger["errors"][0]["message"] == "Customer account '1' not found"
    assert [s["on_hand"] - s["available"] for s in world.sim.stock(customer, "MUG")] == [2]
    account = world.gql("{ account { data { is_3pl customers { edges { node { legacy_id } } } "
                        "warehouses { identifier } } } }", token=token)["data"]["account"]
    assert account["data"] == {"is_3pl": True, "warehouses": [{"identifier": "Dock"}],
                               "customers": {"edges": [
                                   {"node": {"legacy_id": customer.legacy_id}}]}}


def test_uuid_converts_a_legacy_id(world: World) -> None:
    body = world.gql("{ uuid(legacy_id: 201537787, entity: Order) { data { id legacy_id } } }")

    assert body["data"]["uuid"]["data"] == {"id": "T3JkZXI6MjAxNTM3Nzg3",
                                            "legacy_id": 201537787}


def test_orders_filter_by_status_case_insensitively_and_by_dates(world: World) -> None:
    first = world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.sim.clock.advance(3600)
    world.create("hub-2", [("TENT-4P-GRN", 1)])
    world.sim.cancel_order(first["legacy_id"], reason="test")

    def keys(args: str) -> list[str]:
        body = world.gql(f"{{ orders({args}) {{ data {{ edges {{ node {{ partner_order_id }} }} "
                         "} } }")
        return [e["node"]["partner_order_id"] for e in body["data"]["orders"]["data"]["edges"]]

    assert keys('fulfillment_status: "CANCELLED"') == ["hub-1"]
    assert keys('fulfillment_status: "pending"') == ["hub-2"]
    assert keys('updated_from: "2026-03-06T13:00:00+00:00"') == ["hub-1", "hub-2"]
    assert keys('updated_to: "2026-03-06T12:59:59Z"') == []
    assert keys('sku: "TENT-4P-GRN", email: "jane@example.com"') == ["hub-1", "hub-2"]


def test_order_update_holds_releases_a_hold(world: World) -> None:
    order = world.create("hub-1", [("TENT-4P-GRN", 1)], holds={"payment_hold": True})

    body = world.gql('mutation($id: String!) { order_update_holds(data: {order_id: $id, '
                     'payment_hold: false}) { complexity order { holds { payment_hold } } } }',
                     {"id": order["id"]})
    shipment = world.sim.ship_order(order["legacy_id"])

    assert body["data"]["order_update_holds"] == {"complexity": 10,
                                                  "order": {"holds": {"payment_hold": False}}}
    assert shipment["packages"][0]["lines"] == {"hub-1-1": 1}

"""Webhooks (spec §10.2, §11): registration, signed delivery to a loopback receiver, payloads,
retries with the same message id, health, and the drop / duplicate / bad-signature faults."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from dropstream.sandbox.shiphero import ShipHeroSandbox, SimClock
from dropstream.sandbox.shiphero.errors import ControlError
from tests.sandbox.shiphero.conftest import START, Receiver, World

CREATE_HOOK = """mutation($data: CreateWebhookInput!) { webhook_create(data: $data) {
  request_id complexity webhook { id legacy_id name url shop_name shared_signature_secret
  health } } }"""


def valid(raw: bytes, header: str | None, secret: str) -> bool:
    """The receiver's own check: base64(HMAC-SHA256(raw body, secret)), constant time."""
    if header is None:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.encode())


def register(world: World, receiver: Receiver, name: str) -> str:
    body = world.gql(CREATE_HOOK, {"data": {"name": name, "url": receiver.url,
                                            "shop_name": "brightsites-hub"}})
    assert "errors" not in body, body
    return body["data"]["webhook_create"]["webhook"]["shared_signature_secret"]


def test_webhook_create_returns_the_secret_and_refuses_other_hosts(world: World,
                                                                   receiver: Receiver) -> None:
    body = world.gql(CREATE_HOOK, {"data": {"name": "Shipment Update", "url": receiver.url}})
    remote = world.gql(CREATE_HOOK, {"data": {"name": "Order Canceled",
                                              "url": "https://hub.example.com/wh/shiphero"}})
    unknown = world.gql(CREATE_HOOK, {"data": {"name": "Shipment Updates",
                                               "url": receiver.url}})
    listed = world.gql("{ webhooks { data { edges { node { name url health } } } } }")

    hook = body["data"]["webhook_create"]["webhook"]
    assert (hook["name"], hook["url"], hook["shop_name"], hook["health"]) == (
        "Shipment Update", receiver.url, None, "HEALTHY")
    assert len(hook["shared_signature_secret"]) >= 24
    assert body["data"]["webhook_create"]["complexity"] == 10
    assert remote["errors"][0]["message"] == ("Invalid url: the simulator delivers only over "
                                              "http:// (loopback)")
    assert unknown["errors"][0]["message"].startswith("Invalid webhook name 'Shipment Updates'")
    assert listed["data"]["webhooks"]["data"]["edges"] == [
        {"node": {"name": "Shipment Update", "url": receiver.url, "health": "HEALTHY"}}]
    with pytest.raises(ControlError, match="only to loopback"):
        world.sim.register_webhook(world.brand, "Order Canceled", "http://10.0.0.1:80/x")


def test_shipment_update_per_package_with_a_valid_signature(world: World,
                                                            receiver: Receiver) -> None:
    secret = register(world, receiver, "Shipment Update")
    order = world.create("hub-1", [("TENT-4P-GRN", 3), ("STOVE-01", 1)])

    shipment = world.sim.ship_order(order["legacy_id"], [
        {"lines": {"hub-1-1": 2}, "tracking_number": "1ZA", "carrier": "ups", "method": "Ground"},
        {"lines": {"hub-1-1": 1, "hub-1-2": 1}, "tracking_number": "1ZB", "carrier": "fedex",
         "method": "2Day"}])
    assert world.sim.wait_for_webhooks(5)

    hits = receiver.of_type("Shipment Update")
    assert len(hits) == 2
    for hit in hits:
        assert valid(hit.raw, hit.headers.get("x-shiphero-hmac-sha256"), secret)
        assert hit.headers["content-type"] == "application/json"
    assert len({hit.headers["x-shiphero-message-id"] for hit in hits}) == 2
    first, second = (hit.body["fulfillment"] for hit in hits)
    assert hits[0].body["test"] == "0"
    assert {k: first[k] for k in ("shipment_id", "shipment_uuid", "warehouse", "warehouse_id",
                                  "partner_order_id", "order_number", "tracking_number",
                                  "package_number", "total_packages", "shipping_carrier",
                                  "shipping_method")} == {
        "shipment_id": shipment["legacy_id"], "shipment_uuid": shipment["id"],
        "warehouse": "Primary", "warehouse_id": world.primary.legacy_id,
        "partner_order_id": "hub-1", "order_number": "BS-hub-1", "tracking_number": "1ZA",
        "package_number": 1, "total_packages": 2, "shipping_carrier": "ups",
        "shipping_method": "Ground"}
    lines = world.sim.order(order["legacy_id"])["line_items"]
    assert first["line_items"] == [{
        "id": "hub-1-1", "shiphero_id": lines[0]["legacy_id"], "quantity": 2,
        "sku": "TENT-4P-GRN", "serial_numbers": [], "customs_description": "",
        "package": "Package #1", "lot_id": None, "lot_name": None, "lot_expiration": None}]
    assert [(li["id"], li["quantity"]) for li in second["line_items"]] == [("hub-1-1", 1),
                                                                           ("hub-1-2", 1)]
    assert (second["tracking_number"], second["shipping_carrier"], second["package_number"]) == (
        "1ZB", "fedex", 2)
    assert [(p["package_number"], p["tracking_number"], p["shipping_carrier"])
            for p in first["packages"]] == [(1, "1ZA", "ups"), (2, "1ZB", "fedex")]
    assert first["shipping_address"]["name"] == "Jane Buyer"
    assert [d["outcome"] for d in world.sim.webhook_deliveries()] == ["delivered", "delivered"]


def test_inventory_update_on_a_shipment_and_an_adjustment(world: World,
                                                          receiver: Receiver) -> None:
    secret = register(world, receiver, "Inventory Update")
    order = world.create("hub-1", [("TENT-4P-GRN", 2)])  # allocation alone: no webhook
    world.sim.ship_order(order["legacy_id"])
    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=3)
    world.sim.set_stock(world.brand, "LAMP-LED", "East", reserve_inventory=1)  # on_hand same
    assert world.sim.wait_for_webhooks(5)

    hits = receiver.of_type("Inventory Update")
    assert all(valid(h.raw, h.headers.get("x-shiphero-hmac-sha256"), secret) for h in hits)
    assert [h.body for h in hits] == [
        {"account_id": world.brand.legacy_id, "account_uuid": world.brand.id,
         "webhook_type": "Inventory Update", "inventory": [{
             "sku": "TENT-4P-GRN", "inventory": "8", "backorder_quantity": "0", "on_hand": "8",
             "virtual": False, "updated_warehouse": {
                 "warehouse_id": world.primary.legacy_id, "warehouse_uuid": world.primary.id,
                 "identifier": "Primary", "inventory": "8", "on_hand": "8",
                 "backorder_quantity": "0"}}]},
        {"account_id": world.brand.legacy_id, "account_uuid": world.brand.id,
         "webhook_type": "Inventory Update", "inventory": [{
             "sku": "LAMP-LED", "inventory": "8", "backorder_quantity": "0", "on_hand": "8",
             "virtual": False, "updated_warehouse": {
                 "warehouse_id": world.east.legacy_id, "warehouse_uuid": world.east.id,
                 "identifier": "East", "inventory": "8", "on_hand": "8",
                 "backorder_quantity": "0"}}]}]


def test_order_canceled_payload(world: World, receiver: Receiver) -> None:
    register(world, receiver, "Order Canceled")
    order = world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.sim.clock.advance(90)

    world.gql('mutation($id: String!) { order_cancel(data: {order_id: $id, reason: "Customer '
              'request"}) { order { fulfillment_status } } }', {"id": order["id"]})
    assert world.sim.wait_for_webhooks(5)

    [hit] = receiver.of_type("Order Canceled")
    assert hit.body == {
        "webhook_type": "Order Canceled", "test": "0", "account_id": world.brand.legacy_id,
        "account_uuid": world.brand.id, "order_id": order["legacy_id"],
        "order_uuid": order["id"], "order_number": "BS-hub-1", "partner_order_id": "hub-1",
        "canceled_by_user_id": None, "canceled_by_name": "Public API",
        "canceled_at": "2026-03-06T12:01:30+00:00", "cancel_reason": "Customer request",
        "warehouse_id": world.primary.legacy_id, "warehouse_name": "Primary"}


def test_a_dropped_delivery_is_never_sent(world: World, receiver: Receiver) -> None:
    register(world, receiver, "Inventory Update")
    world.control("POST", "/webhooks/faults", {"action": "drop", "count": 1})

    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)

    assert [h.body["inventory"][0]["on_hand"] for h in receiver.received] == ["7"]
    assert [d["outcome"] for d in world.sim.webhook_deliveries()] == ["dropped", "delivered"]


def _dropped_pattern(receiver: Receiver) -> list[str]:
    with ShipHeroSandbox(seed=5, clock=SimClock(START, frozen=True)) as sim:
        brand = sim.add_account("Acme")
        sim.add_warehouse(brand, "Primary")
        sim.add_product(brand, "SKU", stock={"Primary": 0})
        sim.register_webhook(brand, "Inventory Update", receiver.url)
        sim.add_webhook_faults({"action": "drop", "probability": 0.5, "count": None})
        for _ in range(20):
            sim.set_stock(brand, "SKU", "Primary", delta=1)
        assert sim.wait_for_webhooks(5)
        return [d["outcome"] for d in sim.webhook_deliveries()]


def test_a_seeded_fraction_of_deliveries_is_dropped(receiver: Receiver) -> None:
    first, second = _dropped_pattern(receiver), _dropped_pattern(receiver)

    assert first == second
    assert 3 <= first.count("dropped") <= 17
    assert first.count("delivered") == 20 - first.count("dropped")
    assert len(receiver.received) == 2 * first.count("delivered")


def test_a_duplicated_delivery_arrives_twice_with_the_same_message_id(
        world: World, receiver: Receiver) -> None:
    register(world, receiver, "Inventory Update")
    world.sim.add_webhook_faults({"action": "duplicate"})

    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)

    assert len(receiver.received) == 2
    assert receiver.received[0].raw == receiver.received[1].raw
    ids = {h.headers["x-shiphero-message-id"] for h in receiver.received}
    assert len(ids) == 1


def test_a_bad_signature_fault(world: World, receiver: Receiver) -> None:
    secret = register(world, receiver, "Inventory Update")
    world.sim.add_webhook_faults({"action": "bad_signature", "webhook_type": "Inventory Update"})

    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)

    assert [valid(h.raw, h.headers["x-shiphero-hmac-sha256"], secret)
            for h in receiver.received] == [False, True]


def test_a_missing_signature_header(world: World, receiver: Receiver) -> None:
    hook = world.sim.register_webhook(world.brand, "Inventory Update", receiver.url,
                                      send_signature=False)

    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)

    assert "x-shiphero-hmac-sha256" not in receiver.received[0].headers
    assert hook["send_signature"] is False


def test_failed_attempts_are_retried_with_the_same_message_id(world: World,
                                                              receiver: Receiver) -> None:
    register(world, receiver, "Inventory Update")
    receiver.replies = [(500, b"{}"), (200, b"OK"), (200, b'{"code":"200","Message":"Success"}')]

    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)

    assert len(receiver.received) == 3
    assert len({h.headers["x-shiphero-message-id"] for h in receiver.received}) == 1
    [delivery] = world.sim.webhook_deliveries()
    assert delivery["outcome"] == "delivered"
    assert [(a["status"], a["ok"]) for a in delivery["attempts"]] == [
        (500, False), (200, False), (200, True)]
    assert delivery["attempts"][1]["error"] == 'the answer is not {"code": "200", ...} JSON'


def test_five_retries_then_health_warning_and_unhealthy(world: World,
                                                        receiver: Receiver) -> None:
    register(world, receiver, "Inventory Update")
    world.sim.configure(webhook_warning_after=1, webhook_unhealthy_after=2)
    receiver.default = (503, b"{}")

    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)
    after_one = world.sim.webhooks()[0]
    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)
    assert world.sim.wait_for_webhooks(5)
    after_two = world.sim.webhooks()[0]
    world.sim.set_stock(world.brand, "LAMP-LED", "East", delta=1)  # disabled: nothing sent
    assert world.sim.wait_for_webhooks(5)

    assert len(receiver.received) == 12  # 2 triggers × (1 + 5 retries)
    assert (after_one["health"], after_one["enabled"]) == ("WARNING", True)
    assert (after_two["health"], after_two["enabled"]) == ("UNHEALTHY", False)
    health = world.gql("{ webhooks { data { edges { node { health } } } } }")
    assert health["data"]["webhooks"]["data"]["edges"] == [{"node": {"health": "UNHEALTHY"}}]


def test_a_webhook_for_another_shop_stays_silent(world: World, receiver: Receiver) -> None:
    world.sim.register_webhook(world.brand, "Order Canceled", receiver.url, shop_name="other")
    world.create("hub-1", [("TENT-4P-GRN", 1)])

    world.sim.cancel_order("hub-1")
    assert world.sim.wait_for_webhooks(5)

    assert receiver.received == []


def test_a_delayed_delivery_is_overtaken(world: World, receiver: Receiver) -> None:
    register(world, receiver, "Inventory Update")
    world.sim.add_webhook_faults({"action": "delay", "delay_ms": 300})

    world.sim.set_stock(world.brand, "LAMP-LED", "East", on_hand=6)
    world.sim.set_stock(world.brand, "LAMP-LED", "East", on_hand=7)
    assert world.sim.wait_for_webhooks(5)

    assert [h.body["inventory"][0]["on_hand"] for h in receiver.received] == ["7", "6"]


def test_webhook_delete_then_recreate(world: World, receiver: Receiver) -> None:
    register(world, receiver, "Order Canceled")
    again = world.gql(CREATE_HOOK, {"data": {"name": "Order Canceled", "url": receiver.url,
                                             "shop_name": "brightsites-hub"}})

    deleted = world.gql('mutation { webhook_delete(data: {name: "Order Canceled", '
                        'shop_name: "brightsites-hub"}) { request_id complexity } }')
    missing = world.gql('mutation { webhook_delete(data: {name: "Order Canceled"}) '
                        '{ request_id } }')

    assert again["errors"][0]["message"] == (
        "A 'Order Canceled' webhook already exists for this shop; delete it first")
    assert deleted["data"]["webhook_delete"]["complexity"] == 10
    assert missing["errors"][0]["message"] == "Webhook 'Order Canceled' not found"
    register(world, receiver, "Order Canceled")

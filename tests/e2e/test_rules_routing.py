"""One store, two warehouses, rules between them, end to end: the Bright Sites sandbox over
HTTP, two DSFX folders each worked by its own warehouse robot, every run under the run lock."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from dropstream.connections import actions as connections
from dropstream.inventory.models import InventoryLevel
from dropstream.orders.models import Order, OrderStatus
from dropstream.rules import actions as rules
from dropstream.rules.models import RuleAction
from dropstream.sandbox.warehouse.robot import WarehouseRobot
from tests.e2e.conftest import Hub, run_locked
from tests.fixtures.warehouse_files import ph_numbers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus
A = RuleAction


def second_warehouse(hub: Hub, root: Path, *, connection_string: str = "") -> Hub:
    """A second warehouse (connection B) for the hub's store; it imports nothing itself. Its
    DSFX folder is ``root``, reached as ``connection_string`` when given (an SFTP server
    serving ``root``), else as a local folder."""
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(exist_ok=True)
    first = hub.connection
    warehouse = connections.create_warehouse(
        first.customer, description="West DC", platform="dropstream",
        adapter={"connection_string": connection_string or f"file://{root}",
                 "settle_seconds": 0})
    connection = connections.create_connection(name="Acme West", customer=first.customer,
                                               store=first.store, warehouse=warehouse)
    connection.imports_orders = False
    connection.save(update_fields=["imports_orders"])
    connections.set_connection_enabled(connection, timezone.now())
    robot = WarehouseRobot(f"file://{root}", ship_delay_s=0, split_rate=0.0, short_rate=0.0,
                           state_path=str(root.parent / "robot-b-state.json"))
    return Hub(connection=connection, robot=robot, root=root, control=hub.control)


def ship_everything(*hubs: Hub) -> None:
    for each in hubs:
        each.robot.tick()
        each.robot.ship_all_now()


def activate(store, name: str, action: str, condition: str, arguments: dict):
    rule = rules.create_rule(store, name=name, action=action, condition=condition,
                             arguments=arguments)
    return rules.activate_rule(rule)


def split_by_stock(hub, west) -> tuple[str, str]:
    """The store's rule: a line goes where its SKU is stocked (one SKU in the east, the hub's
    connection, one in the west). Returns (east SKU, west SKU)."""
    records = [r for r in hub.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    east_sku, west_sku = records[0]["final_sku"], records[1]["final_sku"]
    InventoryLevel.objects.create(warehouse_id=hub.connection.warehouse_id, sku=east_sku,
                                  available=100_000)
    InventoryLevel.objects.create(warehouse_id=west.connection.warehouse_id, sku=west_sku,
                                  available=100_000)
    east_id, west_id = hub.connection.pk, west.connection.pk
    activate(hub.connection.store, "Ship from stock", A.SPLIT, "true", {
        "connection_by_line": f"{east_id} in line.stock && line.stock[{east_id}] >= "
                              f"line.quantity ? {east_id} : {west_id}"})
    return east_sku, west_sku


@pytest.fixture
def west(hub, tmp_path) -> Hub:
    return second_warehouse(hub, tmp_path / "dsfx-west")


def test_us_orders_go_to_a_and_the_rest_to_b(hub, west):
    activate(hub.connection.store, "Abroad from West", A.ROUTE, 'order.ship_to.country != "US"',
             {"connection_id": west.connection.pk})
    home = hub.control.create_orders(2, status="paid")
    abroad = hub.control.create_orders(2, status="paid", customer={"address": {
        "country": "Canada", "state": "Ontario", "city": "Toronto", "zip": "M5J 2N8"}})

    sales = hub.run("sales_order")
    assert sales.counts["imported"] == 4 and sales.counts["exported"] == 2
    west_sales = west.run("sales_order")
    # The receiving connection reads nothing from the store: it sends what was routed to it.
    assert west_sales.requests == {} and west_sales.counts["exported"] == 2
    by_id = {o.external_id: o for o in Order.objects.all()}
    assert {by_id[str(i)].connection_id for i in home} == {hub.connection.pk}
    assert {by_id[str(i)].connection_id for i in abroad} == {west.connection.pk}
    east_numbers, west_numbers = ph_numbers(hub.root), ph_numbers(west.root)
    assert set(east_numbers.values()) == {1} == set(west_numbers.values())
    assert sorted(east_numbers) == sorted(by_id[str(i)].warehouse_order_number for i in home)
    assert sorted(west_numbers) == sorted(by_id[str(i)].warehouse_order_number for i in abroad)

    ship_everything(hub, west)
    hub.run("shipment")
    west.run("shipment")
    for order_id in home + abroad:
        raw = hub.control.get_order(order_id)
        assert len(raw["shipments"]) == 1 and raw["status"] == "shipped"
    assert set(Order.objects.values_list("status", flat=True)) == {S.SHIPPED}


def test_a_split_order_ships_from_both_warehouses_and_is_shipped_once_both_are(hub, west):
    east_sku, west_sku = split_by_stock(hub, west)
    east_id, west_id = hub.connection.pk, west.connection.pk
    (order_id,) = hub.control.create_orders(1, status="paid", lines=[
        {"final_sku": east_sku, "quantity": 2}, {"final_sku": west_sku, "quantity": 1}])

    hub.run("sales_order")
    west.run("sales_order")
    parent = Order.objects.get(external_id=str(order_id))
    part = Order.objects.get(parent=parent)
    assert (parent.connection_id, part.connection_id) == (east_id, west_id)
    assert ph_numbers(hub.root) == Counter({parent.warehouse_order_number: 1})
    assert ph_numbers(west.root) == Counter({part.warehouse_order_number: 1})
    assert parent.activity.filter(event="rules", message__contains="Ship from stock").exists()

    ship_everything(hub, west)
    east_shipments = hub.run("shipment")
    raw = hub.control.get_order(order_id)
    assert len(raw["shipments"]) == 1
    # One part is still on its way: the store order is not marked shipped yet.
    assert raw["status"] == "paid"
    assert "PUT /orders/:id" not in east_shipments.requests
    west_shipments = west.run("shipment")
    raw = hub.control.get_order(order_id)
    assert len(raw["shipments"]) == 2 and raw["status"] == "shipped"
    shipped_lines = Counter()
    for shipment in raw["shipments"]:
        for line in shipment["line_items"]:
            shipped_lines[line["id"]] += line["quantity"]
    assert sorted(shipped_lines.values()) == [1, 2]
    assert west_shipments.requests == {"POST /orders/:id/shipments": 1, "PUT /orders/:id": 1}
    # Later runs of either connection do not set the status again.
    assert run_locked(hub.connection, "shipment").requests == {}
    assert run_locked(west.connection, "shipment").requests == {}


def test_shipment_notification_rules_skip_hold_and_release(hub):
    from dropstream.rules.models import Hook
    from dropstream.shipments.models import Shipment, ShipmentState

    quiet, held, plain = hub.control.create_orders(3, status="paid")
    store = hub.connection.store
    for name, action, order_id, arguments in (
            ("Marketplace ships its own notice", A.REJECT, quiet, {}),
            ("Wait for the carrier scan", A.HOLD, held, {"for_minutes": 30})):
        rule = rules.create_rule(store, name=name, action=action, hook=Hook.SHIPMENT_NOTIFICATION,
                                 condition=f'order.external_id == "{order_id}"',
                                 arguments=arguments)
        rules.activate_rule(rule)
    hub.run("sales_order")
    ship_everything(hub)
    first = hub.run("shipment")
    assert first.requests == {"POST /orders/:id/shipments": 1, "PUT /orders/:id": 1}
    assert len(hub.control.get_order(plain)["shipments"]) == 1
    assert hub.control.get_order(quiet)["shipments"] == []
    assert hub.control.get_order(quiet)["status"] == "paid"
    assert hub.control.get_order(held)["shipments"] == []
    by_order = {s.order.external_id: s for s in Shipment.objects.select_related("order")}
    assert by_order[str(quiet)].state == ShipmentState.COMPLETED
    assert by_order[str(quiet)].store_shipment_id == ""
    assert by_order[str(held)].state == ShipmentState.NEW
    assert "held by a rule until" in by_order[str(held)].error_message
    # Still within the hold: nothing is sent.
    assert hub.run("shipment").requests == {}
    # The kept time passes: the next run tells the store.
    order = Order.objects.get(external_id=str(held))
    order.rule_fields = {**order.rule_fields, "notify_hold": "2000-01-01T00:00:00+00:00"}
    order.save(update_fields=["rule_fields"])
    released = hub.run("shipment")
    assert released.requests == {"POST /orders/:id/shipments": 1, "PUT /orders/:id": 1}
    assert len(hub.control.get_order(held)["shipments"]) == 1

"""An X12 partner through the hub's own flows: Bright Sites sandbox → hub → 940 → the sandbox
EDI warehouse (its own parser) → 997 / 945 / 846 → hub → store."""

from __future__ import annotations

import pytest

from dropstream.inventory.models import InventoryLevel
from dropstream.orders.models import Order, OrderActivity, OrderStatus
from dropstream.shipments.models import Shipment, ShipmentState
from tests.e2e.x12_hub import X12Hub, build_x12_hub, make_root

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


@pytest.fixture
def hub(bs_store, tmp_path) -> X12Hub:
    return build_x12_hub(bs_store, make_root(tmp_path))


def test_orders_go_as_one_940_and_come_back_shipped_with_997s_both_ways(hub):
    ids = hub.control.create_orders(5, status="paid")
    first = hub.run("sales_order")
    assert first.counts["imported"] == 5 and first.counts["exported"] == 5
    [name] = hub.files("in", "940_")
    assert hub.files("in", ".") == []  # uploaded under a temporary name, renamed

    hub.robot.tick()
    received = hub.robot.orders()
    assert sorted(order.order_number for order in received) == sorted(
        Order.objects.values_list("warehouse_order_number", flat=True))
    assert {order.file for order in received} == {name}
    assert len(hub.files("out", "997_")) == 1

    hub.run("sales_order")
    assert hub.files("out", "997_") == []
    assert OrderActivity.objects.filter(event="warehouse_receipt",
                                        message__contains="997 accepted").count() == 5
    assert set(Order.objects.values_list("status", flat=True)) == {S.OPEN}

    hub.robot.ship_all_now()
    shipped = hub.run("shipment")
    assert shipped.counts["shipments_imported"] == 5
    assert set(Order.objects.values_list("status", flat=True)) == {S.SHIPPED}
    assert Shipment.objects.filter(state=ShipmentState.COMPLETED).count() == 5
    for order_id in ids:
        raw = hub.control.get_order(order_id)
        assert raw["shipments"][0]["tracking_number"]
    assert set(Shipment.objects.values_list("carrier", flat=True)) == {"UPS"}
    # The hub answered the 945 with its own 997; the partner matched it to what it sent.
    [answer] = hub.files("in", "997_")
    hub.robot.tick()
    assert [sent.ack for sent in hub.robot.sent_files()] == ["A"]
    assert answer in hub.files("in/processed", "997_")


def test_846_sets_the_warehouse_levels(hub):
    hub.control.create_orders(1, status="paid")
    hub.run("sales_order")
    hub.robot.tick()
    hub.robot.write_inventory_now()
    hub.run("inventory", mode="full")

    on_hand = dict(InventoryLevel.objects.values_list("sku", "on_hand"))
    assert on_hand == hub.robot.stock
    reserved = sum(on_hand.values()) - sum(InventoryLevel.objects.values_list("available",
                                                                              flat=True))
    assert reserved == sum(line.quantity_ordered for line in Order.objects.get().lines.all())
    assert hub.files("out/processed", "846") and hub.files("in", "997_")

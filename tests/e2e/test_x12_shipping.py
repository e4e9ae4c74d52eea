"""945 variants through the hub: several packages (one shipment each, MAN tracking), a
back-order shipped by a second 945 for the same W0602, and a 945 that cancels every line."""

from __future__ import annotations

import pytest

from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment
from tests.e2e.x12_hub import X12Hub, build_x12_hub, make_root

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


@pytest.fixture
def hub(bs_store, tmp_path) -> X12Hub:
    return build_x12_hub(bs_store, make_root(tmp_path))


def one_order(hub: X12Hub, quantity: int = 4) -> Order:
    records = [r for r in hub.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    hub.control.create_orders(1, status="paid",
                              lines=[{"final_sku": records[0]["final_sku"],
                                      "quantity": quantity}])
    hub.run("sales_order")
    hub.robot.tick()
    return Order.objects.get()


def test_two_packages_are_two_shipments_with_their_tracking(hub):
    order = one_order(hub)
    hub.robot.ship_order(order.warehouse_order_number, packages=2)
    assert hub.run("shipment").counts["shipments_imported"] == 2
    tracking = set(Shipment.objects.values_list("tracking_number", flat=True))
    assert len(tracking) == 2 and "" not in tracking
    assert Order.objects.get().status == S.SHIPPED


def test_a_back_order_ships_in_a_second_945(hub):
    order = one_order(hub, quantity=4)
    hub.robot.ship_order(order.warehouse_order_number, shipped={1: 1}, backorder=True)
    hub.run("shipment")
    assert Order.objects.get().status == S.PARTIALLY_SHIPPED
    hub.robot.ship_order(order.warehouse_order_number)
    hub.run("shipment")
    assert Order.objects.get().status == S.SHIPPED
    assert sum(line.quantity_shipped for line in Order.objects.get().lines.all()) == 4


def test_a_945_that_cancels_every_line_closes_the_order(hub):
    order = one_order(hub)
    hub.robot.ship_order(order.warehouse_order_number, canceled=[1])
    hub.run("shipment")
    assert Order.objects.get().status == S.CLOSED
    assert Shipment.objects.count() == 0

"""A store order split between two warehouses: its shipped status is set once, by whichever
connection posts the family's last package, and only once every package of every part is in
the store — when the two connections post at the same time in two processes too. Real flows,
the real run lock, the Bright Sites sandbox over HTTP and two DSFX folders worked by robots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dropstream.connections import actions as connections
from dropstream.intents.models import Intent, IntentState
from dropstream.orders.models import Order, OrderStatus
from dropstream.scheduling.models import Run
from dropstream.shipments import actions as shipment_actions
from dropstream.shipments.models import Shipment, ShipmentState
from tests.e2e.test_rules_routing import second_warehouse, ship_everything, split_by_stock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("processes")]
POST_SHIPMENT = "POST /orders/:id/shipments"
SET_STATUS = "PUT /orders/:id"


@pytest.fixture
def west(hub, tmp_path):
    return second_warehouse(hub, tmp_path / "dsfx-west")


def split_orders(hub, west, count: int) -> list[int]:
    """``count`` paid orders, each with a line stocked only in the east (the hub's connection)
    and one stocked only in the west, split by stock and sent to both warehouses."""
    east_sku, west_sku = split_by_stock(hub, west)
    ids = hub.control.create_orders(count, status="paid", lines=[
        {"final_sku": east_sku, "quantity": 1}, {"final_sku": west_sku, "quantity": 1}])
    assert hub.run("sales_order").counts["exported"] == count
    assert west.run("sales_order").counts["exported"] == count
    assert Order.objects.filter(parent__isnull=False).count() == count
    return ids


def test_the_store_hears_shipped_only_once_the_other_warehouses_package_is_in(hub, west):
    (order_id,) = split_orders(hub, west, 1)
    ship_everything(hub, west)
    # The west's package is refused by the store (a 422): it waits in Error for a person.
    hub.control.add_faults([{"endpoint": POST_SHIPMENT, "status": 422, "count": 1}])
    west.run("shipment")
    part = Order.objects.get(parent__isnull=False)
    assert part.status == OrderStatus.SHIPPED
    refused = Shipment.objects.get(order=part)
    assert refused.state == ShipmentState.ERROR

    # Every part is Shipped, but one package is not in the store: no shipped status yet.
    east = hub.run("shipment")
    assert east.requests == {POST_SHIPMENT: 1}
    raw = hub.control.get_order(order_id)
    assert (len(raw["shipments"]), raw["status"]) == (1, "paid")
    assert hub.run("shipment").requests == {}

    shipment_actions.reprocess(refused, actor="ops@example.com")
    released = west.run("shipment")
    # (The refused package's intent is still pending: its retry looks for it in the store first.)
    assert released.requests == {"GET /orders/:id/shipments": 1, POST_SHIPMENT: 1,
                                 SET_STATUS: 1}
    raw = hub.control.get_order(order_id)
    assert (len(raw["shipments"]), raw["status"]) == (2, "shipped")
    assert hub.run("shipment").requests == {} == west.run("shipment").requests


def posted_without_status(hub, west, count: int) -> list[int]:
    """``count`` split orders whose every package is in the store while its "status when
    shipped" was "none"; the status is switched back on, so each family waits for its PUT."""
    order_ids = split_orders(hub, west, count)
    ship_everything(hub, west)
    store = hub.connection.store
    connections.update_adapter_settings(store, {"status_on_shipped": "none"})
    assert hub.run("shipment").requests == {POST_SHIPMENT: count}
    assert west.run("shipment").requests == {POST_SHIPMENT: count}
    connections.update_adapter_settings(store, {"status_on_shipped": "shipped"})
    return order_ids


def test_a_status_another_connection_recorded_is_left_to_it_until_it_is_stale(hub, west):
    recent, stale = posted_without_status(hub, west, 2)
    # The east's run recorded both statuses and was killed before it knew the answers: one
    # a minute ago, one twenty minutes ago.
    now = timezone.now()
    for order_id, age in ((recent, timedelta(minutes=1)), (stale, timedelta(minutes=20))):
        root = Order.objects.get(external_id=str(order_id))
        Intent.objects.create(key=f"order_shipped:{root.pk}", kind="order_shipped",
                              connection=hub.connection, reference=str(order_id), attempts=1,
                              created_at=now - age)

    # The west leaves the recent one to the east and takes the stale one over.
    assert west.run("shipment").requests == {SET_STATUS: 1}
    assert hub.control.get_order(stale)["status"] == "shipped"
    assert hub.control.get_order(recent)["status"] == "paid"
    # The east's next run sets its own.
    assert hub.run("shipment").requests == {SET_STATUS: 1}
    assert hub.control.get_order(recent)["status"] == "shipped"
    assert set(Intent.objects.filter(kind="order_shipped").values_list("state", "attempts")
               ) == {(IntentState.DONE, 2)}
    assert west.run("shipment").requests == {} == hub.run("shipment").requests


@pytest.mark.slow
def test_two_connections_finding_one_family_shipped_at_once_set_its_status_once(
        hub, west, hub_processes):
    # Each connection's next run finds every family it is part of shipped and unmarked: both
    # go for the same six statuses at once.
    order_ids = posted_without_status(hub, west, 6)
    # Each PUT takes 1.5 s, so the first process's statuses are still being set (their intents
    # pending) when the second process looks.
    hub.control.add_faults([{"endpoint": SET_STATUS, "action": "latency", "delay_ms": 1500,
                             "count": None}])
    hub.control.reset_meter()

    started = [hub_processes.start("sync", "run", str(each.connection.pk),
                                   "--channel", "shipment") for each in (hub, west)]
    results = [hub_processes.wait(process) for process in started]

    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]
    assert hub.control.meter()["by_endpoint"] == {SET_STATUS: 6}
    for order_id in order_ids:
        raw = hub.control.get_order(order_id)
        assert (len(raw["shipments"]), raw["status"]) == (2, "shipped"), order_id
    runs = sorted(Run.objects.filter(channel_type="shipment"), key=lambda r: r.started_at)[-2:]
    # The two runs overlapped, and one of them left every status to the other.
    assert runs[1].started_at < runs[0].finished_at
    assert sorted(r.counts["shipments_orders_marked"] for r in runs) == [0, 6]
    marks = Intent.objects.filter(kind="order_shipped")
    assert marks.count() == 6 and len({i.connection_id for i in marks}) == 1
    assert set(marks.values_list("state", "attempts")) == {(IntentState.DONE, 1)}
    assert not Order.objects.filter(store_status_set_at__isnull=True).exists()

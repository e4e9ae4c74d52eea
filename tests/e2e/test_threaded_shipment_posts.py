"""Shipments posted on threads (sync.shipments.POST_WORKERS) still reach the store once each:
a POST the store applied but answered with a 500 is looked up, not sent again, and a retried
package never takes its sibling's store shipment (issue 17, "Shipments and scale")."""

from __future__ import annotations

import logging

import pytest

from dropstream.intents.models import Intent, IntentState
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment, ShipmentState
from tests.e2e.test_shipment_guarantees import store_shipments, write_shipments

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
POST_SHIPMENT = "POST /orders/:id/shipments"
LOOK_UP = "GET /orders/:id/shipments"


def applied_then_500(order_id: int) -> dict:
    """The store creates the shipment, then answers 500: the hub cannot know it is there."""
    return {"endpoint": POST_SHIPMENT, "action": "status", "status": 500, "after_write": True,
            "count": 1, "order_id": order_id}


def test_threaded_posts_look_up_applied_posts_and_never_post_a_shipment_twice(hub, caplog):
    sku = next(r["final_sku"] for r in hub.control.inventories() if r["track"])
    ids = hub.control.create_orders(12, status="paid",
                                    lines=[{"final_sku": sku, "quantity": 2}])
    hub.run("sales_order")
    orders = {int(o.external_id): o for o in Order.objects.all()}
    assert sorted(orders) == sorted(ids)
    sibling_id = ids[-1]
    # One package per order, except the last order: two packages of one unit each, with the
    # same tracking number and lines (only the warehouse's shipment id tells them apart).
    rows = [f"{orders[i].warehouse_order_number},1,,2,2026-12-01,UPS,Ground,1ZTHREAD{n:04d},,,"
            for n, i in enumerate(ids[:-1])]
    number = orders[sibling_id].warehouse_order_number
    rows += [f"{number},1,,1,2026-12-01,UPS,Ground,1ZSHARED,PKG-A,,",
             f"{number},1,,1,2026-12-01,UPS,Ground,1ZSHARED,PKG-B,,"]
    write_shipments(hub.root, "shp_t_261201000000.csv", rows)
    faulted = ids[1:4]
    hub.control.add_faults(
        [applied_then_500(i) for i in faulted]
        # The sibling's first POST (PKG-A) goes through; its second (PKG-B) is applied, then 500.
        + [{"endpoint": POST_SHIPMENT, "action": "latency", "delay_ms": 0, "count": 1,
            "order_id": sibling_id}, applied_then_500(sibling_id)]
        # Every POST takes a while, so the workers' requests overlap.
        + [{"endpoint": POST_SHIPMENT, "action": "latency", "delay_ms": 100, "count": None}])
    hub.control.reset_meter()
    caplog.set_level(logging.INFO, logger="httpx")

    result = hub.run("shipment")

    assert result.counts["shipments_posted"] == 13
    meter = hub.control.meter()["by_endpoint"]
    # The dangerous path ran: four POSTs applied and answered 500. Still one POST per
    # package — none sent again — and one look-up per 500 only.
    assert hub.control.meter()["by_status"]["500"] == len(faulted) + 1
    assert meter[POST_SHIPMENT] == 13
    assert meter[LOOK_UP] == len(faulted) + 1
    assert meter["PUT /orders/:id"] == 12
    posting_threads = {r.threadName for r in caplog.records
                       if "POST" in r.getMessage() and "/shipments" in r.getMessage()}
    assert len(posting_threads) > 1 and all(t.startswith("shipment-post") for t in posting_threads)
    for external_id, order in orders.items():
        in_store = store_shipments(hub, order)
        ours = list(Shipment.objects.filter(order=order).order_by("id"))
        assert len(in_store) == len(ours) == (2 if external_id == sibling_id else 1)
        assert sorted(s.store_shipment_id for s in ours) == sorted(str(s["id"]) for s in in_store)
        assert {s.state for s in ours} == {ShipmentState.COMPLETED}
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED and order.store_status_set_at is not None
    # Each intent was recorded once and is done after one attempt: the retries were look-ups
    # inside the attempt, not new attempts.
    intents = Intent.objects.filter(kind="shipment_post")
    assert intents.count() == 13
    assert set(intents.values_list("state", "attempts")) == {(IntentState.DONE, 1)}

"""A store cancels orders already at Extensiv: the canceler with If-Match cancels an open one
(even when its answer is lost), and one already in a pick job is an alert "the warehouse could
not cancel", not an error."""

from __future__ import annotations

import pytest

from dropstream.alerts.models import Alert, AlertKind
from dropstream.orders.models import Order, OrderStatus
from tests.e2e.conftest import run_locked
from tests.platforms.extensiv.fixtures import connect, extensiv_wms  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus
CANCELED = 2


def test_store_cancellations_reach_extensiv_or_alert(bs_store, extensiv):
    connection = connect(bs_store, extensiv)
    open_id, picked_id = bs_store.control.create_orders(2, status="paid")
    assert run_locked(connection, "sales_order").ok
    still_open = Order.objects.get(external_id=str(open_id))
    picked = Order.objects.get(external_id=str(picked_id))
    [wms_open] = extensiv.order_by_reference(still_open.warehouse_order_number)
    [wms_picked] = extensiv.order_by_reference(picked.warehouse_order_number)
    extensiv.drive(wms_picked.order_id, "pick")
    extensiv.sandbox.add_fault(endpoint="POST /orders/:id/canceler", action="lose_response",
                               count=1)
    bs_store.control.update_order(open_id, status="canceled")
    first = run_locked(connection, "sales_order")
    bs_store.control.update_order(picked_id, status="canceled")
    second = run_locked(connection, "sales_order")
    shipments = run_locked(connection, "shipment")

    assert first.ok and second.ok and shipments.ok, (first.error, second.error, shipments.error)
    assert wms_open.status == CANCELED and wms_picked.status != CANCELED
    # The lost answer was followed by a read, not a second cancel.
    assert extensiv.sandbox.meter.count("POST /orders/:id/canceler") == 2
    assert extensiv.sandbox.meter.count("POST /orders/:id/canceler", 403) == 1
    [refusal] = Alert.objects.filter(kind=AlertKind.CANCEL_AT_WAREHOUSE)
    assert "the warehouse could not cancel" in refusal.message and "InUse" in refusal.message
    assert Order.objects.get(pk=still_open.pk).status == S.CLOSED
    assert "at the hub's request" in Order.objects.get(pk=still_open.pk).activity.get(
        event="canceled_at_warehouse").message
    assert Order.objects.get(pk=picked.pk).status == S.OPEN  # its shipment may still come

"""Shipments come back from the Extensiv simulator by polling: one hub shipment per package
with its tracking number, a short-shipped order Partially Shipped, a warehouse-side cancel
closing the order with one alert; a second run posts nothing."""

from __future__ import annotations

import pytest

from dropstream.alerts.models import Alert, AlertKind
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment
from tests.e2e.conftest import run_locked
from tests.platforms.extensiv.fixtures import connect, extensiv_wms, stockable  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def store_tracking(bs_store, order: Order) -> list[str]:
    raw = bs_store.control.get_order(int(order.external_id))
    return sorted(s["tracking_number"] for s in raw["shipments"])


def test_packages_partials_and_cancellations_come_back_once(bs_store, extensiv):
    connection = connect(bs_store, extensiv)
    first, second = stockable(bs_store)[:2]
    ids = bs_store.control.create_orders(4, status="paid", lines=[
        {"final_sku": first, "quantity": 2}, {"final_sku": second, "quantity": 1}])
    assert run_locked(connection, "sales_order").ok
    whole, split, short, canceled = (Order.objects.get(external_id=str(i)) for i in ids)
    wms_id = {o.pk: extensiv.order_by_reference(o.warehouse_order_number)[0].order_id
              for o in (whole, split, short, canceled)}

    extensiv.drive(wms_id[whole.pk], "ship")
    extensiv.drive(wms_id[split.pk], "ship", {"packages": [
        {"tracking_number": "1ZSPLIT0001", "contents": [{"sku": first, "qty": 2}]},
        {"tracking_number": "1ZSPLIT0002", "contents": [{"sku": second, "qty": 1}]}]})
    extensiv.drive(wms_id[short.pk], "ship", {"packages": [
        {"tracking_number": "1ZSHORT0001", "contents": [{"sku": first, "qty": 1}]}]})
    extensiv.drive(wms_id[canceled.pk], "cancel")

    result = run_locked(connection, "shipment")
    assert result.ok, result.error
    again = run_locked(connection, "shipment")
    assert again.ok, again.error

    assert Order.objects.get(pk=whole.pk).status == S.SHIPPED
    assert Order.objects.get(pk=split.pk).status == S.SHIPPED
    assert Order.objects.get(pk=short.pk).status == S.PARTIALLY_SHIPPED
    assert Order.objects.get(pk=canceled.pk).status == S.CLOSED
    assert store_tracking(bs_store, split) == ["1ZSPLIT0001", "1ZSPLIT0002"]
    assert store_tracking(bs_store, short) == ["1ZSHORT0001"]
    [tracking] = store_tracking(bs_store, whole)
    assert tracking == extensiv.order_by_reference(whole.warehouse_order_number)[0] \
        .packages[0].tracking_number
    assert store_tracking(bs_store, canceled) == []
    assert Shipment.objects.count() == 4
    assert {tuple(sorted(s.lines.values_list("quantity", flat=True)))
            for s in Shipment.objects.filter(order=split)} == {(2,), (1,)}
    assert result.counts["shipments_canceled"] == 1
    [alert] = Alert.objects.filter(kind=AlertKind.WAREHOUSE_CANCELED)
    assert "canceled in Extensiv" in alert.message
    # The second run read the same changes again and posted nothing.
    assert again.counts.get("shipments_posted", 0) == 0 and again.counts["shipments_canceled"] == 0


def test_a_quiet_poll_is_one_request_and_nothing_is_read_before_the_first_order(bs_store,
                                                                               extensiv):
    connection = connect(bs_store, extensiv)
    assert run_locked(connection, "shipment").ok
    assert extensiv.sandbox.meter.snapshot()["total"] == 0  # no order sent: nothing to poll

    bs_store.control.create_orders(3, status="paid")
    assert run_locked(connection, "sales_order").ok
    extensiv.sandbox.meter.reset()
    assert run_locked(connection, "shipment").ok
    assert extensiv.sandbox.meter.count("GET /orders") == 1

"""Bad input from either side affects only that order or row."""

from __future__ import annotations

import re

import pytest

from dropstream.alerts.models import Alert
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_a_500_on_one_detail_read_delays_only_that_order(hub):
    ids = hub.control.create_orders(4, status="paid")
    hub.control.add_faults([{"endpoint": "GET /orders/:id", "order_id": ids[1],
                             "action": "status", "status": 500, "count": None}])
    result = hub.run("sales_order")
    assert result.counts["imported"] == 3 and result.counts["exported"] == 3
    stub = Order.objects.get(external_id=str(ids[1]))
    assert stub.status == S.DELAYED and stub.detail_pending
    # Five attempts, or fewer when the next backoff would pass the run's retry-wait budget.
    assert re.fullmatch(
        r"Reading the order failed \(Bright Sites store 'acme' had a server error \(HTTP 500\) "
        r"on GET /orders/:id \((gave up after 5 attempts|the remote kept failing: gave up "
        r"after [1-4] attempts? rather than wait past the run's 3 s for waiting on a failing "
        r"remote; it is tried again later)\)\); will retry\.", stub.error_message)
    # The store recovers: the next run whose retry time has come reads it.
    hub.control.clear_faults()
    Order.objects.filter(pk=stub.pk).update(retry_at=stub.created_at)
    hub.run("sales_order")
    stub.refresh_from_db()
    assert stub.status == S.OPEN and not stub.detail_pending


def test_malformed_order_json_affects_only_that_order(hub):
    ids = hub.control.create_orders(3, status="paid")
    hub.control.add_faults([{"endpoint": "GET /orders/:id", "order_id": ids[0],
                             "action": "malformed", "count": None}])
    result = hub.run("sales_order")
    assert result.counts["imported"] == 2
    broken = Order.objects.get(external_id=str(ids[0]))
    # A body that is not JSON is no passing fault: Error with the reason, and an alert.
    assert broken.detail_pending and broken.status == S.ERROR
    assert broken.error_message.startswith(
        "Reading the order from the store failed: Bright Sites store 'acme' answered GET "
        "/orders/:id with a body that is not JSON (HTTP 200")
    assert Order.objects.filter(status=S.OPEN).count() == 2


def test_a_broken_shipment_row_is_reported_and_good_rows_go_through(hub):
    ids = hub.control.create_orders(2, status="paid")
    hub.run("sales_order")
    first, second = (Order.objects.get(external_id=str(i)) for i in ids)
    header = ("order_number,line_number,sku,quantity,ship_date,carrier,service,"
              "tracking_number,shipment_id,weight,cost")
    good = (f"{first.warehouse_order_number},1,,{first.lines.get(line_number=1).quantity_ordered},"
            "2026-11-20,UPS,Ground,1Z999AA10123456784,,1.5,")
    broken = f"{second.warehouse_order_number},1,,many,2026-11-20,UPS,Ground,1Z999,,,"
    unknown = "NO-SUCH-ORDER,1,,1,2026-11-20,UPS,Ground,1Z111,,,"
    (hub.root / "out" / "shp_1_261120000000.csv").write_text(
        "\r\n".join([header, good, broken, unknown]) + "\r\n", encoding="utf-8")
    result = hub.run("shipment")
    assert result.counts["shipments_posted"] == 1
    assert Shipment.objects.filter(order=first).count() == 1
    assert Shipment.objects.filter(order=second).count() == 0
    kept = Shipment.objects.get(order_number="NO-SUCH-ORDER")
    assert kept.state == "error" and kept.order is None
    report = (hub.root / "out" / "processed" / "shp_1_261120000000.csv.error.txt").read_text()
    assert "line 3" in report.lower() and "line 4" in report.lower()
    assert Alert.objects.filter(kind="shipment_unmatched").exists()

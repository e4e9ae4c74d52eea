"""Branches of the flows that no other test takes, each through the real flows and sandboxes:
import_since, the detail-retry limit, push verify, abandoning, each export failure, over- and
late shipments, and a bundle shipped in parts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dropstream.alerts.models import Alert, AlertKind
from dropstream.catalog.models import BundleComponent, Listing, Product
from dropstream.connections import actions
from dropstream.intents.models import Intent
from dropstream.orders import actions as order_actions
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment, ShipmentState
from dropstream.sync.store_orders import MAX_DETAIL_RETRIES
from tests.e2e.conftest import build_hub
from tests.e2e.test_shipment_guarantees import one_line_order, store_shipments, write_shipments

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


# --------------------------------------------------------------------------------------- import


def test_the_first_import_skips_orders_created_before_import_since(hub):
    old = hub.control.create_orders(2, status="paid", created_at="2025-01-01T00:00:00Z")
    new = hub.control.create_orders(1, status="paid")
    actions.update_store(hub.connection.store,
                         {"adapter": {"import_since": "2026-01-01T00:00:00Z"}})

    result = hub.run("sales_order")

    assert result.counts["imported"] == 1
    assert list(Order.objects.values_list("external_id", flat=True)) == [str(new[0])]
    assert not Order.objects.filter(external_id__in=[str(i) for i in old]).exists()


def test_a_detail_that_keeps_failing_is_delayed_then_errs_with_an_alert_at_the_limit(hub):
    [stuck] = hub.control.create_orders(1, status="paid")
    hub.control.add_faults([{"endpoint": "GET /orders/:id", "order_id": stuck,
                             "action": "status", "status": 503, "count": None}])
    statuses = []
    for _ in range(MAX_DETAIL_RETRIES):
        hub.run("sales_order")
        order = Order.objects.get(external_id=str(stuck))
        statuses.append(order.status)
        Order.objects.filter(pk=order.pk).update(retry_at=timezone.now() - timedelta(seconds=1))

    assert statuses == [S.DELAYED] * (MAX_DETAIL_RETRIES - 1) + [S.ERROR]
    order = Order.objects.get(external_id=str(stuck))
    assert (order.retry_count, order.detail_pending) == (MAX_DETAIL_RETRIES, True)
    assert order.error_message.startswith("Reading the order from the store failed:")
    assert Alert.objects.filter(kind=AlertKind.IMPORT_FAILED, object_id=str(order.pk)).count() == 1


def test_push_verify_reads_each_pushed_order_once_from_the_store(hub, live_server):
    from tests.sync.test_push import push_url, wait_for

    store = hub.connection.store
    actions.update_store(store, {"adapter": {"push_verify": True}})
    hub.control.set_push(push_url(live_server, store))
    hub.control.reset_meter()

    ids = hub.control.create_orders(2, status="paid")
    wait_for(lambda: Order.objects.filter(status=S.OPEN).count() == 2)

    assert hub.control.meter()["by_endpoint"] == {"GET /orders/:id": 2}
    assert sorted(Order.objects.values_list("external_id", flat=True)) == sorted(map(str, ids))


# --------------------------------------------------------------------------------------- export


def test_an_export_the_warehouse_keeps_refusing_errs_after_the_attempt_limit(bs_store, tmp_path,
                                                                            sftp_server):
    from dropstream.sync.export_orders import MAX_EXPORT_ATTEMPTS

    hub = build_hub(bs_store, sftp_server.root, warehouse_url=sftp_server.connection_string)
    [external_id] = hub.control.create_orders(1, status="paid")
    sftp_server.stop()  # the warehouse's server is down: every upload attempt fails

    events = []
    for _ in range(MAX_EXPORT_ATTEMPTS):
        assert not hub.run("sales_order", expect_ok=False).ok
        order = Order.objects.get(external_id=str(external_id))
        events.append((order.status, order.activity.order_by("-id").first().event))

    assert events == [(S.QUEUED, "export_delayed")] * (MAX_EXPORT_ATTEMPTS - 1) + [
        (S.ERROR, "export_failed")]
    assert order.error_message.startswith("Sending to the warehouse failed:")
    assert Alert.objects.filter(kind=AlertKind.EXPORT_FAILED).count() == 1
    assert Intent.objects.get(kind="export").attempts == MAX_EXPORT_ATTEMPTS


def test_a_warehouse_refusing_the_login_keeps_the_batch_waiting_not_failed(hub):
    (hub.root / "in").rename(hub.root / "in-missing")
    hub.control.create_orders(1, status="paid")

    for _ in range(3):
        assert not hub.run("sales_order", expect_ok=False).ok

    order = Order.objects.get()
    assert order.status == S.QUEUED and order.export_reference
    assert order.activity.filter(event="export_waiting").count() == 3
    assert not Alert.objects.filter(kind=AlertKind.EXPORT_FAILED).exists()
    (hub.root / "in-missing").rename(hub.root / "in")
    assert hub.run("sales_order").counts["exported"] == 1
    assert Order.objects.get().status == S.OPEN


def test_an_open_order_without_shipments_is_abandoned_after_the_merchants_days(hub):
    quiet, shipped = one_line_order(hub, 1), one_line_order(hub, 1)
    long_ago = timezone.now() - timedelta(days=hub.connection.customer.abandon_after_days + 1)
    Order.objects.filter(pk__in=[quiet.pk, shipped.pk]).update(exported_at=long_ago)
    write_shipments(hub.root, "shp_s_261201000000.csv",
                    [f"{shipped.warehouse_order_number},1,,1,2026-12-01,UPS,Ground,1ZSHIP,,,"])

    result = hub.run("shipment")

    assert result.counts["abandoned"] == 1
    quiet.refresh_from_db()
    assert quiet.status == S.CLOSED
    assert "closed as abandoned" in quiet.activity.get(event="abandoned").message
    assert Order.objects.get(pk=shipped.pk).status == S.SHIPPED
    reopened = order_actions.reprocess(quiet, actor="ops@example.com")
    assert reopened.status == S.OPEN and reopened.exported_at > long_ago


# ------------------------------------------------------------------------------------ shipments


def test_an_over_shipment_is_kept_in_error_and_not_posted(hub):
    order = one_line_order(hub, quantity=2)
    write_shipments(hub.root, "shp_o_261201000000.csv",
                    [f"{order.warehouse_order_number},1,,5,2026-12-01,UPS,Ground,1ZOVER,,,"])

    result = hub.run("shipment")

    kept = Shipment.objects.get()
    assert kept.state == ShipmentState.ERROR
    assert kept.error_message == (f"line 1 ({order.lines.get(line_number=1).warehouse_sku}) of "
                                  f"order {order.warehouse_order_number} would ship 5 of 2 "
                                  "ordered")
    assert result.counts["shipments_posted"] == 0 and store_shipments(hub, order) == []
    report = hub.root / "out" / "error" / "shp_o_261201000000.csv.error.txt"
    assert "would ship 5 of 2 ordered" in report.read_text()


def test_a_shipment_for_an_archived_order_waits_for_reprocess_then_posts(hub):
    order = one_line_order(hub, quantity=1)
    order_actions.archive(order, actor="ops@example.com")
    write_shipments(hub.root, "shp_l_261201000000.csv",
                    [f"{order.warehouse_order_number},1,,1,2026-12-01,UPS,Ground,1ZLATE,,,"])

    first = hub.run("shipment")

    assert first.counts["shipments_posted"] == 0
    assert Shipment.objects.get().state == ShipmentState.NEW
    assert Alert.objects.filter(kind=AlertKind.SHIPMENT_UNMATCHED,
                                message__contains="waits for Reprocess").exists()
    assert Order.objects.get(pk=order.pk).status == S.ARCHIVED
    assert order_actions.reprocess(Order.objects.get(pk=order.pk),
                                   actor="ops@example.com").status == S.SHIPPED

    second = hub.run("shipment")

    assert second.counts["shipments_posted"] == 1
    assert len(store_shipments(hub, order)) == 1


def test_a_bundle_shipped_in_two_packages_reaches_the_store_with_the_package_completing_it(hub):
    merchant = hub.connection.customer
    sku = next(r["final_sku"] for r in hub.control.inventories() if r["track"])
    kit = Product.objects.create(customer=merchant, sku="KIT-1")
    for component, per_kit in (("CUP", 2), ("LID", 1)):
        BundleComponent.objects.create(bundle=kit, quantity=per_kit, component=(
            Product.objects.create(customer=merchant, sku=component)))
    Listing.objects.create(store=hub.connection.store, product=kit, store_sku=sku)
    [external_id] = hub.control.create_orders(1, status="paid",
                                              lines=[{"final_sku": sku, "quantity": 1}])
    hub.run("sales_order")
    order = Order.objects.get(external_id=str(external_id))
    number = order.warehouse_order_number
    write_shipments(hub.root, "shp_k1_261201000000.csv",
                    [f"{number},1,,2,2026-12-01,UPS,Ground,1ZCUPS,,,"])

    first = hub.run("shipment")

    assert first.counts["shipments_posted"] == 0 and store_shipments(hub, order) == []
    assert order.activity.filter(event="shipment_not_posted").count() == 1
    write_shipments(hub.root, "shp_k2_261201000100.csv",
                    [f"{number},2,,1,2026-12-01,UPS,Ground,1ZLID,,,"])

    second = hub.run("shipment")

    in_store = store_shipments(hub, order)
    assert second.counts["shipments_posted"] == 1
    assert [(s["tracking_number"], [li["quantity"] for li in s["line_items"]])
            for s in in_store] == [("1ZLID", [1])]
    assert Order.objects.get(pk=order.pk).status == S.SHIPPED
    assert hub.control.get_order(external_id)["status"] == "shipped"

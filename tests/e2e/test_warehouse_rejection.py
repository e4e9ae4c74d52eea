"""The warehouse refuses one order (an SKU it does not know): the hub shows it in Error, a
listing and Reprocess send it again, and it ships; the other orders never notice."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from dropstream.alerts.models import Alert, AlertKind
from dropstream.catalog.models import Listing, Product
from dropstream.orders.actions import reprocess
from dropstream.orders.models import Order, OrderActivity, OrderStatus
from dropstream.sync.adapters import build
from dropstream.sync.rejections import apply_warehouse_rejections
from tests.e2e.conftest import Hub, build_hub

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def apply(hub: Hub) -> int:
    # The flow as each sales run calls it (tests of the run itself are below).
    adapter = build(hub.connection.warehouse)
    try:
        return apply_warehouse_rejections(hub.connection, adapter)
    finally:
        adapter.close()


def ph_rows(path: Path) -> dict[str, list[str]]:
    """Order number → the SKUs of its PD rows, for one order file."""
    orders: dict[str, list[str]] = {}
    for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
        if row and row[0] == "PH":
            orders[row[1]] = []
        elif row and row[0] == "PD":
            orders[row[1]].append(row[3])
    return orders


def snapshot(orders: list[Order]) -> list[tuple]:
    return [tuple(Order.objects.filter(pk=o.pk).values_list(
        "status", "export_reference", "exported_at", "error_message").get()) for o in orders]


@pytest.fixture
def store_skus(bs_store) -> list[str]:
    records = [r for r in bs_store.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    return [record["final_sku"] for record in records[:3]]


@pytest.fixture
def rejecting_hub(bs_store, tmp_path, store_skus) -> Hub:
    """The hub, and a warehouse that knows two of the store's SKUs and WH-KNOWN only."""
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    known, other, _unknown = store_skus
    return build_hub(bs_store, root, split_rate=0.0, short_rate=0.0, reject_unknown_skus=True,
                     stock={known: 100, other: 100, "WH-KNOWN": 100})


def place_orders(hub: Hub, store_skus: list[str]) -> tuple[Order, Order, Order]:
    """A and C name SKUs the warehouse knows; B's line 2 names one it does not."""
    known, other, unknown = store_skus
    a = hub.control.create_orders(1, lines=[{"final_sku": known, "quantity": 2}])
    b = hub.control.create_orders(1, lines=[{"final_sku": other, "quantity": 1},
                                            {"final_sku": unknown, "quantity": 3}])
    c = hub.control.create_orders(1, lines=[{"final_sku": other, "quantity": 1}])
    sales = hub.run("sales_order")
    assert sales.counts["exported"] == 3
    return tuple(Order.objects.get(external_id=str(ids[0])) for ids in (a, b, c))


def test_a_refused_order_goes_to_error_and_ships_after_a_listing_and_reprocess(
        rejecting_hub, store_skus):
    hub = rejecting_hub
    unknown = store_skus[2]
    a, b, c = place_orders(hub, store_skus)
    [first_file] = (hub.root / "in").glob("ord_*.csv")

    tick = hub.robot.tick()

    assert (tick.orders_received, tick.orders_rejected) == (2, 1)
    report = hub.root / "in" / "error" / f"{first_file.name}.rejected.txt"
    assert report.read_text() == f"{b.warehouse_order_number}\tunknown SKU {unknown} on line 2\n"
    others_before = snapshot([a, c])

    assert apply(hub) == 1

    b.refresh_from_db()
    expected = (f"The warehouse refused this order: unknown SKU {unknown} on line 2. Add a "
                "listing (the connection's Settings → Listings) or edit the line, then Reprocess.")
    assert (b.status, b.error_message) == (S.ERROR, expected)
    assert (b.export_reference, b.exported_at) == ("", None)
    [alert] = Alert.objects.filter(kind=AlertKind.EXPORT_FAILED)
    assert alert.object_id == str(b.pk) and unknown in alert.message
    assert snapshot([a, c]) == others_before
    assert not report.exists()
    assert (hub.root / "in" / "error" / "processed" / report.name).exists()
    assert apply(hub) == 0

    product = Product.objects.create(customer=hub.connection.customer, sku="WH-KNOWN")
    Listing.objects.create(store=hub.connection.store, product=product, store_sku=unknown)
    b = reprocess(b, actor="merchant@example.com")
    assert b.status == S.QUEUED
    assert list(b.lines.order_by("line_number").values_list("warehouse_sku", flat=True)) == [
        store_skus[1], "WH-KNOWN"]
    assert Alert.objects.get(pk=alert.pk).resolved_at is not None

    resent = hub.run("sales_order")

    assert resent.counts["exported"] == 1
    [second_file] = (hub.root / "in").glob("ord_*.csv")
    assert second_file.name != first_file.name
    assert ph_rows(second_file) == {b.warehouse_order_number: [store_skus[1], "WH-KNOWN"]}
    assert snapshot([a, c]) == others_before

    shipped_tick = hub.robot.ship_all_now()
    assert (shipped_tick.orders_received, shipped_tick.orders_rejected) == (1, 0)
    shipments = hub.run("shipment")

    assert shipments.counts["shipments_posted"] == 3
    assert [o.status for o in Order.objects.filter(pk__in=[a.pk, b.pk, c.pk]).order_by("id")] \
        == [S.SHIPPED] * 3
    raw = hub.control.get_order(int(b.external_id))
    assert raw["status"] == "shipped" and len(raw["shipments"]) == 1
    assert apply(hub) == 0


def test_applying_a_report_again_after_a_crash_changes_nothing_more(rejecting_hub, store_skus):
    hub = rejecting_hub
    _a, b, _c = place_orders(hub, store_skus)
    hub.robot.tick()
    [report] = (hub.root / "in" / "error").glob("*.rejected.txt")
    assert apply(hub) == 1
    # A run that died between changing the orders and acknowledging finds the report again.
    shutil.copy(hub.root / "in" / "error" / "processed" / report.name, report)
    activity = OrderActivity.objects.filter(order=b).count()
    before = snapshot([b])

    assert apply(hub) == 0

    assert snapshot([b]) == before
    assert OrderActivity.objects.filter(order=b).count() == activity
    assert Alert.objects.count() == 1
    assert not report.exists()
    assert len(list((hub.root / "in" / "error" / "processed").iterdir())) == 2


def test_a_stale_report_does_not_touch_the_order_sent_again(rejecting_hub, store_skus):
    hub = rejecting_hub
    _a, b, _c = place_orders(hub, store_skus)
    hub.robot.tick()
    [report] = (hub.root / "in" / "error").glob("*.rejected.txt")
    apply(hub)
    product = Product.objects.create(customer=hub.connection.customer, sku="WH-KNOWN")
    Listing.objects.create(store=hub.connection.store, product=product,
                           store_sku=store_skus[2])
    reprocess(b, actor="merchant@example.com")
    hub.run("sales_order")
    shutil.copy(hub.root / "in" / "error" / "processed" / report.name, report)

    assert apply(hub) == 0

    b.refresh_from_db()
    assert b.status == S.OPEN and b.export_reference != ""


def test_a_whole_refused_file_puts_each_of_its_orders_in_error(hub):
    hub.control.create_orders(2, status="paid")
    hub.run("sales_order")
    [sent] = (hub.root / "in").glob("ord_*.csv")
    # What the robot does with a malformed file: moved to /in/error with a report beside it.
    (hub.root / "in" / "error").mkdir()
    sent.rename(hub.root / "in" / "error" / sent.name)
    (hub.root / "in" / "error" / f"{sent.name}.error.txt").write_text(
        f"{sent.name} was rejected by the sandbox warehouse:\nline 1: ship method is empty\n")

    assert apply(hub) == 2

    orders = list(Order.objects.order_by("id"))
    assert {o.status for o in orders} == {S.ERROR}
    assert {o.error_message for o in orders} == {
        f"The warehouse refused the whole file {sent.name}: line 1: ship method is empty. Fix "
        "what it names (edit the order, or the warehouse connection's settings), then "
        "Reprocess."}
    assert {(o.export_reference, o.exported_at) for o in orders} == {("", None)}
    assert Alert.objects.filter(kind=AlertKind.EXPORT_FAILED).count() == 2
    assert apply(hub) == 0


def test_a_refusal_the_hub_cannot_match_is_an_alert_not_lost(hub):
    (hub.root / "in" / "error").mkdir()
    (hub.root / "in" / "error" / "ord_ZZ-1_240501100000.csv.rejected.txt").write_text(
        "ZZ-1\tunknown SKU Q on line 1\nnot a report line\n")

    assert apply(hub) == 0

    messages = list(Alert.objects.filter(kind=AlertKind.FILE_REJECTED).order_by("id")
                    .values_list("message", flat=True))
    assert len(messages) == 2
    assert "order ZZ-1" in messages[0] and "unknown SKU Q" in messages[0]
    assert "cannot read" in messages[1] and "not a report line" in messages[1]
    assert list((hub.root / "in" / "error" / "processed").iterdir())
    assert apply(hub) == 0
    assert Alert.objects.count() == 2


def test_a_report_about_another_connections_file_is_left_for_it(hub, bs_store):
    from dropstream.connections import actions
    from dropstream.intents.models import Intent

    merchant = hub.connection.customer
    second_store = actions.create_store(merchant, name="Acme Outlet", platform="brightsites",
                                        adapter={"subdomain": bs_store.subdomain,
                                                 "api_token": bs_store.read_write_token,
                                                 "api_url": bs_store.api_url})
    other = actions.create_connection(name="Outlet", customer=merchant, store=second_store,
                                      warehouse=hub.connection.warehouse)
    name = "ord_OUT-1_240501100000.csv"
    Intent.objects.create(key=f"export:{other.pk}:{name}", kind="export", connection=other,
                          reference=name, payload={"order_ids": []})
    (hub.root / "in" / "error").mkdir()
    report = hub.root / "in" / "error" / f"{name}.rejected.txt"
    report.write_text("OUT-1\tunknown SKU Q on line 1\n")

    assert apply(hub) == 0

    assert report.exists()
    assert Alert.objects.count() == 0


def test_a_sales_run_applies_the_warehouse_refusals(rejecting_hub, store_skus):
    a, b, c = place_orders(rejecting_hub, store_skus)
    rejecting_hub.robot.tick()
    result = rejecting_hub.run("sales_order")
    assert result.counts["refused"] == 1
    assert [o.status for o in (Order.objects.get(pk=x.pk) for x in (a, b, c))] == \
        [S.OPEN, S.ERROR, S.OPEN]
    again = rejecting_hub.run("sales_order")
    assert again.counts["refused"] == 0

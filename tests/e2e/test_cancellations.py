"""Orders canceled in the store never reach the warehouse unless their file already had
(issue 11 #6), whether the cancellation comes by Push Orders or by the poll, and whether the
batch was waiting out a warehouse outage or its upload had landed before a crash."""

from __future__ import annotations

import csv
import io
import json
import shutil
import signal
import time

import httpx
import pytest

from dropstream.alerts.models import Alert, AlertKind
from dropstream.intents.models import Intent
from dropstream.orders.models import Order, OrderStatus
from dropstream.sync.models import PushDelivery
from tests.e2e.conftest import build_hub
from tests.sync.test_push import push_url, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def order_numbers_at_the_warehouse(root) -> list[str]:
    """Order numbers in every order file anywhere under /in (processed and error included)."""
    numbers = []
    for path in (root / "in").rglob("ord_*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            if row and row[0] == "PH":
                numbers.append(row[1])
    return sorted(numbers)


def warehouse_down(hub) -> None:
    """The warehouse's /in is gone (a broken mount): uploads fail, batches wait."""
    shutil.move(hub.root / "in", hub.root / "in-away")


def warehouse_back(hub) -> None:
    shutil.move(hub.root / "in-away", hub.root / "in")


def test_a_pushed_cancellation_of_an_order_waiting_out_an_outage_is_never_sent(
        hub, live_server):
    store = hub.connection.store
    hub.control.set_push(push_url(live_server, store))
    warehouse_down(hub)
    ids = hub.control.create_orders(2, status="paid")
    # Pushed and prepared; the first one's batch waits for the warehouse, the other is queued.
    wait_for(lambda: Order.objects.filter(status=S.QUEUED).count() == 2
             and Order.objects.exclude(export_reference="").exists())
    canceled = int(Order.objects.exclude(export_reference="").get().external_id)
    [kept] = [i for i in ids if i != canceled]
    body = json.loads(PushDelivery.objects.get(external_id=str(canceled)).body)
    body["status"] = "canceled"

    answer = httpx.post(push_url(live_server, store), content=json.dumps(body))
    wait_for(lambda: Order.objects.get(external_id=str(canceled)).status == S.CLOSED)
    warehouse_back(hub)
    hub.run("sales_order", mode="export")

    assert answer.status_code == 200
    gone = Order.objects.get(external_id=str(canceled))
    assert (gone.status, gone.export_reference, gone.exported_at) == (S.CLOSED, "", None)
    assert "taken out of that batch" in gone.activity.get(event="canceled_in_store").message
    assert order_numbers_at_the_warehouse(hub.root) == [
        Order.objects.get(external_id=str(kept)).warehouse_order_number]
    assert not Alert.objects.filter(kind=AlertKind.CANCEL_AT_WAREHOUSE).exists()
    assert PushDelivery.objects.filter(reason="canceled: closed").count() == 1


def test_a_polled_cancellation_while_the_batch_waits_out_an_outage_is_never_sent(hub):
    [canceled] = hub.control.create_orders(1, status="paid")
    warehouse_down(hub)
    assert not hub.run("sales_order", expect_ok=False).ok
    order = Order.objects.get(external_id=str(canceled))
    assert order.status == S.QUEUED and order.export_reference
    hub.control.update_order(canceled, status="canceled")
    warehouse_back(hub)

    result = hub.run("sales_order")

    order.refresh_from_db()
    assert (order.status, order.export_reference) == (S.CLOSED, "")
    assert result.counts["canceled"] == 1 and result.counts["exported"] == 0
    assert order_numbers_at_the_warehouse(hub.root) == []
    assert Intent.objects.get(kind="export").state == "abandoned"
    assert not Alert.objects.filter(kind=AlertKind.CANCEL_AT_WAREHOUSE).exists()


def test_a_cancellation_after_the_file_landed_but_before_confirmation_reopens_with_an_alert(
        bs_store, tmp_path, sftp_server, hub_processes):
    hub = build_hub(bs_store, sftp_server.root, warehouse_url=sftp_server.connection_string)
    [external_id] = hub.control.create_orders(1, status="paid")
    sftp_server.hold_after_rename = "ord_"
    doomed = hub_processes.start("sync", "run", str(hub.connection.pk), "--channel",
                                 "sales_order", DROPSTREAM_RUN_LEASE_SECONDS="2")
    assert sftp_server.renamed.wait(60), hub_processes.output(doomed)
    doomed.send_signal(signal.SIGKILL)  # the file is at the warehouse, unconfirmed
    doomed.wait()
    sftp_server.release()
    hub.control.update_order(external_id, status="canceled")
    time.sleep(2.1)  # the killed run's lease lapses

    hub.run("sales_order")

    order = Order.objects.get(external_id=str(external_id))
    assert order.status == S.OPEN and order.exported_at is not None
    assert order.canceled_in_store_at is not None
    alert = Alert.objects.get(kind=AlertKind.CANCEL_AT_WAREHOUSE)
    assert "the file reached the warehouse" in alert.message
    assert Intent.objects.get(kind="export").state == "done"
    assert order_numbers_at_the_warehouse(sftp_server.root) == [order.warehouse_order_number]

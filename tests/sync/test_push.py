"""Push Orders intake: the sandbox POSTs orders to the hub's secret URL over real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from django.utils import timezone

from dropstream.connections import actions
from dropstream.orders.models import Order
from dropstream.sync.models import PushDelivery

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]


@pytest.fixture
def pushed_store(bs_store, tmp_path):
    merchant = actions.create_merchant("Acme")
    store = actions.create_store(merchant, name="Acme", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url, "import_since": "2000-01-01T00:00:00Z"})
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    warehouse = actions.create_warehouse(merchant, platform="dropstream",
                                         adapter={"connection_string": f"file://{tmp_path}"})
    connection = actions.create_connection(name="Acme", customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    return store


def _holds(predicate) -> bool:
    # The test database is in-memory SQLite with a shared cache: a read that meets the live
    # server's write gets "table is locked" at once (no busy timeout); it is simply not yet.
    from django.db import OperationalError

    try:
        return bool(predicate())
    except OperationalError:
        return False


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not _holds(predicate):
        assert time.monotonic() < deadline, (
            "timed out; deliveries: "
            + repr(list(PushDelivery.objects.values_list("state", "reason"))))
        time.sleep(0.05)


def push_url(live_server, store) -> str:
    return f"{live_server.url}/hooks/brightsites/{store.push_secret}"


def test_pushed_orders_are_imported_with_zero_store_requests(live_server, bs_store, pushed_store):
    bs_store.control.set_push(push_url(live_server, pushed_store))
    bs_store.control.reset_meter()
    ids = bs_store.control.create_orders(3, status="paid")
    wait_for(lambda: Order.objects.count() == 3)
    assert sorted(Order.objects.values_list("external_id", flat=True)) == sorted(map(str, ids))
    # Imported, prepared, then sent by an export-only run (no store request).
    wait_for(lambda: set(Order.objects.values_list("status", flat=True)) == {"open"})
    assert Order.objects.count() == 3
    assert bs_store.control.meter()["total"] == 0


def test_a_wrapped_and_duplicated_push_imports_once(live_server, bs_store, pushed_store):
    bs_store.control.set_push(push_url(live_server, pushed_store), wrap=True)
    (order_id,) = bs_store.control.create_orders(1, status="paid")
    wait_for(lambda: Order.objects.count() == 1)
    body = PushDelivery.objects.get().body
    response = httpx.post(push_url(live_server, pushed_store), content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    wait_for(lambda: PushDelivery.objects.count() == 2)
    assert Order.objects.count() == 1
    assert Order.objects.get().external_id == str(order_id)


def test_an_unknown_secret_is_404_and_nothing_is_stored(live_server, pushed_store):
    response = httpx.post(f"{live_server.url}/hooks/brightsites/not-a-secret",
                          json={"order_id": 1})
    assert response.status_code == 404
    assert PushDelivery.objects.count() == 0


def test_malformed_json_is_400_with_the_reason_and_the_body_kept(live_server, pushed_store):
    response = httpx.post(push_url(live_server, pushed_store), content=b'{"order_id": 1,',
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not JSON")
    delivery = PushDelivery.objects.get()
    assert delivery.state == "rejected" and delivery.body == '{"order_id": 1,'


def test_a_body_over_1_mb_is_413(live_server, pushed_store):
    response = httpx.post(push_url(live_server, pushed_store), content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert Order.objects.count() == 0


def test_an_order_of_another_site_is_refused(live_server, pushed_store):
    body = json.dumps({"order_id": 5, "site_url": "http://someone-else.mybrightsites.com"})
    response = httpx.post(push_url(live_server, pushed_store), content=body)
    assert response.status_code == 400
    assert "is not this store" in response.json()["error"]


def test_an_order_not_at_the_import_status_is_recorded_and_ignored(live_server, bs_store,
                                                                   pushed_store):
    bs_store.control.set_push(push_url(live_server, pushed_store))
    bs_store.control.create_orders(1, status="paid")
    wait_for(lambda: Order.objects.count() == 1)
    payload = json.loads(PushDelivery.objects.get().body)
    payload["order_id"] = 999999
    payload["status"] = "new"
    response = httpx.post(push_url(live_server, pushed_store), content=json.dumps(payload))
    assert response.status_code == 200
    wait_for(lambda: PushDelivery.objects.filter(state="ignored").exists())
    assert Order.objects.count() == 1


def test_a_push_exports_at_once_and_turns_the_sales_schedule_into_a_reconciliation(
        live_server, bs_store, pushed_store):
    from dropstream.connections.models import Channel, Store

    bs_store.control.set_push(push_url(live_server, pushed_store))
    bs_store.control.reset_meter()
    bs_store.control.create_orders(2, status="paid")
    wait_for(lambda: Order.objects.filter(status="open").count() == 2)
    assert bs_store.control.meter()["total"] == 0
    channel = Channel.objects.get(connection__store=pushed_store, type="sales_order")
    assert channel.rules == [{"type": "daily", "every": 1, "at": "03:00"}]
    assert channel.rules_before_push == [{"type": "minutely", "every": 15}]
    assert Store.objects.get(pk=pushed_store.pk).push_orders_since is not None


def test_orders_found_only_by_the_reconciliation_poll_bring_polling_back(
        live_server, bs_store, pushed_store):
    from dropstream.alerts.models import Alert
    from dropstream.connections.models import Channel, Store
    from dropstream.sync.runner import run_channel

    bs_store.control.set_push(push_url(live_server, pushed_store))
    bs_store.control.create_orders(1, status="paid")
    wait_for(lambda: Store.objects.get(pk=pushed_store.pk).push_orders_since is not None)
    bs_store.control.clear_push()
    bs_store.control.create_orders(2, status="paid")  # Push Orders silently stopped
    connection = pushed_store.connections.get()
    result = run_channel(connection.pk, "sales_order")
    assert result.ok and result.counts["imported"] == 2
    channel = Channel.objects.get(connection=connection, type="sales_order")
    assert channel.rules == [{"type": "minutely", "every": 15}]
    assert Alert.objects.filter(kind="push_rejected", message__contains="reconciliation").exists()


def test_a_delivery_whose_import_task_was_lost_is_imported_by_the_scheduler(
        live_server, bs_store, pushed_store):
    from datetime import timedelta

    from dropstream.scheduling.scheduler import scheduler_tick

    bs_store.control.set_push(push_url(live_server, pushed_store))
    bs_store.control.create_orders(1, status="paid")
    wait_for(lambda: Order.objects.count() == 1)
    body = json.loads(PushDelivery.objects.get().body)
    body["order_id"] = bs_store.control.create_orders(1, status="new")[0]
    body["status"] = "paid"
    # Kept, but the process died before its import task went out (or the queue lost it).
    stuck = PushDelivery.objects.create(store=pushed_store, body=json.dumps(body),
                                        external_id=str(body["order_id"]),
                                        enqueued_at=timezone.now() - timedelta(minutes=1))

    scheduler_tick(timezone.now())
    assert PushDelivery.objects.get(pk=stuck.pk).state == "received"  # not stuck long enough
    scheduler_tick(timezone.now() + timedelta(minutes=5))

    assert PushDelivery.objects.get(pk=stuck.pk).state == "imported"
    assert Order.objects.filter(external_id=str(body["order_id"])).exists()

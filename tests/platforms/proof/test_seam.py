"""The seam, proved by a platform the hub has never heard of: registered from this folder, it
takes orders from a real Bright Sites store over HTTP, refuses one, and reports shipments both
by its polled feed and by signed webhooks — through the hub's own flows, pages and hook route."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import httpx
import pytest
from django.utils import timezone

from dropstream.connections import actions
from dropstream.connections.models import Connection
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.base import register, unregister
from dropstream.shipments.models import Shipment
from dropstream.sync.models import PushDelivery
from tests.e2e.conftest import run_locked
from tests.platforms.proof import SPEC
from tests.platforms.proof.server import ProofWms
from tests.sync.test_push import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


@pytest.fixture
def proof_platform() -> Iterator[None]:
    register(SPEC)
    yield
    unregister(SPEC)


@pytest.fixture
def skus(bs_store) -> list[str]:
    records = [r for r in bs_store.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    return [record["final_sku"] for record in records[:2]]


@pytest.fixture
def wms(skus) -> Iterator[ProofWms]:
    server = ProofWms(api_key="key-1", signing_secret="sign-1", unknown_skus={skus[1]}).start()
    yield server
    server.stop()


@pytest.fixture
def connection(proof_platform, bs_store, wms) -> Connection:
    merchant = actions.create_merchant("Proof Merchant")
    store = actions.create_store(merchant, name="Proof Store", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url}, import_since="2000-01-01T00:00:00Z")
    warehouse = actions.create_warehouse(merchant, platform="proof", description="Proof DC",
                                         adapter={"base_url": wms.base_url, "api_key": "key-1",
                                                  "signing_secret": "sign-1"})
    made = actions.create_connection(name="Proof", customer=merchant, store=store,
                                     warehouse=warehouse)
    actions.set_connection_enabled(made, timezone.now())
    return made


def store_shipments(bs_store, order: Order) -> list[str]:
    raw = bs_store.control.get_order(int(order.external_id))
    return [s["tracking_number"] for s in raw["shipments"]]


def test_an_unknown_platform_runs_the_whole_flow_through_the_seam(
        connection, bs_store, wms, skus, live_server, settings):
    settings.PUBLIC_URL = live_server.url
    good = bs_store.control.create_orders(3, status="paid",
                                          lines=[{"final_sku": skus[0], "quantity": 2}])
    [bad] = bs_store.control.create_orders(1, status="paid",
                                           lines=[{"final_sku": skus[1], "quantity": 1}])

    sales = run_locked(connection, "sales_order")

    # Orders went over HTTP in batches of the platform's size; only the refused one is in Error.
    assert sales.ok, sales.error
    orders = {int(o.external_id): o for o in Order.objects.all()}
    assert {orders[i].status for i in good} == {S.OPEN}
    assert orders[bad].status == S.ERROR and f"unknown SKU {skus[1]}" in orders[bad].error_message
    assert sorted(wms.orders) == sorted(orders[i].warehouse_order_number for i in good)
    assert len({o["batch"] for o in wms.orders.values()}) == 2  # 3 orders, 2 per batch

    # A webhook for the first order, on the URL the settings page shows.
    page_url = _hook_url_on_settings_page(connection)
    wms.hook_url = page_url
    first, second, third = (orders[i] for i in good)
    package = wms.ship(first.warehouse_order_number, deliver=True)
    wait_for(lambda: store_shipments(bs_store, first) == [package["tracking"]])
    # The same event again changes nothing; a forged one is refused and stores nothing.
    assert wms.deliver(package).status_code == 200
    forged = wms.deliver({**package, "tracking": "FORGED"}, signature="0" * 64)
    assert forged.status_code == 401

    # The second ships by the feed only; the poll also sees the first again and knows it.
    wms.ship(second.warehouse_order_number)
    polled = run_locked(connection, "shipment")
    assert polled.ok, polled.error
    assert store_shipments(bs_store, first) == [package["tracking"]]
    assert len(store_shipments(bs_store, second)) == 1
    assert store_shipments(bs_store, third) == []
    assert Shipment.objects.filter(tracking_number="FORGED").count() == 0
    assert Shipment.objects.count() == 2
    assert sorted(PushDelivery.objects.filter(warehouse=connection.warehouse)
                  .values_list("state", flat=True)) == ["ignored", "imported", "rejected"]
    assert {Order.objects.get(pk=o.pk).status for o in (first, second)} == {S.SHIPPED}

    # The refused order, its SKU now known to the warehouse, goes again with Reprocess.
    from dropstream.orders.actions import reprocess

    wms.unknown_skus.clear()
    reprocess(orders[bad], actor="test")
    run_locked(connection, "sales_order")
    assert Order.objects.get(pk=orders[bad].pk).status == S.OPEN
    assert wms.creates == 4  # each order created once, the refused one after Reprocess only


def test_an_order_the_warehouse_cancels_is_closed_with_one_alert(connection, bs_store, wms,
                                                                  skus):
    from dropstream.alerts.models import Alert, AlertKind

    [kept, canceled] = bs_store.control.create_orders(
        2, status="paid", lines=[{"final_sku": skus[0], "quantity": 1}])
    run_locked(connection, "sales_order")
    orders = {int(o.external_id): o for o in Order.objects.all()}
    wms.cancel(orders[canceled].warehouse_order_number, "out of stock for good")
    wms.ship(orders[kept].warehouse_order_number)

    first = run_locked(connection, "shipment")
    wms.cancel(orders[canceled].warehouse_order_number, "out of stock for good")  # said again
    again = run_locked(connection, "shipment")

    assert first.ok and again.ok
    assert first.counts["shipments_canceled"] == 1 and again.counts["shipments_canceled"] == 0
    gone = Order.objects.get(pk=orders[canceled].pk)
    assert gone.status == S.CLOSED
    assert "out of stock for good" in gone.activity.get(event="canceled_at_warehouse").message
    [alert] = Alert.objects.filter(kind=AlertKind.WAREHOUSE_CANCELED)
    assert "out of stock for good" in alert.message and alert.connection_id == connection.pk
    assert Order.objects.get(pk=orders[kept].pk).status == S.SHIPPED
    assert bs_store.control.get_order(canceled)["shipments"] == []


def test_a_warehouse_confirming_a_store_cancellation_closes_the_order_without_an_alert(
        connection, bs_store, wms, skus):
    from dropstream.alerts.models import Alert, AlertKind

    [order_id] = bs_store.control.create_orders(
        1, status="paid", lines=[{"final_sku": skus[0], "quantity": 1}])
    run_locked(connection, "sales_order")
    bs_store.control.update_order(order_id, status="canceled")
    run_locked(connection, "sales_order")  # canceled in the store after export
    order = Order.objects.get(external_id=str(order_id))
    assert order.canceled_in_store_at is not None and order.status == S.OPEN

    wms.cancel(order.warehouse_order_number, "as requested")  # the warehouse confirms
    assert run_locked(connection, "shipment").ok

    assert Order.objects.get(pk=order.pk).status == S.CLOSED
    assert not Alert.objects.filter(kind=AlertKind.WAREHOUSE_CANCELED).exists()


def test_a_forged_or_garbled_webhook_is_refused_and_nothing_is_stored(connection, client):
    warehouse = connection.warehouse
    url = f"/hooks/proof/{warehouse.hook_secret}"
    body = json.dumps({"event_id": "e1", "package": {"number": "X"}}).encode()

    forged = client.post(url, body, content_type="application/json",
                         headers={"X-Proof-Signature": "0" * 64})
    signed = hmac.new(b"sign-1", b"{not json", hashlib.sha256).hexdigest()
    garbled = client.post(url, b"{not json", content_type="application/json",
                          headers={"X-Proof-Signature": signed})
    wrong_secret = client.post("/hooks/proof/not-the-secret", body,
                               content_type="application/json")

    assert (forged.status_code, garbled.status_code, wrong_secret.status_code) == (401, 400, 404)
    assert "signature" in forged.json()["error"] and "JSON" in garbled.json()["error"]
    assert list(PushDelivery.objects.values_list("state", flat=True)) == ["rejected", "rejected"]
    assert Shipment.objects.count() == 0


def _hook_url_on_settings_page(connection: Connection) -> str:
    """The hook URL as an operator copies it from the warehouse's settings page."""
    from django.test import Client

    from dropstream.accounts.models import User

    client = Client()
    client.force_login(User.objects.create_user("proof@example.com", "pw-proof-1",
                                                role="administrator", is_staff=True,
                                                is_superuser=True))
    page = client.get(f"/connections/{connection.pk}/settings/").content.decode()
    marker = f"/hooks/proof/{connection.warehouse.hook_secret}"
    assert marker in page
    start = page.rindex("http", 0, page.index(marker))
    url = page[start:page.index(marker) + len(marker)]
    httpx.URL(url)  # a URL, not a fragment of markup
    return url

"""The warehouse refuses an order naming a store SKU it does not know: the order page shows it
in Error with the warehouse's words; a listing added on the connection's Settings tab and
Reprocess send it again, and it ships. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dropstream.accounts.models import User
from dropstream.connections import actions
from dropstream.connections.models import Connection
from dropstream.orders.models import Order, OrderStatus
from dropstream.sandbox.warehouse.robot import WarehouseRobot
from dropstream.scheduling.models import Run
from dropstream.shipments.models import Shipment
from tests.fixtures.secret_leaks import make_secret

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"),
              pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _connection(bs_store, warehouse_root: Path) -> Connection:
    """Bright Sites sandbox store → DSFX folder that is read as soon as a file lands."""
    merchant = actions.create_merchant("Bolt Bikes")
    since = (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store = actions.create_store(merchant, name="Bolt Team Store", platform="brightsites",
                                 adapter={"subdomain": bs_store.subdomain,
                                          "api_token": bs_store.read_write_token,
                                          "api_url": bs_store.api_url, "import_since": since})
    warehouse = actions.create_warehouse(merchant, description="Bolt DC", platform="dropstream",
                                         adapter={"connection_string": f"file://{warehouse_root}",
                                                  "settle_seconds": 0})
    return actions.create_connection(name="Bolt — BrightStores → DC", customer=merchant,
                                     store=store, warehouse=warehouse)


def _store_skus(bs_store) -> tuple[str, str]:
    """Two SKUs of stock-tracked store products: one the warehouse knows, one it does not."""
    records = [r for r in bs_store.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    return records[0]["final_sku"], records[1]["final_sku"]


def _run_now(page, base: str, connection: Connection, channel: str) -> Run:
    """Click Run now on a channel card (the queue runs inline); return the run, succeeded."""
    page.goto(f"{base}/connections/{connection.pk}/")
    before = Run.objects.filter(connection=connection, channel_type=channel).count()
    with page.expect_navigation():
        page.click(f"#channel-{channel} button:has-text('Run now')")
    page.wait_for_selector(f"#channel-{channel} .badge:has-text('Succeeded')")
    runs = list(Run.objects.filter(connection=connection, channel_type=channel).order_by("id"))
    assert len(runs) == before + 1
    assert runs[-1].state == "succeeded", runs[-1].error
    return runs[-1]


def test_reprocess_an_order_the_warehouse_refused_after_adding_a_listing(
        page, live_server, bs_store, warehouse_root, tmp_path, artifacts):
    password = make_secret("pw")
    User.objects.create_user("ops@example.com", password, role="administrator")
    known, unknown = _store_skus(bs_store)
    connection = _connection(bs_store, warehouse_root)
    robot = WarehouseRobot(f"file://{warehouse_root}", ship_delay_s=3600, split_rate=0.0,
                           short_rate=0.0, state_path=str(tmp_path / "robot-state.json"),
                           reject_unknown_skus=True, stock={known: 100, "WH-KNOWN": 100})
    base = live_server.url
    _log_in(page, base, "ops@example.com", password)

    page.goto(f"{base}/connections/{connection.pk}/")
    page.click(f"#switch-{connection.pk} button[role=switch]")
    page.wait_for_selector(f"#switch-{connection.pk} button[aria-checked=true]")
    [external_id] = bs_store.control.create_orders(
        1, lines=[{"final_sku": known, "quantity": 1}, {"final_sku": unknown, "quantity": 3}])

    # Sent, refused by the warehouse, and the refusal read by the next sales run.
    assert _run_now(page, base, connection, "sales_order").counts["exported"] == 1
    tick = robot.tick()
    assert (tick.orders_received, tick.orders_rejected) == (0, 1)
    assert _run_now(page, base, connection, "sales_order").counts["refused"] == 1

    order = Order.objects.get(connection=connection, external_id=str(external_id))
    expected = (f"The warehouse refused this order: unknown SKU {unknown} on line 2. Add a "
                "listing (the connection's Settings → Listings) or edit the line, then Reprocess.")
    assert (order.status, order.error_message) == (OrderStatus.ERROR, expected)
    page.click("#nav >> text=Orders")
    page.click(f"a:has-text('{order}')")
    page.wait_for_url(f"{base}/orders/{order.pk}/")
    assert page.locator("h1 .badge").inner_text() == "Error"
    assert expected in page.locator(".banner.bad").inner_text()
    page.screenshot(path=str(artifacts / "order-error.png"), full_page=True)

    # The fix: a listing from the store SKU to the warehouse's SKU, on the Settings tab.
    page.goto(f"{base}/connections/{connection.pk}/settings/")
    page.fill("#id_store_sku", unknown)
    page.fill("#id_warehouse_sku", "WH-KNOWN")
    page.fill("#id_name", "Team jersey (warehouse name)")
    page.click("button:has-text('Add listing')")
    page.wait_for_selector(f"text={unknown} → WH-KNOWN saved.")
    row = page.locator("#listings tbody tr", has_text=unknown)
    assert row.locator("td").nth(1).inner_text() == "WH-KNOWN"
    page.screenshot(path=str(artifacts / "listing-added.png"), full_page=True)

    page.goto(f"{base}/orders/{order.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#actions-menu summary")
    page.click("#actions-menu button[data-action=reprocess]")
    page.wait_for_selector(".banner.ok")
    order.refresh_from_db()
    assert order.status == OrderStatus.QUEUED
    assert list(order.lines.order_by("line_number").values_list("warehouse_sku", flat=True)) \
        == [known, "WH-KNOWN"]

    # Sent again with the warehouse's SKU, received, shipped, and the shipment posted.
    assert _run_now(page, base, connection, "sales_order").counts["exported"] == 1
    shipped = robot.ship_all_now()
    assert (shipped.orders_received, shipped.orders_rejected, shipped.orders_shipped) == (1, 0, 1)
    assert _run_now(page, base, connection, "shipment").counts["shipments_posted"] == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    [shipment] = Shipment.objects.filter(order=order)
    page.goto(f"{base}/orders/{order.pk}/")
    assert page.locator("h1 .badge").inner_text() == "Shipped"
    assert page.locator(".banner.bad").count() == 0
    assert page.locator(f"code:has-text('{shipment.tracking_number}')").is_visible()
    assert page.locator("text=→ WH-KNOWN").is_visible()
    page.screenshot(path=str(artifacts / "order-shipped.png"), full_page=True)
    assert bs_store.control.get_order(external_id)["status"] == "shipped"

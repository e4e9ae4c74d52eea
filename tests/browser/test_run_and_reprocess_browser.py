"""After the wizard: enable, Run now, the orders show up; an order in Error for an unmapped
shipping method is fixed by adding the map entry in Settings and Reprocessing it; an alert
policy turned the error into an issue; the merchant enters credentials through a one-time link.
Screenshots of the main pages go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dropstream.accounts.models import User
from dropstream.alerts.models import AlertKind, AlertPolicy, Issue, NotificationChannel
from dropstream.connections.models import Connection
from dropstream.orders.models import Order, OrderStatus
from tests.fixtures.secret_leaks import make_secret

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"),
              pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _wizard(page, base: str, bs_store, warehouse_root) -> Connection:
    page.goto(f"{base}/connections/new/")
    page.fill("#id_name", "Bolt — BrightStores → DC")
    page.click("button:has-text('Continue')")
    page.check("input[name=mode][value=new]")
    page.fill("#id_company_name", "Bolt Bikes")
    page.click("button:has-text('Continue')")
    page.fill("#id_label", "Bolt DC")
    page.fill("#id_adapter-connection_string", f"file://{warehouse_root}")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/connections/new/store/")
    page.fill("#id_label", "Bolt Team Store")
    page.fill("#id_adapter-subdomain", bs_store.subdomain)
    page.fill("#id_adapter-api_url", bs_store.api_url)
    page.fill("#id_adapter-api_token", bs_store.read_write_token)
    since = (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page.fill("#id_import_since", since)
    page.click("#add-connection")
    page.wait_for_url(f"{base}/connections/?created=*")
    return Connection.objects.get()


def test_run_now_then_reprocess_an_errored_order_after_adding_a_mapping(
        page, live_server, bs_store, warehouse_root, artifacts):
    password = make_secret("pw")
    User.objects.create_user("ops@example.com", password, role="administrator")
    channel = NotificationChannel.objects.create(name="Ops", emails="ops@example.com")
    policy = AlertPolicy.objects.create(name="Order processing", kinds=[AlertKind.ORDER_ERROR])
    policy.channels.set([channel])
    base = live_server.url
    _log_in(page, base, "ops@example.com", password)
    connection = _wizard(page, base, bs_store, warehouse_root)

    # Unmapped shipping methods put orders in Error; map UPS Ground only.
    page.goto(f"{base}/connections/{connection.pk}/settings/")
    page.select_option("#id_unmapped_shipping_method", "error")
    page.click("#push ~ section.card button:has-text('Save')")
    page.wait_for_selector(".banner.ok")
    page.fill("#id_store_description", "UPS Ground")
    page.fill("#id_carrier_code", "UPSGND")
    page.click("button:has-text('Add mapping')")
    page.wait_for_selector("text=“UPS Ground” mapped.")

    # Enable, then Run now on the sales channel (the queue runs inline in tests).
    page.goto(f"{base}/connections/{connection.pk}/")
    page.click(f"#switch-{connection.pk} button[role=switch]")
    page.wait_for_selector(f"#switch-{connection.pk} button[aria-checked=true]")
    bs_store.control.create_orders(1, shipping_method="UPS Ground")
    bs_store.control.create_orders(1, shipping_method="FedEx 2 Day")
    page.click("#channel-sales_order button:has-text('Run now')")
    page.wait_for_selector("#channel-sales_order .badge:has-text('Succeeded')", timeout=30_000)
    page.screenshot(path=str(artifacts / "connection-after-run.png"), full_page=True)

    page.click("#nav >> text=Orders")
    orders = list(Order.objects.filter(connection=connection))
    assert len(orders) == 2
    errored = Order.objects.get(connection=connection, status=OrderStatus.ERROR)
    assert "FedEx 2 Day" in errored.error_message
    for order in orders:
        assert page.locator(f"text={order}").first.is_visible()
    page.screenshot(path=str(artifacts / "orders-after-run.png"), full_page=True)

    # The policy opened an issue for the error.
    assert Issue.objects.filter(policy=policy, closed_at__isnull=True).count() == 1
    for name, path in (("issues", "/issues/"), ("alerts", "/alerts/"),
                       ("alert-settings", "/alert-settings/"), ("usage", "/usage/")):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert page.locator("#usage-month .n").inner_text() != "0"

    # Add the missing map entry, then Reprocess from the order page.
    page.goto(f"{base}/connections/{connection.pk}/settings/")
    page.fill("#id_store_description", "FedEx 2 Day")
    page.fill("#id_carrier_code", "FDX2D")
    page.click("button:has-text('Add mapping')")
    page.wait_for_selector("text=“FedEx 2 Day” mapped.")
    page.goto(f"{base}/orders/{errored.pk}/")
    page.screenshot(path=str(artifacts / "order-error-before-reprocess.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#actions-menu summary")
    page.click("#actions-menu button[data-action=reprocess]")
    page.wait_for_selector(".banner.ok")
    errored.refresh_from_db()
    assert errored.status != OrderStatus.ERROR
    assert errored.shipping_warehouse_code == "FDX2D"
    page.screenshot(path=str(artifacts / "order-after-reprocess.png"), full_page=True)


def test_the_merchant_enters_the_credentials_through_a_one_time_link(
        page, browser, live_server, bs_store, warehouse_root, artifacts, settings):
    settings.PUBLIC_URL = live_server.url  # links are built on the public address
    password = make_secret("pw")
    User.objects.create_user("ops@example.com", password, role="administrator")
    base = live_server.url
    _log_in(page, base, "ops@example.com", password)
    page.goto(f"{base}/connections/new/")
    page.fill("#id_name", "Bolt — ask the merchant")
    page.click("button:has-text('Continue')")
    page.check("input[name=mode][value=new]")
    page.fill("#id_company_name", "Bolt Bikes")
    page.click("button:has-text('Continue')")
    page.fill("#id_label", "Bolt DC")
    page.fill("#id_adapter-connection_string", f"file://{warehouse_root}")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/connections/new/store/")
    page.fill("#id_label", "Bolt Team Store")
    page.click("#ask-merchant")
    link = page.locator("#new-credential-link").input_value()
    assert "/credentials/" in link
    page.screenshot(path=str(artifacts / "credential-link-created.png"), full_page=True)

    merchant = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        other = merchant.new_page()
        other.goto(link)
        other.fill("#id_subdomain", bs_store.subdomain)
        other.fill("#id_api_token", bs_store.read_write_token)
        other.click("summary:has-text('Advanced')")
        other.fill("#id_api_url", bs_store.api_url)
        other.click("#test-credentials")
        other.wait_for_selector("#test-result .banner.ok")
        other.fill("#id_api_token", bs_store.read_write_token)  # never rendered back
        other.click("#save-credentials")
        other.wait_for_selector("#credentials-saved")
        other.screenshot(path=str(artifacts / "credential-link-merchant.png"), full_page=True)
        assert other.goto(link).status == 410
    finally:
        merchant.close()

    connection = Connection.objects.get()
    assert connection.store.adapter_settings()["api_token"] == bs_store.read_write_token
    page.goto(f"{base}/connections/{connection.pk}/settings/")
    assert bs_store.read_write_token not in page.content()
    assert page.locator("#credential-link .badge.ok").inner_text().startswith(
        "credentials received")

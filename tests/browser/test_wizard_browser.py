"""The Add Connection wizard in a real browser: DSFX folder warehouse, Bright Sites sandbox
store, a wrong token first, then the right one; the connection appears disabled; enable it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dropstream.accounts.models import User
from dropstream.connections.models import Connection
from dropstream.orders.models import Order, OrderActivity, OrderLine, OrderStatus
from tests.fixtures.secret_leaks import make_secret

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"),
              pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, email: str, password: str, artifacts) -> None:
    page.goto(f"{base}/login/")
    page.screenshot(path=str(artifacts / "login.png"))
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _seed_orders(connection: Connection) -> Order:
    now = timezone.now()
    for n in range(12):
        Order.objects.create(connection=connection, store=connection.store,
                             external_id=str(1000 + n), external_display_id=f"R{1000 + n}",
                             ordered_at=now - timedelta(hours=n), customer_email=f"c{n}@ex.com",
                             status=OrderStatus.OPEN if n % 3 else OrderStatus.SHIPPED,
                             total_amount="30.00")
    order = Order.objects.create(
        connection=connection, store=connection.store, external_id="2001",
        external_display_id="R2001", ordered_at=now, customer_email="pat@example.com",
        status=OrderStatus.ERROR, error_message="the warehouse does not know SKU TEE-RED-M",
        ship_name="Pat Doe", ship_street1="1 Main St", ship_city="Denver", ship_state="CO",
        ship_postal_code="80202", ship_country="US", total_amount="42.00")
    OrderLine.objects.create(order=order, store_sku="TEE-RED-M", name="Tee red M",
                             quantity_ordered=2, unit_price="21.00")
    OrderActivity.objects.create(order=order, event="imported", message="from BrightStores")
    OrderActivity.objects.create(order=order, event="error", message="export failed")
    return order


def test_wizard_wrong_token_then_right_then_enable(page, live_server, bs_store, warehouse_root,
                                                   artifacts):
    password = make_secret("pw")
    User.objects.create_user("ops@example.com", password, role="administrator")
    base = live_server.url
    _log_in(page, base, "ops@example.com", password, artifacts)

    page.click("#nav >> text=Connections")
    page.click("text=+ Add Connection")
    page.fill("#id_name", "Bolt — BrightStores → DC")
    page.click("button:has-text('Continue')")

    page.check("input[name=mode][value=new]")
    page.fill("#id_company_name", "Bolt Bikes")
    page.click("button:has-text('Continue')")

    page.fill("#id_label", "Bolt DC")
    page.fill("#id_adapter-connection_string", f"file://{warehouse_root}")
    page.click("#test-button")
    page.wait_for_selector("#test-result .banner.ok")
    page.screenshot(path=str(artifacts / "wizard-warehouse.png"), full_page=True)
    page.click("button:has-text('Continue')")

    page.wait_for_url(f"{base}/connections/new/store/")
    page.fill("#id_label", "Bolt Team Store")
    page.fill("#id_adapter-subdomain", bs_store.subdomain)
    page.fill("#id_adapter-api_url", bs_store.api_url)
    page.fill("#id_adapter-api_token", make_secret("wrong"))
    page.click("#add-connection")
    error = page.locator("#err-id_adapter-api_token")
    error.wait_for(state="visible")
    assert error.inner_text().strip() != ""
    assert page.get_attribute("#id_adapter-api_token", "aria-invalid") == "true"
    page.screenshot(path=str(artifacts / "wizard-wrong-token.png"), full_page=True)
    assert Connection.objects.count() == 0

    page.fill("#id_adapter-api_token", bs_store.read_write_token)
    page.click("#add-connection")
    page.wait_for_url(f"{base}/connections/?created=*")
    connection = Connection.objects.get()
    switch = page.locator(f"#switch-{connection.pk} button[role=switch]")
    assert switch.get_attribute("aria-checked") == "false"
    assert connection.enabled_at is None
    page.screenshot(path=str(artifacts / "connections.png"), full_page=True)

    switch.click()
    page.wait_for_selector(f"#switch-{connection.pk} button[aria-checked=true]")
    connection.refresh_from_db()
    assert connection.enabled_at is not None

    # The main pages, for the artifacts (and a smoke check that each renders in a browser).
    order = _seed_orders(connection)
    for name, path in (("dashboard", "/"), ("connection-channels",
                                             f"/connections/{connection.pk}/"),
                       ("connection-settings", f"/connections/{connection.pk}/settings/"),
                       ("orders", "/orders/"), ("order-error", f"/orders/{order.pk}/"),
                       ("help", "/help/")):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/orders/?status=error")
    assert page.locator("text=R2001").first.is_visible()
    page.screenshot(path=str(artifacts / "orders-phone.png"), full_page=True)

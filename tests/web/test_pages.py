"""Every page renders for each role; scoping hides other merchants; roles gate changes."""

from __future__ import annotations

import pytest

from dropstream.connections.models import Connection
from dropstream.orders.models import Order
from tests.web.conftest import login

PAGES = [
    "/", "/connections/", "/orders/", "/orders/?status=error", "/shipments/", "/inventory/",
    "/inventory/?view=store", "/alerts/", "/alerts/?show=all", "/profile/", "/help/",
]


@pytest.mark.parametrize("role", ["admin_user", "staff_user", "merchant_user"])
def test_every_page_renders_for_each_role(role, request, connection, order, alert, shipment):
    client = login(request.getfixturevalue(role))
    for url in [*PAGES, f"/connections/{connection.pk}/", f"/orders/{order.pk}/",
                f"/alerts/{alert.pk}/"]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_manage_pages_render_for_admin_and_staff(admin_client, staff_client, connection, order):
    for client in (admin_client, staff_client):
        for url in (f"/connections/{connection.pk}/settings/", "/connections/new/basic/",
                    f"/orders/{order.pk}/edit/"):
            assert client.get(url).status_code == 200, url


def test_merchant_user_cannot_open_manage_pages(merchant_client, connection, order):
    for url in (f"/connections/{connection.pk}/settings/", "/connections/new/basic/",
                f"/orders/{order.pk}/edit/", "/users/"):
        assert merchant_client.get(url).status_code == 403, url


def test_only_administrators_see_users(admin_client, staff_client):
    assert admin_client.get("/users/").status_code == 200
    assert staff_client.get("/users/").status_code == 403


def test_anonymous_is_sent_to_login(client, connection):
    response = client.get(f"/connections/{connection.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_merchant_gets_404_for_another_merchants_objects(merchant_client, other_connection,
                                                         other_order, other_alert):
    for url in (f"/connections/{other_connection.pk}/", f"/orders/{other_order.pk}/",
                f"/alerts/{other_alert.pk}/"):
        assert merchant_client.get(url).status_code == 404, url


def test_merchant_never_sees_another_merchants_name_or_counts(merchant_client, order,
                                                             other_order, other_alert):
    for url in ("/", "/connections/", "/orders/", "/orders/?status=error", "/alerts/?show=all"):
        body = merchant_client.get(url).content.decode()
        assert "Other Brand" not in body, url
        assert "OTHER-9001" not in body, url
        assert "Other brand import failed" not in body, url
    body = merchant_client.get("/orders/").content.decode()
    # One order of its own in Error, not two.
    assert 'status=error" class="has-errors">Error<span class="c">1</span>' in body


def test_staff_limited_to_a_merchant_sees_only_it(staff_user, merchant, order, other_order):
    staff_user.merchants.set([merchant])
    client = login(staff_user)
    assert client.get(f"/orders/{other_order.pk}/").status_code == 404
    assert client.get(f"/orders/{order.pk}/").status_code == 200


def test_merchant_cannot_enable_a_connection(merchant_client, connection):
    response = merchant_client.post(f"/connections/{connection.pk}/enabled/", {"enabled": "1"})
    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.enabled_at is None


def test_staff_cannot_toggle_another_merchants_connection_when_limited(
        staff_user, merchant, other_connection):
    staff_user.merchants.set([merchant])
    response = login(staff_user).post(f"/connections/{other_connection.pk}/enabled/",
                                      {"enabled": "1"})
    assert response.status_code == 404
    other_connection.refresh_from_db()
    assert other_connection.enabled_at is None


def test_enable_switch_returns_the_switch_to_htmx(staff_client, connection):
    response = staff_client.post(f"/connections/{connection.pk}/enabled/", {"enabled": "1"},
                                 HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-checked="true"' in response.content.decode()
    connection.refresh_from_db()
    assert connection.enabled_at is not None


def test_connections_list_filters_by_status_and_search(admin_client, connection,
                                                       other_connection):
    Connection.objects.filter(pk=other_connection.pk).update(enabled_at="2026-01-01T00:00Z")
    body = admin_client.get("/connections/?status=disabled").content.decode()
    assert "Acme Team Store" in body and "Other Store" not in body
    body = admin_client.get("/connections/?q=other").content.decode()
    assert "Other Store" in body and "Acme Team Store" not in body
    body = admin_client.get(f"/connections/?merchant={other_connection.customer_id}"
                            ).content.decode()
    assert "Other Store" in body and "Acme Team Store" not in body


def test_orders_search_by_number_and_email(admin_client, order, other_order):
    body = admin_client.get("/orders/?q=R5001").content.decode()
    assert "R5001" in body and "OTHER-9001" not in body
    body = admin_client.get("/orders/?q=pat@example.com").content.decode()
    assert "R5001" in body and "OTHER-9001" not in body


def test_orders_date_range_is_checked_beside_the_field(admin_client, order):
    response = admin_client.get("/orders/?date_from=2026-02-01&date_to=2026-01-01")
    body = response.content.decode()
    assert 'id="err-id_date_to" role="alert">Must be on or after the From date.' in body


def test_order_page_shows_error_banner_items_and_activity(admin_client, order):
    body = admin_client.get(f"/orders/{order.pk}/").content.decode()
    assert "Processing stopped:" in body
    assert "SKU TEE-RED-M is not known to the warehouse" in body
    assert "TEE-RED-M" in body and "imported" in body
    assert 'data-action="reprocess"' in body


def test_merchant_sees_no_actions_on_an_order(merchant_client, order):
    body = merchant_client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-action="reprocess"' not in body


def test_merchant_cannot_act_on_an_order(merchant_client, order):
    response = merchant_client.post(f"/orders/{order.pk}/archive/")
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "error"


def test_times_show_in_the_users_zone(admin_user, order):
    from datetime import UTC, datetime

    Order.objects.filter(pk=order.pk).update(ordered_at=datetime(2026, 3, 10, 15, 30, tzinfo=UTC))
    admin_user.time_zone = "America/New_York"
    admin_user.save()
    body = login(admin_user).get(f"/orders/{order.pk}/").content.decode()
    assert "Mar 10, 2026 11:30" in body


def test_profile_rejects_an_unknown_time_zone(admin_client, admin_user):
    response = admin_client.post("/profile/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "Not a time zone name" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.time_zone == "UTC"


def test_help_serves_the_guide(admin_client):
    response = admin_client.get("/help/")
    assert response.status_code == 200
    assert admin_client.get("/help/no-such-page/").status_code == 404
    assert admin_client.get("/help/..%2Fsettings/").status_code == 404


def test_staff_whose_only_merchant_is_deleted_sees_no_other_merchant(
        staff_user, other_connection, other_order, other_alert):
    # Given staff limited to one merchant, when that merchant is deleted, the list is empty:
    # empty means no merchant at all, never every merchant.
    from dropstream.connections import actions

    solo = actions.create_merchant("Solo Brand")
    staff_user.merchants.set([solo])
    solo.delete()
    client = login(staff_user)
    for url in (f"/connections/{other_connection.pk}/", f"/orders/{other_order.pk}/",
                f"/alerts/{other_alert.pk}/"):
        assert client.get(url).status_code == 404, url
    for url in ("/", "/connections/", "/orders/", "/alerts/?show=all", "/shipments/"):
        body = client.get(url).content.decode()
        assert "Other Brand" not in body, url
        assert "OTHER-9001" not in body, url
    assert 'All<span class="c">0</span>' in client.get("/orders/").content.decode()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=0001-01-01",
                                   "date_from=0001-01-01&date_to=9999-12-31"])
def test_order_dates_at_the_calendar_edges_mean_no_bound(admin_user, order, zone, query):
    # The day after 9999-12-31, or 0001-01-01 east of UTC, is beyond what a datetime holds:
    # every order lies inside such a bound, so it is dropped instead of overflowing (500).
    admin_user.time_zone = zone
    admin_user.save(update_fields=["time_zone"])
    response = login(admin_user).get(f"/orders/?{query}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'All<span class="c">1</span>' in body
    assert "R5001" in body


def test_an_order_date_the_calendar_cannot_hold_is_a_form_error(admin_client, order):
    response = admin_client.get("/orders/?date_to=10000-01-01")
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()

"""Server-side validation beside the field, settings, CSV import, order actions, log-in
throttling and invitations."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from dropstream.accounts.models import User
from dropstream.catalog.models import Listing, ShippingMethodMap
from dropstream.orders.models import Order, OrderStatus


def test_login_is_throttled_after_five_failures(client, admin_user):
    cache.clear()
    for _ in range(5):
        response = client.post("/login/", {"username": "admin@example.com",
                                           "password": "wrong-password"})
        assert response.status_code == 200
    locked = client.post("/login/", {"username": "admin@example.com", "password": "pw-admin-1"})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another e-mail from the same address is not affected.
    assert client.post("/login/", {"username": "nobody@example.com",
                                   "password": "x"}).status_code == 200
    cache.clear()


def test_login_succeeds_and_clears_failures(client, admin_user):
    cache.clear()
    for _ in range(4):
        client.post("/login/", {"username": "admin@example.com", "password": "wrong"})
    response = client.post("/login/", {"username": "admin@example.com", "password": "pw-admin-1"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    cache.clear()


def test_login_form_requires_csrf(admin_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": "admin@example.com", "password": "pw-admin-1"})
    assert response.status_code == 403


def test_connection_options_validate_beside_the_field(staff_client, connection):
    response = staff_client.post(f"/connections/{connection.pk}/settings/options/", {
        "name": "", "inventory_reserve": "-3", "zero_out_threshold": "2",
        "unmapped_shipping_method": "pass"})
    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="err-id_name" role="alert">This field is required.' in body
    assert 'id="err-id_inventory_reserve" role="alert">' in body
    connection.refresh_from_db()
    assert connection.name == "Acme" and connection.inventory_reserve == 0


def test_connection_options_save_through_the_domain_with_the_import_start(
        staff_client, connection):
    response = staff_client.post(f"/connections/{connection.pk}/settings/options/", {
        "name": "Acme East", "inventory_reserve": "4", "zero_out_threshold": "1",
        "unmapped_shipping_method": "error", "import_since": "2026-05-01T08:00:00Z"})
    assert response.status_code == 302
    connection.refresh_from_db()
    connection.store.refresh_from_db()
    assert (connection.name, connection.inventory_reserve, connection.zero_out_threshold,
            connection.unmapped_shipping_method) == ("Acme East", 4, 1, "error")
    assert connection.store.import_since.isoformat() == "2026-05-01T08:00:00+00:00"
    page = staff_client.get(f"/connections/{connection.pk}/settings/").content.decode()
    assert 'id="id_import_since"' in page and "2026-05-01" in page


def test_store_token_is_masked_and_kept_when_left_empty(staff_client, connection, store_token):
    page = staff_client.get(f"/connections/{connection.pk}/settings/").content.decode()
    assert store_token not in page
    assert "••••" + store_token[-4:] in page
    response = staff_client.post(f"/connections/{connection.pk}/settings/store/", {
        "store-subdomain": "acme", "store-api_token": "",
        "store-order_import_status": "billed",
        "store-api_url": "http://127.0.0.1:9/acme/api/v2.6.1",
        "store-status_on_shipped": "shipped"})
    assert response.status_code == 302
    connection.store.refresh_from_db()
    settings = connection.store.adapter_settings()
    assert settings["order_import_status"] == "billed"
    assert settings["api_token"] == store_token


def test_a_new_address_with_the_token_left_empty_asks_for_the_token(staff_client, connection,
                                                                    store_token):
    """Issue 18 #2: the stored token never follows a changed subdomain or API URL."""
    response = staff_client.post(f"/connections/{connection.pk}/settings/store/", {
        "store-subdomain": "acme2", "store-api_token": "",
        "store-order_import_status": "paid", "store-api_url": "http://127.0.0.1:9/x",
        "store-status_on_shipped": "shipped"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="err-id_store-api_token" role="alert">' in page
    assert "must be entered again" in page.lower()
    connection.store.refresh_from_db()
    settings = connection.store.adapter_settings()
    assert (settings["subdomain"], settings["api_token"]) == ("acme", store_token)


def test_store_settings_reject_a_bad_subdomain_beside_the_field(staff_client, connection):
    response = staff_client.post(f"/connections/{connection.pk}/settings/store/", {
        "store-subdomain": "bad domain!", "store-order_import_status": "paid",
        "store-status_on_shipped": "shipped"})
    assert response.status_code == 422
    assert 'id="err-id_store-subdomain" role="alert">' in response.content.decode()
    connection.store.refresh_from_db()
    assert connection.store.adapter_settings()["subdomain"] == "acme"


def test_shipping_map_csv_import_adds_and_reports_bad_lines(staff_client, connection):
    good = SimpleUploadedFile("map.csv", b"store_description,carrier_code,carrier_name\n"
                                         b"UPS Ground,UPSGND,UPS\nFree Shipping,USPSPM,USPS\n")
    response = staff_client.post(f"/connections/{connection.pk}/shipping/import/",
                                 {"file": good})
    assert response.status_code == 302
    assert ShippingMethodMap.objects.filter(connection=connection).count() == 2
    bad = SimpleUploadedFile("map.csv", b"store_description,carrier_code\nNext Day,\n")
    response = staff_client.post(f"/connections/{connection.pk}/shipping/import/",
                                 {"file": bad})
    assert response.status_code == 422
    assert "Line 2: store_description and carrier_code are both needed." in \
        response.content.decode()
    assert ShippingMethodMap.objects.filter(connection=connection).count() == 2


def test_listing_add_maps_a_store_sku(staff_client, connection):
    response = staff_client.post(f"/connections/{connection.pk}/listings/",
                                 {"store_sku": "TEE-RED-M", "warehouse_sku": "100-RED-M"})
    assert response.status_code == 302
    listing = Listing.objects.get(store=connection.store)
    assert (listing.store_sku, listing.product.sku) == ("TEE-RED-M", "100-RED-M")


def test_archive_from_the_order_page(staff_client, order):
    response = staff_client.post(f"/orders/{order.pk}/archive/")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ARCHIVED


def test_bulk_archive_applies_to_the_visible_selection_only(staff_user, merchant, order,
                                                           other_order):
    from tests.web.conftest import login

    staff_user.merchants.set([merchant])
    response = login(staff_user).post("/orders/bulk/", {
        "action": "archive", "ids": [order.pk, other_order.pk], "next": "/orders/"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ARCHIVED
    assert Order.objects.get(pk=other_order.pk).status == OrderStatus.ERROR


def test_invite_merchant_user_needs_a_merchant(admin_client):
    response = admin_client.post("/users/invite/", {"email": "new@ex.com", "role": "merchant",
                                                    "time_zone": "UTC"})
    assert response.status_code == 422
    assert 'id="err-id_merchant" role="alert">A Merchant user needs exactly one merchant.' in \
        response.content.decode()
    assert not User.objects.filter(email="new@ex.com").exists()


def test_invite_sends_a_one_time_link(admin_client, client, merchant):
    mail.outbox.clear()
    response = admin_client.post("/users/invite/", {"email": "New@Ex.com", "role": "merchant",
                                                    "merchant": merchant.pk,
                                                    "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    user = User.objects.get(email="new@ex.com")
    assert (user.role, user.merchant_id, user.has_usable_password()) == (
        "merchant", merchant.pk, False)
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/welcome/" in line)
    path = urlsplit(link).path
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    done = client.post(form_page.redirect_chain[-1][0],
                       {"new_password1": "a-Long-pass-123", "new_password2": "a-Long-pass-123"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-Long-pass-123")


def test_invitation_links_use_the_public_url_whatever_host_the_request_names(
        admin_user, merchant, settings):
    # Given ALLOWED_HOSTS="*", a request naming Host: evil.example must not make the hub mail
    # a link to evil.example: links are built on DROPSTREAM_PUBLIC_URL.
    from django.test import Client

    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    mail.outbox.clear()
    client = Client(HTTP_HOST="evil.example")
    client.force_login(admin_user)
    response = client.post("/users/invite/", {"email": "new@ex.com", "role": "merchant",
                                              "merchant": merchant.pk, "time_zone": "UTC"})
    assert response.status_code == 302
    links = [line for line in mail.outbox[0].body.splitlines() if "/welcome/" in line]
    assert len(links) == 1
    assert links[0].startswith("http://127.0.0.1:8123/welcome/")
    assert "evil.example" not in mail.outbox[0].body

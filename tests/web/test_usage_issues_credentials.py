"""API usage page, issues and alert settings pages, and the one-time credentials link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind, AlertPolicy, Grouping, Issue, NotificationChannel
from dropstream.connections.models import Store
from dropstream.metering.models import ApiCall
from dropstream.scheduling.budget import get_budget
from dropstream.web import credential_links
from dropstream.web.models import CredentialLink
from tests.fixtures.secret_leaks import make_secret

pytestmark = pytest.mark.django_db


def _calls(store, n: int, endpoint: str, channel: str = "sales_order", days_ago: int = 0):
    at = timezone.now() - timedelta(days=days_ago)
    ApiCall.objects.bulk_create([ApiCall(store=store, channel=channel, platform="brightsites",
                                         method="GET", endpoint=endpoint, status_code=200, at=at)
                                 for _ in range(n)])


def test_the_usage_page_shows_month_use_top_endpoint_and_the_unconfirmed_defaults(
        admin_client, connection):
    _calls(connection.store, 7, "GET /orders/:id")
    _calls(connection.store, 3, "GET /orders", channel="sales_order")
    _calls(connection.store, 2, "POST /orders/:id/shipments", channel="shipment")
    response = admin_client.get(f"/usage/{connection.store.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "12</span><span class=\"l\">requests this month of 30000" in html
    assert html.index("GET /orders/:id") < html.index("POST /orders/:id/shipments")
    assert "defaults to confirm with Bright Sites" in html
    assert html.count("<rect ") == 30


def test_saving_the_budget_updates_it_and_confirms_the_figures(admin_client, connection):
    response = admin_client.post(f"/usage/{connection.store.pk}/budget/", {
        "monthly_allowance": "50000", "overage_price": "0.02", "guard": "stop",
        "max_delay_minutes": "90"})
    assert response.status_code == 302
    budget = get_budget(connection.store)
    assert (budget.monthly_allowance, str(budget.overage_price), budget.guard,
            budget.max_delay_minutes) == (50000, "0.0200", "stop", 90)
    assert budget.confirmed_at is not None


def test_a_bad_budget_is_refused_beside_the_field_and_nothing_changes(admin_client, connection):
    response = admin_client.post(f"/usage/{connection.store.pk}/budget/", {
        "monthly_allowance": "-5", "overage_price": "0.02", "guard": "stop",
        "max_delay_minutes": "90"})
    assert response.status_code == 422
    assert 'id="err-id_monthly_allowance" role="alert"' in response.content.decode()
    assert get_budget(connection.store).guard == "alert"


def test_a_merchant_user_reads_usage_but_cannot_change_the_budget(merchant_client, connection):
    assert merchant_client.get(f"/usage/{connection.store.pk}/").status_code == 200
    response = merchant_client.post(f"/usage/{connection.store.pk}/budget/", {
        "monthly_allowance": "1", "overage_price": "1", "guard": "stop",
        "max_delay_minutes": "1"})
    assert response.status_code == 403
    assert get_budget(connection.store).monthly_allowance == 30000


def test_a_merchant_user_gets_404_for_another_merchants_alert_issue_and_usage(
        merchant_client, other_connection):
    policy = AlertPolicy.objects.create(name="All", kinds=[AlertKind.IMPORT_FAILED])
    alert = raise_alert(AlertKind.IMPORT_FAILED, "other brand failed",
                        connection=other_connection)
    issue = Issue.objects.get(policy=policy)
    for url in (f"/alerts/{alert.pk}/", f"/issues/{issue.pk}/",
                f"/usage/{other_connection.store.pk}/"):
        assert merchant_client.get(url).status_code == 404, url
    listing = merchant_client.get("/issues/?show=all").content.decode()
    assert "Other" not in listing


def test_a_merchant_user_sees_its_own_issue(merchant_client, connection):
    AlertPolicy.objects.create(name="Mine", kinds=[AlertKind.EXPORT_FAILED],
                               grouping=Grouping.TARGET)
    raise_alert(AlertKind.EXPORT_FAILED, "upload failed", connection=connection)
    issue = Issue.objects.get()
    response = merchant_client.get(f"/issues/{issue.pk}/")
    assert response.status_code == 200
    assert "upload failed" in response.content.decode()


def test_policies_and_channels_are_for_administrators_only(staff_client, merchant_client):
    for client in (staff_client, merchant_client):
        assert client.get("/alert-settings/").status_code == 403
        assert client.post("/alert-settings/channels/new/", {
            "name": "x", "emails": "a@example.com", "batch_minutes": "0"}).status_code == 403
    assert NotificationChannel.objects.count() == 0


def test_an_administrator_creates_a_channel_then_a_policy(admin_client, connection):
    response = admin_client.post("/alert-settings/channels/new/", {
        "name": "Ops", "emails": "ops@example.com, not-an-address", "batch_minutes": "15"})
    assert response.status_code == 422
    assert "Not an e-mail address: not-an-address." in response.content.decode()
    admin_client.post("/alert-settings/channels/new/", {
        "name": "Ops", "emails": "ops@example.com\nlead@example.com", "batch_minutes": "15"})
    channel = NotificationChannel.objects.get()
    assert channel.addresses == ["ops@example.com", "lead@example.com"]
    response = admin_client.post("/alert-settings/policies/new/", {
        "name": "Imports", "kinds": ["import_failed", "order_error"], "grouping": "event",
        "auto_close_hours": "24", "channels": [str(channel.pk)],
        "connections": [str(connection.pk)]})
    assert response.status_code == 302
    policy = AlertPolicy.objects.get()
    assert (policy.kinds, policy.grouping) == (["import_failed", "order_error"], "event")
    assert list(policy.channels.all()) == [channel]
    assert list(policy.connections.all()) == [connection]
    page = admin_client.get("/alert-settings/").content.decode()
    assert "Imports" in page and "Every 15 minutes" in page


# ----------------------------------------------------------------------------- credential link


def _link_from_settings(client: Client, connection) -> str:
    response = client.post(f"/connections/{connection.pk}/credential-link/")
    assert response.status_code == 302
    page = client.get(f"/connections/{connection.pk}/settings/").content.decode()
    start = page.index('id="new-credential-link" readonly value="') + len(
        'id="new-credential-link" readonly value="')
    return page[start:page.index('"', start)]


def test_the_credential_link_works_once_and_saves_the_token_encrypted(staff_client, connection,
                                                                      bs_store):
    url = _link_from_settings(staff_client, connection)
    path = urlsplit(url).path
    # The link is shown once: the next view of the Settings tab no longer has it.
    again = staff_client.get(f"/connections/{connection.pk}/settings/").content.decode()
    assert path not in again

    merchant = Client()  # not logged in
    assert merchant.get(path).status_code == 200
    wrong = merchant.post(path, {"subdomain": "acme", "api_token": make_secret("wrong"),
                                 "api_url": bs_store.api_url, "action": "save"})
    assert wrong.status_code == 422
    assert CredentialLink.objects.get().used_at is None
    ok = merchant.post(path, {"subdomain": "acme", "api_token": bs_store.read_write_token,
                              "api_url": bs_store.api_url, "action": "save"})
    assert ok.status_code == 200
    assert "credentials-saved" in ok.content.decode()
    store = Store.objects.get(pk=connection.store.pk)
    assert store.adapter_settings()["api_token"] == bs_store.read_write_token
    assert bs_store.read_write_token not in str(store.adapter)  # encrypted at rest
    assert merchant.get(path).status_code == 410
    assert merchant.post(path, {"subdomain": "acme", "api_token": make_secret("x"),
                                "action": "save"}).status_code == 410

    settings_page = staff_client.get(f"/connections/{connection.pk}/settings/").content.decode()
    assert bs_store.read_write_token not in settings_page
    assert "credentials received" in settings_page


def test_a_credential_link_allows_a_few_tests_then_locks(staff_client, connection, bs_store):
    """Issue 18 #1: the unauthenticated link page cannot be used as a probe again and again."""
    path = urlsplit(_link_from_settings(staff_client, connection)).path
    merchant = Client()
    wrong = {"subdomain": "acme", "api_token": make_secret("wrong"), "api_url": bs_store.api_url,
             "action": "test"}
    for _ in range(credential_links.TEST_LIMIT):
        assert merchant.post(path, wrong).status_code == 422
    calls = ApiCall.objects.count()
    locked = merchant.post(path, {**wrong, "api_token": bs_store.read_write_token,
                                  "action": "save"})
    assert locked.status_code == 410
    assert ApiCall.objects.count() == calls  # the store heard nothing more
    assert CredentialLink.objects.get().revoked_at is not None
    assert Store.objects.get(pk=connection.store.pk).adapter_settings()["api_token"] != \
        bs_store.read_write_token


def test_an_expired_credential_link_stops_working(connection):
    new = credential_links.create_link(connection.store, hours=1)
    CredentialLink.objects.filter(pk=new.link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get(new.path)
    assert response.status_code == 410
    assert "expired or was already used" in response.content.decode()


def test_a_new_link_revokes_the_previous_one_and_only_the_hash_is_stored(connection):
    first = credential_links.create_link(connection.store)
    second = credential_links.create_link(connection.store)
    assert Client().get(first.path).status_code == 410
    assert Client().get(second.path).status_code == 200
    assert not CredentialLink.objects.filter(token_hash__in=[first.token, second.token]).exists()


def test_a_merchant_user_cannot_create_a_credential_link(merchant_client, connection):
    assert merchant_client.post(
        f"/connections/{connection.pk}/credential-link/").status_code == 403
    assert CredentialLink.objects.count() == 0


def test_a_credential_link_uses_the_public_url_whatever_host_the_request_names(
        staff_user, connection, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    client = Client(HTTP_HOST="evil.example")
    client.force_login(staff_user)
    url = _link_from_settings(client, connection)
    assert url.startswith("http://127.0.0.1:8123/credentials/")
    assert len(url) == len("http://127.0.0.1:8123/credentials/") + 43 + 1

"""Issue 18 #2: a stored secret never follows a changed address. A Staff user who changes only
``api_url`` (or ``subdomain``, or the host inside a masked connection string) to a host they
control gets 422 and the merchant's token never reaches that host."""

from __future__ import annotations

from dropstream.connections.models import Store, Warehouse
from tests.fixtures.http_server import Reply
from tests.fixtures.secret_leaks import make_secret


def test_changing_only_the_api_url_is_refused_and_the_token_never_leaves(
        admin_api, store, store_token, scripted_server):
    scripted_server.plan(Reply(200, {"orders": []}))
    captured = scripted_server.url + "/api/v2.6.1"
    response = admin_api.patch(f"/api/stores/{store.pk}", {"adapter": {"api_url": captured}})
    assert response.status_code == 422
    assert "adapter.api_token" in response.json()["errors"]
    assert "entered again" in response.json()["errors"]["adapter.api_token"]
    store.refresh_from_db()
    assert store.adapter_settings()["api_url"] == "http://127.0.0.1:9/acme/api/v2.6.1"
    assert store.adapter_settings()["api_token"] == store_token
    # A run or a test of the stored credentials still goes to the old address only.
    assert scripted_server.seen == []


def test_the_masked_token_sent_back_with_a_new_subdomain_is_refused_too(admin_api, store):
    masked = admin_api.get(f"/api/stores/{store.pk}").json()["adapter"]["api_token"]
    response = admin_api.patch(f"/api/stores/{store.pk}",
                               {"adapter": {"subdomain": "other", "api_token": masked}})
    assert response.status_code == 422
    assert Store.objects.get(pk=store.pk).adapter_settings()["subdomain"] == "acme"


def test_a_new_address_with_its_token_is_saved(admin_api, store):
    token = make_secret("bs")
    response = admin_api.patch(f"/api/stores/{store.pk}", {
        "adapter": {"api_url": "http://127.0.0.1:9/other/api/v2.6.1", "api_token": token}})
    assert response.status_code == 204
    settings = Store.objects.get(pk=store.pk).adapter_settings()
    assert (settings["api_url"], settings["api_token"]) == (
        "http://127.0.0.1:9/other/api/v2.6.1", token)


def test_a_masked_connection_string_with_another_host_is_refused(admin_api, merchant):
    password = make_secret("pw")
    warehouse = Warehouse.objects.get(pk=admin_api.post("/api/warehouses", {
        "customer_id": merchant.pk, "platform": "dropstream", "description": "DC",
        "adapter": {"connection_string": f"sftp://wh1:{password}@127.0.0.1:2222/"}},
    ).json()["id"])
    shown = admin_api.get(f"/api/warehouses/{warehouse.pk}").json()["adapter"][
        "connection_string"]
    assert shown == "sftp://wh1:••••@127.0.0.1:2222/"
    moved = shown.replace("127.0.0.1:2222", "127.0.0.2:2222")
    response = admin_api.patch(f"/api/warehouses/{warehouse.pk}",
                               {"adapter": {"connection_string": moved}})
    assert response.status_code == 422
    assert "entered again" in response.json()["errors"]["adapter.connection_string"]
    warehouse.refresh_from_db()
    assert warehouse.adapter_settings()["connection_string"] == (
        f"sftp://wh1:{password}@127.0.0.1:2222/")
    # Sent back exactly as shown, it keeps the password.
    assert admin_api.patch(f"/api/warehouses/{warehouse.pk}",
                           {"adapter": {"connection_string": shown}}).status_code == 204

"""connections: the reference's nested create, all-or-nothing, update, enable, delete."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from dropstream.connections.models import Channel, Connection, Merchant, Store, Warehouse
from tests.fixtures.secret_leaks import make_secret


def reference_example(api_token: str, password: str) -> dict:
    """specs/dropstream-reference.md §13.6, platforms swapped to brightsites / dropstream."""
    return {
        "name": "My New Connection",
        "customer": {"company_name": "foo"},
        "store": {
            "name": "My Store",
            "description": "My Sellbrite Store",
            "platform": "brightsites",
            "adapter": {"subdomain": "abc123", "api_token": api_token},
        },
        "warehouse": {
            "description": "My New Warehouse",
            "platform": "dropstream",
            "adapter": {"connection_string": f"sftp://wh1:{password}@ftp.getdropstream.com"},
        },
    }


def _counts() -> tuple[int, int, int, int]:
    return (Merchant.objects.count(), Store.objects.count(), Warehouse.objects.count(),
            Connection.objects.count())


def test_the_reference_nested_example_creates_everything_disabled(admin_api):
    token, password = make_secret("bs"), make_secret("pw")
    response = admin_api.post("/api/connections", reference_example(token, password))
    assert response.status_code == 201
    connection = Connection.objects.get(pk=response.json()["id"])
    assert connection.name == "My New Connection"
    assert connection.customer.company_name == "foo"
    assert (connection.store.name, connection.store.description) == ("My Store",
                                                                       "My Sellbrite Store")
    assert connection.store.adapter_settings()["api_token"] == token
    assert connection.warehouse.description == "My New Warehouse"
    assert connection.enabled_at is None
    listed = admin_api.get("/api/connections").json()
    assert listed == [{
        "id": connection.pk, "customer_id": connection.customer_id,
        "warehouse_id": connection.warehouse_id, "store_id": connection.store_id,
        "name": "My New Connection", "connection_type": "fulfillment",
        "created_at": listed[0]["created_at"], "enabled_at": None, "locations": [],
        "inventory_reserve": 0, "zero_out_threshold": 0, "unmapped_shipping_method": "pass",
        "imports_orders": True, "counts_toward_store_stock": True}]
    channels = admin_api.get(f"/api/connections/{connection.pk}/channels").json()
    assert sorted(c["type"] for c in channels) == ["inventory", "sales_order", "shipment"]


def test_the_nested_example_works_form_encoded(admin_api):
    token, password = make_secret("bs"), make_secret("pw")
    connection_string = f"sftp://wh1:{password}@ftp.getdropstream.com"
    form = ("name=My New Connection&customer[company_name]=foo&store[name]=My Store"
            "&store[description]=My Sellbrite Store&store[platform]=brightsites"
            f"&store[adapter][subdomain]=abc123&store[adapter][api_token]={token}"
            "&warehouse[description]=My New Warehouse&warehouse[platform]=dropstream"
            f"&warehouse[adapter][connection_string]={quote(connection_string, safe='')}")
    response = admin_api.post("/api/connections", raw=form.replace(" ", "+"),
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    connection = Connection.objects.get(pk=response.json()["id"])
    assert connection.store.adapter_settings()["api_token"] == token
    assert connection.warehouse.adapter_settings()["connection_string"] == connection_string


def test_a_bad_nested_warehouse_creates_nothing_and_names_every_problem(admin_api):
    body = reference_example(make_secret("bs"), make_secret("pw"))
    body["store"]["adapter"].pop("api_token")
    body["warehouse"]["adapter"] = {"connection_string": "http://nope"}
    before = _counts()
    response = admin_api.post("/api/connections", body)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"store.adapter.api_token",
                                              "warehouse.adapter.connection_string"}
    assert _counts() == before


def test_an_unknown_platform_lists_the_known_ones(admin_api):
    body = reference_example(make_secret("bs"), make_secret("pw"))
    body["store"]["platform"] = "sellbrite"
    response = admin_api.post("/api/connections", body)
    assert response.status_code == 422
    assert response.json()["errors"]["store.platform"] == (
        "unknown store platform 'sellbrite'; known platforms: brightsites")


def test_a_failure_after_the_nested_customer_was_made_rolls_it_back(admin_api, other_world):
    body = reference_example(make_secret("bs"), make_secret("pw"))
    del body["warehouse"]
    body["warehouse_id"] = other_world["warehouse"].pk  # another merchant's warehouse
    before = _counts()
    response = admin_api.post("/api/connections", body)
    assert response.status_code == 422
    assert "warehouse_id" in response.json()["errors"]
    assert _counts() == before


def test_a_duplicate_connection_is_a_409_and_creates_nothing(admin_api, connection):
    before = _counts()
    response = admin_api.post("/api/connections", {
        "name": "again", "customer_id": connection.customer_id,
        "store_id": str(connection.store_id), "warehouse_id": connection.warehouse_id})
    assert response.status_code == 409
    assert _counts() == before


def test_without_a_warehouse_the_customers_default_is_used(admin_api, merchant, warehouse):
    body = {"name": "Second store", "customer_id": merchant.pk,
            "store": {"name": "Outlet", "platform": "brightsites",
                      "adapter": {"subdomain": "outlet", "api_token": make_secret("bs")}}}
    response = admin_api.post("/api/connections", body)
    assert response.status_code == 201
    assert Connection.objects.get(pk=response.json()["id"]).warehouse_id == warehouse.pk


def test_patch_renames_and_enables_then_disables(admin_api, connection):
    path = f"/api/connections/{connection.pk}"
    assert admin_api.patch(path, {"name": "Acme US", "enabled_at": "now"}).status_code == 204
    connection.refresh_from_db()
    assert connection.name == "Acme US"
    assert connection.enabled_at is not None
    assert connection.store.import_since  # fixed at first enable
    assert admin_api.patch(path, {"enabled_at": None}).status_code == 204
    connection.refresh_from_db()
    assert connection.enabled_at is None


def test_patch_sets_the_options_the_settings_page_sets(admin_api, connection):
    path = f"/api/connections/{connection.pk}"
    answer = admin_api.patch(path, {"inventory_reserve": 2, "zero_out_threshold": 1,
                                    "unmapped_shipping_method": "error"})
    assert answer.status_code == 204
    shown = admin_api.get(path).json()
    assert (shown["inventory_reserve"], shown["zero_out_threshold"],
            shown["unmapped_shipping_method"]) == (2, 1, "error")
    since = admin_api.patch(f"/api/stores/{connection.store_id}",
                            {"import_since": "2026-03-01T00:00:00Z"})
    assert since.status_code == 204
    assert admin_api.get(f"/api/stores/{connection.store_id}").json()["import_since"] == \
        "2026-03-01T00:00:00.000Z"


@pytest.mark.parametrize("body", [{"inventory_reserve": -1}, {"zero_out_threshold": 100_001},
                                  {"unmapped_shipping_method": "drop"},
                                  {"inventory_reserve": True}])
def test_an_option_out_of_range_is_a_422_that_changes_nothing(admin_api, connection, body):
    path = f"/api/connections/{connection.pk}"
    answer = admin_api.patch(path, {"name": "Renamed", **body})
    assert answer.status_code == 422
    assert next(iter(body)) in json.dumps(answer.json())
    connection.refresh_from_db()
    assert (connection.name, connection.inventory_reserve, connection.zero_out_threshold,
            connection.unmapped_shipping_method) == ("Acme", 0, 0, "pass")


def test_the_domain_refuses_options_the_api_would_also_refuse(connection):
    from dropstream.connections.actions import update_connection
    from dropstream.connections.errors import ConnectionsError

    with pytest.raises(ConnectionsError) as raised:
        update_connection(connection, {"inventory_reserve": -3, "unmapped_shipping_method": "x"})
    assert set(raised.value.errors) == {"inventory_reserve", "unmapped_shipping_method"}


def test_only_administrators_delete_connections(admin_api, staff_api, connection):
    path = f"/api/connections/{connection.pk}"
    assert staff_api.delete(path).status_code == 403
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert admin_api.delete(path).status_code == 204
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert Channel.objects.filter(connection_id=connection.pk).count() == 0
    assert Store.objects.filter(pk=connection.store_id).exists()


def test_the_connection_shows_its_channels(admin_api, connection):
    shown = admin_api.get(f"/api/connections/{connection.pk}").json()
    assert sorted(c["type"] for c in shown["channels"]) == ["inventory", "sales_order",
                                                             "shipment"]
    assert {c["connection_id"] for c in shown["channels"]} == {connection.pk}

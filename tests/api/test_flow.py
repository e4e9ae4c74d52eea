"""The reference's nested connection-create, then enable, run now, and the order in
GET /api/orders — against the Bright Sites sandbox and a DSFX folder; plus channels and ping."""

from __future__ import annotations

import pytest

from dropstream.connections.models import Connection
from tests.fixtures.secret_leaks import make_secret


@pytest.fixture(autouse=True)
def immediate_queue():
    """Runs execute inline when their transaction commits."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = before


@pytest.fixture
def dsfx_root(tmp_path):
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root


def _create(admin_api, bs_store, dsfx_root) -> Connection:
    body = {
        "name": "My New Connection",
        "customer": {"company_name": "foo"},
        "store": {
            "name": "My Store",
            "description": "My Sellbrite Store",
            "platform": "brightsites",
            # The sandbox listens on loopback; import_since lets it see orders made just now.
            "adapter": {"subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
                        "api_url": bs_store.api_url, "import_since": "2000-01-01T00:00:00Z"},
        },
        "warehouse": {
            "description": "My New Warehouse",
            "platform": "dropstream",
            "adapter": {"connection_string": f"file://{dsfx_root}"},
        },
    }
    response = admin_api.post("/api/connections", body)
    assert response.status_code == 201, response.content
    return Connection.objects.get(pk=response.json()["id"])


def _channel_id(admin_api, connection: Connection, kind: str) -> int:
    channels = admin_api.get(f"/api/connections/{connection.pk}/channels").json()
    return next(c["id"] for c in channels if c["type"] == kind)


def test_create_enable_run_now_and_the_order_appears(admin_api, bs_store, dsfx_root,
                                                     django_capture_on_commit_callbacks):
    connection = _create(admin_api, bs_store, dsfx_root)
    [external_id] = bs_store.control.create_orders(1, status="paid")
    assert admin_api.patch(f"/api/connections/{connection.pk}",
                           {"enabled_at": "now"}).status_code == 204
    sales = _channel_id(admin_api, connection, "sales_order")
    runs = f"/api/connections/{connection.pk}/channels/{sales}/runs"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(runs, {})
    assert response.status_code == 202
    run = admin_api.get(f"{runs}/{response.json()['id']}").json()
    assert run["state"] == "succeeded", run
    assert run["counts"]["imported"] == 1
    assert run["requests_used"] == 2  # the list page and one detail read
    orders = admin_api.get("/api/orders", {"store_id": "My Store"}).json()
    assert orders["total_count"] == 1
    assert orders["orders"][0]["external_id"] == str(external_id)
    assert len(list((dsfx_root / "in").glob("ord_*.csv"))) == 1  # exported to the warehouse


def test_run_now_on_a_disabled_connection_is_a_409(admin_api, connection):
    channel = connection.channels.get(type="sales_order")
    response = admin_api.post(f"/api/connections/{connection.pk}/channels/{channel.pk}/runs", {})
    assert response.status_code == 409
    assert "disabled" in response.json()["detail"]
    assert channel.runs.count() == 0


def test_full_sync_is_only_for_inventory(admin_api, connection):
    admin_api.patch(f"/api/connections/{connection.pk}", {"enabled_at": "now"})
    sales = connection.channels.get(type="sales_order")
    response = admin_api.post(f"/api/connections/{connection.pk}/channels/{sales.pk}/runs",
                              {"mode": "full"})
    assert response.status_code == 422
    assert "mode" in response.json()["errors"]
    inventory = connection.channels.get(type="inventory")
    response = admin_api.post(f"/api/connections/{connection.pk}/channels/{inventory.pk}/runs",
                              {"mode": "full"})
    assert response.status_code == 202
    assert inventory.runs.get().mode == "full"


def test_patching_a_channel_sets_rules_and_enabled_at(admin_api, connection):
    channel = connection.channels.get(type="shipment")
    path = f"/api/connections/{connection.pk}/channels/{channel.pk}"
    response = admin_api.patch(path, {"enabled_at": None,
                                      "rules": [{"type": "minutely", "every": 30}]})
    assert response.status_code == 204
    channel.refresh_from_db()
    assert channel.enabled_at is None
    assert channel.rules == [{"type": "minutely", "every": 30}]
    warned = admin_api.patch(path, {"rules": [{"type": "minutely", "every": 5}]})
    assert warned.status_code == 200
    assert len(warned.json()["warnings"]) == 1
    bad = admin_api.patch(path, {"rules": [{"type": "minutely", "every": 0}]})
    assert bad.status_code == 422
    assert list(bad.json()["errors"]) == ["rules[0].every"]
    channel.refresh_from_db()
    assert channel.rules == [{"type": "minutely", "every": 5}]


def test_the_reference_channel_enable_example(admin_api, connection):
    channel = connection.channels.get(type="inventory")
    path = f"/api/connections/{connection.pk}/channels/{channel.pk}"
    assert admin_api.patch(path, {"enabled_at": None}).status_code == 204
    assert admin_api.patch(path, {"enabled_at": "2020-08-19T14:57:20.000Z"}).status_code == 204
    shown = [c for c in admin_api.get(f"/api/connections/{connection.pk}/channels").json()
             if c["id"] == channel.pk]
    assert shown[0]["enabled_at"] == "2020-08-19T14:57:20.000Z"


def test_store_ping_checks_the_token_against_the_sandbox(admin_api, bs_store):
    body = {"name": "x", "platform": "brightsites",
            "adapter": {"subdomain": bs_store.subdomain, "api_url": bs_store.api_url,
                        "api_token": bs_store.read_write_token}}
    assert admin_api.post("/api/stores/ping", body).status_code == 204
    body["adapter"]["api_token"] = make_secret("wrong")
    refused = admin_api.post("/api/stores/ping", body)
    assert refused.status_code == 422
    assert refused.json()["detail"]


def test_usage_reports_each_visible_store(admin_api, store):
    stores = admin_api.get("/api/usage").json()["stores"]
    assert [s["store_id"] for s in stores] == [store.pk]
    assert stores[0]["requests_month"] == 0
    assert stores[0]["allowance"] == 30_000

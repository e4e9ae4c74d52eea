"""customers, stores and warehouses: list, create, read (adapter masked), update, ping."""

from __future__ import annotations

from dropstream.connections.models import Merchant, Store, Warehouse
from tests.fixtures.secret_leaks import make_secret


def test_it_creates_a_customer_like_the_reference_example(admin_api):
    body = {"company_name": "The company", "street1": "123 Commerce St", "street2": "Suite 789",
            "street3": None, "city": "New York", "state": "NY", "zipcode": "10012",
            "country": "USA", "provider": "dropstream"}
    response = admin_api.post("/api/customers", body)
    assert response.status_code == 201
    created = Merchant.objects.get(pk=response.json()["id"])
    assert (created.company_name, created.street2, created.zipcode) == (
        "The company", "Suite 789", "10012")
    shown = admin_api.get(f"/api/customers/{created.pk}").json()
    assert shown == {**body, "id": created.pk, "created_at": shown["created_at"]}
    assert shown["created_at"].endswith("Z") and len(shown["created_at"]) == 24


def test_it_patches_only_the_given_customer_fields(admin_api, merchant):
    response = admin_api.patch(f"/api/customers/{merchant.pk}", {"city": "Boulder"})
    assert response.status_code == 204
    merchant.refresh_from_db()
    assert (merchant.city, merchant.country, merchant.company_name) == (
        "Boulder", "US", "Acme Apparel")


def test_the_store_list_has_no_adapter_and_the_store_shows_it_masked(admin_api, store,
                                                                      store_token):
    listed = admin_api.get("/api/stores").json()
    assert [s["id"] for s in listed] == [store.pk]
    assert "adapter" not in listed[0]
    assert set(listed[0]) == {"id", "customer_id", "name", "description", "url", "platform",
                              "created_at", "enabled_at", "import_since", "order_imported_at",
                              "inventory_updated_at"}
    shown = admin_api.get(f"/api/stores/{store.pk}").json()
    assert shown["adapter"]["api_token"] == "••••" + store_token[-4:]
    assert shown["adapter"]["subdomain"] == "acme"


def test_it_creates_a_brightsites_store_like_the_reference_example(admin_api, merchant):
    token = make_secret("bs")
    body = {"customer_id": str(merchant.pk), "name": "Your BrightStores Store",
            "platform": "brightsites",
            "adapter": {"subdomain": "abc123", "api_token": token, "order_import_status": "paid"}}
    response = admin_api.post("/api/stores", body)
    assert response.status_code == 201
    store = Store.objects.get(pk=response.json()["id"])
    assert store.adapter_settings()["api_token"] == token
    assert token not in str(store.adapter)  # encrypted at rest


def test_patching_the_adapter_merges_and_keeps_a_secret_sent_back_masked(admin_api, store,
                                                                         store_token):
    masked = admin_api.get(f"/api/stores/{store.pk}").json()["adapter"]["api_token"]
    response = admin_api.patch(f"/api/stores/{store.pk}", {
        "adapter": {"api_token": masked, "order_import_status": "billed"}})
    assert response.status_code == 204
    store.refresh_from_db()
    settings = store.adapter_settings()
    assert settings["api_token"] == store_token
    assert settings["order_import_status"] == "billed"
    assert settings["subdomain"] == "acme"


def test_patching_a_new_secret_replaces_it(admin_api, store):
    token = make_secret("bs")
    assert admin_api.patch(f"/api/stores/{store.pk}",
                           {"adapter": {"api_token": token}}).status_code == 204
    store.refresh_from_db()
    assert store.adapter_settings()["api_token"] == token


def test_enabled_at_enables_and_null_disables_a_store(admin_api, store):
    response = admin_api.patch(f"/api/stores/{store.pk}",
                               {"enabled_at": "2020-08-19T14:57:20.000Z"})
    assert response.status_code == 204
    assert admin_api.get(f"/api/stores/{store.pk}").json()["enabled_at"] == (
        "2020-08-19T14:57:20.000Z")
    assert admin_api.patch(f"/api/stores/{store.pk}", {"enabled_at": None}).status_code == 204
    store.refresh_from_db()
    assert store.enabled_at is None


def test_a_bad_adapter_change_changes_nothing(admin_api, store, store_token):
    before = dict(store.adapter)
    response = admin_api.patch(f"/api/stores/{store.pk}", {
        "name": "Renamed", "adapter": {"subdomain": "not a subdomain!"}})
    assert response.status_code == 422
    assert "adapter.subdomain" in response.json()["errors"]
    store.refresh_from_db()
    assert store.name == "Acme Team Store"
    assert store.adapter == before


def test_it_creates_a_warehouse_and_masks_the_connection_string_password(admin_api, merchant):
    password = make_secret("pw")
    response = admin_api.post("/api/warehouses", {
        "customer_id": merchant.pk, "description": "My New Warehouse", "platform": "dropstream",
        "adapter": {"connection_string": f"sftp://wh1:{password}@127.0.0.1:2222"}})
    assert response.status_code == 201
    warehouse_id = response.json()["id"]
    listed = admin_api.get("/api/warehouses").json()
    assert [w["id"] for w in listed] == [warehouse_id]
    assert "adapter" not in listed[0]
    shown = admin_api.get(f"/api/warehouses/{warehouse_id}").json()
    assert shown["adapter"]["connection_string"] == "sftp://wh1:••••@127.0.0.1:2222"
    assert Warehouse.objects.get(pk=warehouse_id).adapter_settings()["connection_string"].endswith(
        f"{password}@127.0.0.1:2222")


def test_it_patches_a_warehouse(admin_api, warehouse):
    response = admin_api.patch(f"/api/warehouses/{warehouse.pk}", {
        "description": "Denver DC", "enabled_at": "2024-05-01", "adapter": {"ph_version": 3}})
    assert response.status_code == 204
    warehouse.refresh_from_db()
    assert warehouse.description == "Denver DC"
    assert warehouse.enabled_at.isoformat() == "2024-05-01T00:00:00+00:00"
    assert warehouse.adapter_settings()["ph_version"] == 3


def test_warehouse_ping_answers_204_for_a_folder_with_in_and_out(admin_api, warehouse_root):
    response = admin_api.post("/api/warehouses/ping", {
        "description": "x", "platform": "dropstream",
        "adapter": {"connection_string": f"file://{warehouse_root}"}})
    assert response.status_code == 204
    assert sorted(p.name for p in warehouse_root.iterdir()) == ["in", "out"]
    assert Warehouse.objects.count() == 0


def test_warehouse_ping_answers_422_with_the_adapters_message(admin_api, tmp_path):
    response = admin_api.post("/api/warehouses/ping", {
        "platform": "dropstream", "adapter": {"connection_string": f"file://{tmp_path}/none"}})
    assert response.status_code == 422
    assert "/in does not exist" in response.json()["detail"]
    assert Warehouse.objects.count() == 0


def test_ping_with_a_missing_adapter_field_names_it(admin_api):
    response = admin_api.post("/api/stores/ping", {"platform": "brightsites",
                                                   "adapter": {"subdomain": "acme"}})
    assert response.status_code == 422
    assert response.json()["errors"] == {"adapter.api_token": "adapter.api_token is required"}

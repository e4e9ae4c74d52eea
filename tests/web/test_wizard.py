"""The Add Connection wizard against a real DSFX folder and the Bright Sites sandbox."""

from __future__ import annotations

import json

from dropstream.connections.models import Channel, Connection, Merchant, Store, Warehouse
from dropstream.web.views.wizard import SESSION_KEY
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret


def _through_warehouse(client, warehouse_root, company="Bolt Bikes"):
    assert client.get("/connections/new/").status_code == 302
    response = client.post("/connections/new/basic/", {"name": "Bolt — BS → DC"})
    assert response["Location"] == "/connections/new/merchant/"
    response = client.post("/connections/new/merchant/", {"mode": "new",
                                                          "company_name": company})
    assert response["Location"] == "/connections/new/warehouse/"
    response = client.post("/connections/new/warehouse/", {
        "action": "continue", "platform": "dropstream", "label": "Bolt DC",
        "adapter-connection_string": f"file://{warehouse_root}",
        "adapter-ph_version": "2", "adapter-orders_per_file": "500",
        "adapter-neutralise_formulas": "on", "adapter-source_code": "BS"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/connections/new/store/"


def _store_post(bs_store, token, action="create"):
    return {"action": action, "platform": "brightsites", "label": "Bolt Team Store",
            "adapter-subdomain": bs_store.subdomain, "adapter-api_token": token,
            "adapter-order_import_status": "paid", "adapter-api_url": bs_store.api_url,
            "adapter-status_on_shipped": "shipped", "adapter-notify_customer": "on"}


def test_wizard_creates_a_disabled_connection_after_a_wrong_token(
        staff_client, warehouse_root, bs_store):
    _through_warehouse(staff_client, warehouse_root)

    wrong = staff_client.post("/connections/new/store/", _store_post(bs_store,
                                                                      make_secret("bad")))
    body = wrong.content.decode()
    assert wrong.status_code == 422
    # The adapter's plain message sits in the API token field's error slot.
    assert 'id="err-id_adapter-api_token" role="alert">' in body
    assert Connection.objects.count() == 0 and Merchant.objects.count() == 0
    assert SECRET_MARKER not in body  # the typed token is not echoed back

    right = staff_client.post("/connections/new/store/",
                              _store_post(bs_store, bs_store.read_write_token))
    assert right.status_code == 302
    connection = Connection.objects.get()
    assert connection.name == "Bolt — BS → DC"
    assert connection.enabled_at is None
    assert connection.customer.company_name == "Bolt Bikes"
    assert connection.store.adapter_settings()["api_token"] == bs_store.read_write_token
    assert SECRET_MARKER not in json.dumps(connection.store.adapter)  # encrypted at rest
    assert Channel.objects.filter(connection=connection).count() == 3
    assert SESSION_KEY not in staff_client.session
    listing = staff_client.get(right["Location"]).content.decode()
    assert "Bolt Team Store" in listing and 'aria-checked="false"' in listing


def test_wizard_keeps_the_warehouse_secret_encrypted_in_the_session(staff_client,
                                                                    warehouse_root):
    _through_warehouse(staff_client, warehouse_root)
    stored = staff_client.session[SESSION_KEY]["warehouse"]["adapter"]["connection_string"]
    assert stored.startswith("fernet:")
    assert str(warehouse_root) not in stored


def test_wizard_cancel_leaves_nothing(staff_client, warehouse_root):
    _through_warehouse(staff_client, warehouse_root)
    response = staff_client.post("/connections/new/cancel/")
    assert response.status_code == 302
    assert SESSION_KEY not in staff_client.session
    assert (Merchant.objects.count(), Warehouse.objects.count(), Store.objects.count(),
            Connection.objects.count()) == (0, 0, 0, 0)


def test_wizard_shows_a_missing_folder_beside_the_connection_string(staff_client, tmp_path):
    staff_client.post("/connections/new/basic/", {"name": "X"})
    staff_client.post("/connections/new/merchant/", {"mode": "new", "company_name": "X Co"})
    response = staff_client.post("/connections/new/warehouse/", {
        "action": "continue", "platform": "dropstream", "label": "",
        "adapter-connection_string": f"file://{tmp_path}/nowhere"})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="err-id_adapter-connection_string" role="alert">' in body
    assert "does not exist" in body


def test_wizard_rejects_a_malformed_subdomain_beside_the_field(staff_client, warehouse_root,
                                                               bs_store):
    _through_warehouse(staff_client, warehouse_root)
    post = _store_post(bs_store, bs_store.read_write_token)
    post["adapter-subdomain"] = "not a subdomain!"
    body = staff_client.post("/connections/new/store/", post).content.decode()
    assert ('id="err-id_adapter-subdomain" role="alert">Must be the part before '
            '.mybrightsites.com') in body
    assert Connection.objects.count() == 0


def test_wizard_test_button_answers_htmx_with_the_message(staff_client, warehouse_root,
                                                          bs_store):
    _through_warehouse(staff_client, warehouse_root)
    response = staff_client.post("/connections/new/store/",
                                 _store_post(bs_store, bs_store.read_write_token, "test"),
                                 HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Connected to BrightStores." in response.content.decode()
    assert Connection.objects.count() == 0


def test_wizard_steps_cannot_be_skipped(staff_client):
    response = staff_client.get("/connections/new/store/")
    assert response["Location"] == "/connections/new/basic/"


def test_wizard_reuses_an_existing_merchants_warehouse(staff_client, merchant, warehouse,
                                                       bs_store):
    staff_client.post("/connections/new/basic/", {"name": "Acme second store"})
    staff_client.post("/connections/new/merchant/", {"mode": "existing",
                                                     "merchant": merchant.pk})
    page = staff_client.get("/connections/new/warehouse/").content.decode()
    assert "Acme DC" in page
    response = staff_client.post("/connections/new/warehouse/", {"warehouse": warehouse.pk})
    assert response["Location"] == "/connections/new/store/"
    response = staff_client.post("/connections/new/store/",
                                 _store_post(bs_store, bs_store.read_write_token))
    assert response.status_code == 302
    connection = Connection.objects.get(name="Acme second store")
    assert connection.warehouse_id == warehouse.pk
    assert Merchant.objects.count() == 1


def test_limited_staff_cannot_pick_another_merchant(staff_user, merchant, other_merchant):
    from tests.web.conftest import login

    staff_user.merchants.set([merchant])
    client = login(staff_user)
    client.post("/connections/new/basic/", {"name": "Sneaky"})
    response = client.post("/connections/new/merchant/", {"mode": "existing",
                                                          "merchant": other_merchant.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = client.post("/connections/new/merchant/", {"mode": "new",
                                                          "company_name": "New Co"})
    assert response.status_code == 200
    assert Merchant.objects.filter(company_name="New Co").count() == 0

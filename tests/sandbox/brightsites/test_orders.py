"""Orders: list paging and filters, show-order shape, update, approval hold, cancel."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pycountry

from dropstream.sandbox.brightsites.server import BrightSitesSandbox
from tests.fixtures.brightsites import BsStore

# specs/brightsites-api.md §7.3, the complete example.
ORDER_KEYS = {
    "order_id", "created_at", "updated_at", "status", "site_id", "site_name", "site_url",
    "custom_store_id", "organization_name", "organization_id", "custom_data_collections",
    "customer_email", "customer_id", "username", "item_total", "grand_total",
    "shipping_contact", "shipping_address", "billing_contact", "billing_address", "payment",
    "payments", "shipment", "line_items", "coupons_adjustments", "balance_adjustments",
    "custom_adjustments", "required_adjustments", "notes", "shipments",
}
LINE_KEYS = {
    "id", "name", "final_sku", "final_internal_id", "tax_code", "quantity", "product_price",
    "options_price", "total_price", "tax_price", "unit_price", "product_id", "product_options",
    "vendors", "logos", "product_personalizations", "gift_certificate", "note",
}
LINE_EXTRAS = {"pdf_status", "pdf_file_url", "split_items"}
CONTACT_KEYS = {"first_name", "last_name", "email", "phone"}
ADDRESS_KEYS = {"first_address", "company", "second_address", "city", "state", "country", "zip"}
LEGACY_SHIPMENT_KEYS = {"tracking_number", "cost", "created_at", "shipping_method", "ship_date",
                        "in_hands_date"}
PAYMENT_KEYS = {"id", "authorization", "created_at", "amount", "state", "details"}
ROW_KEYS = ["created_at", "updated_at", "order_id", "shipping_method", "tracking", "status",
            "customer"]


def test_the_list_is_newest_first_with_the_seven_summary_fields(bs_store: BsStore,
                                                                api: httpx.Client) -> None:
    ids = bs_store.control.create_orders(3)

    body = api.get("/orders").json()

    assert [row["order_id"] for row in body["orders"]] == sorted(ids, reverse=True)
    assert all(list(row) == ROW_KEYS for row in body["orders"])
    assert body["orders"][0]["tracking"] == "N/A"
    assert body["orders"][0]["created_at"].endswith(".000Z")
    assert body["meta"] == {"total": 3, "offset": 0, "limit": 50}


def test_paging_serves_1234_orders_in_three_pages_of_at_most_500(bs_store: BsStore,
                                                                  api: httpx.Client) -> None:
    ids = bs_store.control.create_orders(1234)

    pages = [api.get("/orders", params={"per_page": 500, "page": n}).json() for n in (1, 2, 3, 4)]

    assert [len(p["orders"]) for p in pages] == [500, 500, 234, 0]
    assert [p["meta"] for p in pages] == [
        {"total": 1234, "offset": offset, "limit": 500} for offset in (0, 500, 1000, 1500)]
    seen = [row["order_id"] for page in pages for row in page["orders"]]
    assert seen == sorted(ids, reverse=True)


def test_per_page_is_clamped_to_500_and_page_below_one_means_one(bs_store: BsStore,
                                                                  api: httpx.Client) -> None:
    bs_store.control.create_orders(501)

    clamped = api.get("/orders", params={"per_page": 1000}).json()
    first = api.get("/orders", params={"per_page": 2, "page": 0}).json()

    assert clamped["meta"] == {"total": 501, "offset": 0, "limit": 500}
    assert len(clamped["orders"]) == 500
    assert first["meta"]["offset"] == 0 and len(first["orders"]) == 2


def test_a_non_numeric_page_is_a_shape_a_422(bs_store: BsStore, api: httpx.Client) -> None:
    response = api.get("/orders", params={"page": "two"})

    assert response.status_code == 422
    assert response.json() == {"errors": {
        "page": "Invalid parameter 'page' value \"two\": Must be a number"}}


def test_the_status_filter_matches_one_status(bs_store: BsStore, api: httpx.Client) -> None:
    paid = bs_store.control.create_orders(2, status="paid")
    bs_store.control.create_orders(3, status="new")

    body = api.get("/orders", params={"status": "paid"}).json()

    assert sorted(row["order_id"] for row in body["orders"]) == paid
    assert body["meta"]["total"] == 2


def test_an_unknown_status_filter_gets_the_observed_message(bs_store: BsStore,
                                                            api: httpx.Client) -> None:
    response = api.get("/orders", params={"status": "in progress"})

    assert response.status_code == 422
    assert response.json() == {"errors": {"status": (
        "Invalid parameter 'status' value \"in progress\": status must be one of new, billed, "
        "paid, in_progress, split, shipped, completed, back_ordered, canceled, moas_pending")}}


def test_time_windows_are_inclusive_and_accept_any_iso_form(bs_store: BsStore,
                                                            api: httpx.Client) -> None:
    control = bs_store.control
    early = control.create_orders(1, created_at="2025-05-14T18:00:00Z")
    middle = control.create_orders(1, created_at="2025-05-14T19:00:00Z")
    late = control.create_orders(1, created_at="2025-05-14T20:00:00Z")

    def ids(**params: str) -> list[int]:
        return [row["order_id"] for row in api.get("/orders", params=params).json()["orders"]]

    assert ids(created_at_from="2025-05-14T19:00:00Z") == late + middle
    assert ids(created_at_to="2025-05-14T19:00:00") == middle + early
    assert ids(updated_at_from="2025-05-14T11:30:00-06:00",
               updated_at_to="2025-05-14T18:30:00.000Z") == early
    assert ids(created_at_from="2025-05-14") == late + middle + early


def test_an_admin_edit_bumps_updated_at_into_the_window(bs_store: BsStore,
                                                        api: httpx.Client) -> None:
    [old] = bs_store.control.create_orders(1, created_at="2025-01-01T00:00:00Z")
    bs_store.control.create_orders(1, created_at="2025-01-02T00:00:00Z")

    bs_store.control.update_order(old, note="edited in admin")
    rows = api.get("/orders", params={"updated_at_from": "2025-06-01T00:00:00Z"}).json()

    assert [row["order_id"] for row in rows["orders"]] == [old]
    assert rows["orders"][0]["created_at"] == "2025-01-01T00:00:00.000Z"


def test_the_customer_filter_matches_the_email_case_insensitively(bs_store: BsStore,
                                                                  api: httpx.Client) -> None:
    [mine] = bs_store.control.create_orders(1, customer={"email": "Zoe.Bronte@example.com"})
    bs_store.control.create_orders(2)

    body = api.get("/orders", params={"customer": "zoe.bronte@EXAMPLE.com"}).json()

    assert [row["order_id"] for row in body["orders"]] == [mine]


def test_show_order_has_exactly_the_keys_of_the_spec_example(bs_store: BsStore,
                                                             api: httpx.Client) -> None:
    bs_store.control.settings(line_extras=False)
    [order_id] = bs_store.control.create_orders(1)

    order = api.get(f"/orders/{order_id}").json()

    assert set(order) == ORDER_KEYS
    assert set(order["shipping_contact"]) == set(order["billing_contact"]) == CONTACT_KEYS
    assert set(order["shipping_address"]) == set(order["billing_address"]) == ADDRESS_KEYS
    assert set(order["shipment"]) == LEGACY_SHIPMENT_KEYS
    assert set(order["payment"]) == PAYMENT_KEYS
    assert all(set(line) == LINE_KEYS for line in order["line_items"])
    assert order["shipments"] == [] and order["notes"] == []


def test_lines_carry_the_observed_extras_by_default(bs_store: BsStore, api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)

    lines = api.get(f"/orders/{order_id}").json()["line_items"]

    assert all(set(line) == LINE_KEYS | LINE_EXTRAS for line in lines)
    assert all(line["split_items"] == [] and line["pdf_status"] == "not_available"
               for line in lines)


def test_money_is_decimal_strings_that_add_up(bs_store: BsStore, api: httpx.Client) -> None:
    ids = bs_store.control.create_orders(30)

    for order_id in ids:
        order = api.get(f"/orders/{order_id}").json()
        lines = order["line_items"]
        item_total = sum(Decimal(line["total_price"]) for line in lines)
        adjustments = sum(Decimal(a["amount"]) for a in order["required_adjustments"]
                          + order["custom_adjustments"])
        assert Decimal(order["item_total"]) == item_total
        assert Decimal(order["grand_total"]) == item_total + adjustments
        assert order["payment"]["amount"] == order["grand_total"]
        assert order["payment"]["details"]["amount"] == f"${Decimal(order['grand_total']):,.2f}"
        for line in lines:
            assert isinstance(line["total_price"], str) and "." in line["total_price"]
            assert Decimal(line["unit_price"]) * line["quantity"] == Decimal(line["total_price"])
            if line["gift_certificate"] is None:
                assert Decimal(line["unit_price"]) == (Decimal(line["product_price"])
                                                       + Decimal(line["options_price"]))


def test_addresses_use_full_state_and_country_names(bs_store: BsStore, api: httpx.Client) -> None:
    ids = bs_store.control.create_orders(60)
    countries: set[str] = set()

    for order_id in ids:
        order = api.get(f"/orders/{order_id}").json()
        for address in (order["shipping_address"], order["billing_address"]):
            country = pycountry.countries.lookup(address["country"])
            names = {s.name for s in pycountry.subdivisions.get(country_code=country.alpha_2)}
            assert address["state"] in names
            countries.add(address["country"])

    assert countries == {"United States", "Canada"}


def test_customers_include_non_ascii_names_and_guests(bs_store: BsStore,
                                                      api: httpx.Client) -> None:
    ids = bs_store.control.create_orders(60)
    orders = [api.get(f"/orders/{order_id}").json() for order_id in ids]

    names = [o["shipping_contact"]["first_name"] + o["shipping_contact"]["last_name"]
             for o in orders]
    assert any(not name.isascii() for name in names)
    assert any(o["customer_id"] is None and o["username"] == "Guest" for o in orders)
    assert all(o["customer_email"].isascii() for o in orders)


def test_the_same_seed_gives_the_same_orders() -> None:
    def first_order(seed: int) -> dict:
        with BrightSitesSandbox(seed=seed) as sandbox:
            sandbox.add_store("acme", read_write_token="rw-token-1", read_only_token="ro-token-1")
            store = sandbox.store("acme")
            [order_id] = store.create_orders(1, created_at="2025-05-14T19:11:05Z")
            return store.show_order_json(order_id)

    assert first_order(7) == first_order(7)
    assert first_order(7) != first_order(8)


def test_line_items_are_listed_and_shown(bs_store: BsStore, api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    order = api.get(f"/orders/{order_id}").json()
    first = order["line_items"][0]

    listed = api.get(f"/orders/{order_id}/line_items").json()
    shown = api.get(f"/orders/{order_id}/line_items/{first['id']}").json()

    assert listed == {"line_items": order["line_items"]}
    assert shown == first
    assert api.get(f"/orders/{order_id}/line_items/1").status_code == 404


def test_unknown_ids_and_versions_answer_404(bs_store: BsStore, api: httpx.Client) -> None:
    missing = api.get("/orders/999999")
    other_version = api.get(bs_store.sandbox.url + "/acme/api/v9.9.9/orders")
    newer_version = api.get(bs_store.sandbox.url + "/acme/api/v2.7.0/orders")

    assert missing.status_code == 404
    assert missing.json() == {"errors": {"id": ["not found"]}}
    assert other_version.status_code == 404
    assert newer_version.status_code == 200


def test_an_unknown_subdomain_answers_an_html_404(bs_store: BsStore, api: httpx.Client) -> None:
    response = api.get(bs_store.sandbox.url + "/nobody/api/v2.6.1/orders")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert bs_store.control.meter()["total"] == 0


def test_the_host_header_selects_the_store(bs_store: BsStore, api: httpx.Client) -> None:
    bs_store.control.create_orders(2)

    response = api.get(bs_store.sandbox.url + "/api/v2.6.1/orders",
                       headers={"Host": "acme.mybrightsites.com"})

    assert response.status_code == 200
    assert response.json()["meta"]["total"] == 2


def test_update_changes_status_appends_a_note_and_bumps_updated_at(bs_store: BsStore,
                                                                    api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1, created_at="2025-05-14T19:11:05Z")

    response = api.put(f"/orders/{order_id}", json={"order": {
        "status": "in_progress", "note": "Accepted by warehouse WH1"}})
    order = api.get(f"/orders/{order_id}").json()

    assert response.status_code == 200
    assert "date" in response.json() and "site_id" not in response.json()
    assert order["status"] == "in_progress"
    assert order["updated_at"] > order["created_at"]
    assert [(n["username"], n["note"]) for n in order["notes"]] == [
        ("API", "Accepted by warehouse WH1")]


def test_patch_also_updates_and_legacy_tracking_fills_the_list_column(
        bs_store: BsStore, api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)

    api.patch(f"/orders/{order_id}", json={"order": {
        "tracking_number": "1Z999", "shipping_method": "FedEx 2 Day", "ship_date": "2025-05-15",
        "shipping_address": {"zip": "10001"}}})
    row = api.get("/orders").json()["orders"][0]
    order = api.get(f"/orders/{order_id}").json()

    assert (row["tracking"], row["shipping_method"]) == ("1Z999", "FedEx 2 Day")
    assert order["shipment"]["ship_date"] == "2025-05-15"
    assert order["shipping_address"]["zip"] == "10001"


def test_the_documented_update_response_shape_is_a_switch(bs_store: BsStore,
                                                          api: httpx.Client) -> None:
    bs_store.control.settings(update_response="documented")
    [order_id] = bs_store.control.create_orders(1)

    body = api.put(f"/orders/{order_id}", json={"order": {"status": "billed"}}).json()

    assert {"created_at", "updated_at"} <= set(body)
    assert not {"date", "site_id", "shipments"} & set(body)


def test_bad_update_fields_give_shape_a_and_change_nothing(bs_store: BsStore,
                                                           api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    before = bs_store.control.get_order(order_id)

    response = api.put(f"/orders/{order_id}", json={"order": {
        "status": "in progress", "ship_date": "15/05/2025", "note": 12,
        "send_shipping_confirmation": "maybe"}})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"status", "ship_date", "note", "send_shipping_confirmation"}
    assert all(isinstance(message, str) for message in errors.values())
    assert errors["ship_date"].startswith("Invalid parameter 'ship_date' value \"15/05/2025\":")
    assert bs_store.control.get_order(order_id) == before


def test_an_update_without_the_order_root_key_is_refused(bs_store: BsStore,
                                                        api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)

    response = api.put(f"/orders/{order_id}", json={"status": "shipped"})

    assert response.status_code == 422
    assert response.json() == {"errors": {"order": "Invalid parameter 'order' value nil: "
                                                   "Must be a Hash"}}


def test_an_order_awaiting_approval_refuses_status_changes_with_shape_b(
        bs_store: BsStore, api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1, status="new", approval_pending=True)

    refused = api.put(f"/orders/{order_id}", json={"order": {"status": "in_progress"}})
    listed = api.get("/orders").json()["orders"][0]
    bs_store.control.approve_order(order_id)
    accepted = api.put(f"/orders/{order_id}", json={"order": {"status": "in_progress"}})

    assert refused.status_code == 422
    assert refused.json() == {"errors": {"status": [
        "Order has not been approved, unable to change orders status"]}}
    assert listed["status"] == "new"
    assert accepted.status_code == 200
    assert bs_store.control.get_order(order_id)["status"] == "in_progress"


def test_shipping_confirmation_on_update_records_an_email(bs_store: BsStore,
                                                          api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    email = bs_store.control.get_order(order_id)["shipping_contact"]["email"]

    api.put(f"/orders/{order_id}", json={"order": {"status": "shipped",
                                                   "send_shipping_confirmation": "1"}})

    assert [(e["order_id"], e["to"], e["source"]) for e in bs_store.control.emails()] == [
        (order_id, email, "order_update")]


def test_cancel_sets_canceled_reports_steps_and_restocks(bs_store: BsStore,
                                                         api: httpx.Client) -> None:
    record = next(r for r in bs_store.control.inventories()
                  if r["track"] and not r["vendor_managed"] and r["inventory"] >= 10)
    bs_store.control.settings(cancel_errors=["Unable to refund payment"])
    [order_id] = bs_store.control.create_orders(
        1, lines=[{"final_sku": record["final_sku"], "quantity": 3}])
    after_order = _level(bs_store, record["id"])

    response = api.put(f"/orders/{order_id}/cancel")

    assert after_order == record["inventory"] - 3
    assert response.status_code == 200
    body = response.json()
    assert body["success"][:2] == ["Set status to 'Canceled'", "Restock inventory"]
    assert body["errors"] == ["Unable to refund payment"]
    assert api.get(f"/orders/{order_id}").json()["status"] == "canceled"
    assert _level(bs_store, record["id"]) == record["inventory"]


def _level(bs_store: BsStore, record_id: int) -> int:
    return next(r["inventory"] for r in bs_store.control.inventories() if r["id"] == record_id)

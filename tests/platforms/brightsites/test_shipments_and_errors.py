"""Shipments, the shipped status, credentials and error messages, against the sandbox."""

from __future__ import annotations

from datetime import date

import pytest

from dropstream.platforms.base import StoreAdapter, StoreShipment, StoreShipmentLine
from dropstream.platforms.errors import (
    CredentialsRejected,
    RemoteNotFound,
    RemoteUnavailable,
    RemoteValidationError,
)
from tests.fixtures.secret_leaks import make_secret
from tests.platforms.brightsites.helpers import make_adapter, settings_for


def first_line(bs_store, order_id: int) -> dict:
    return bs_store.control.get_order(order_id)["line_items"][0]


def shipment_for(order_id: int, line: dict, *, quantity: int | None = None,
                 tracking: str = "1Z999AA10123456784") -> StoreShipment:
    return StoreShipment(order_external_id=str(order_id), tracking_number=tracking,
                         carrier="UPS", service="Ground", ship_date=date(2025, 5, 15),
                         lines=(StoreShipmentLine(str(line["id"]),
                                                  quantity or line["quantity"]),))


def store_shipments(bs_store, order_id: int) -> list[dict]:
    return bs_store.control.get_order(order_id)["shipments"]


def test_a_shipment_is_one_post_with_carrier_and_service_as_the_method(bs_store):
    adapter, meter = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1)
    line = first_line(bs_store, order_id)

    shipment_id = adapter.post_shipment(shipment_for(order_id, line))

    [remote] = store_shipments(bs_store, order_id)
    assert str(remote["id"]) == shipment_id
    assert remote["shipping_method"] == "UPS Ground"
    assert remote["tracking_number"] == "1Z999AA10123456784"
    assert remote["line_items"] == [{"id": line["id"], "quantity": line["quantity"]}]
    assert [(c.method, c.endpoint, c.status) for c in meter] == [
        ("POST", "POST /orders/:id/shipments", 201)]
    # notify_customer is on: the store sent its confirmation e-mail.
    assert len(bs_store.control.emails()) == 1


@pytest.mark.parametrize("fault", [
    {"action": "lose_response"},
    {"action": "timeout", "delay_ms": 1500},
    {"action": "status", "status": 502, "after_write": True},
])
def test_a_lost_shipment_answer_does_not_create_a_second_shipment(bs_store, fault):
    adapter, meter = make_adapter(bs_store, read_timeout=0.4)
    [order_id] = bs_store.control.create_orders(1)
    line = first_line(bs_store, order_id)
    bs_store.control.add_faults([{"endpoint": "POST /orders/:id/shipments", "count": 1,
                                  **fault}])
    bs_store.control.reset_meter()

    shipment_id = adapter.post_shipment(shipment_for(order_id, line))

    [remote] = store_shipments(bs_store, order_id)
    assert str(remote["id"]) == shipment_id
    # One POST whose answer was lost, then one read that finds it: no second POST.
    assert bs_store.control.meter()["by_endpoint"] == {"POST /orders/:id/shipments": 1,
                                                       "GET /orders/:id/shipments": 1}
    assert [c.endpoint for c in meter] == ["POST /orders/:id/shipments",
                                           "GET /orders/:id/shipments"]


def test_a_shipment_post_that_failed_before_the_store_saved_it_is_sent_again(bs_store):
    adapter, meter = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1)
    line = first_line(bs_store, order_id)
    bs_store.control.add_faults([{"endpoint": "POST /orders/:id/shipments", "action": "status",
                                  "status": 500, "after_write": False, "count": 1}])

    shipment_id = adapter.post_shipment(shipment_for(order_id, line))

    [remote] = store_shipments(bs_store, order_id)
    assert str(remote["id"]) == shipment_id
    assert [(c.endpoint, c.status, c.attempt) for c in meter] == [
        ("POST /orders/:id/shipments", 500, 1), ("GET /orders/:id/shipments", 200, 1),
        ("POST /orders/:id/shipments", 201, 2)]


def test_check_existing_finds_the_shipment_and_posts_nothing(bs_store):
    adapter, meter = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1)
    shipment = shipment_for(order_id, first_line(bs_store, order_id))
    first = adapter.post_shipment(shipment)
    meter.clear()

    again = adapter.post_shipment(shipment, check_existing=True)

    assert again == first
    assert len(store_shipments(bs_store, order_id)) == 1
    assert [c.endpoint for c in meter] == ["GET /orders/:id/shipments"]


def test_an_over_shipment_refused_by_the_store_gives_the_fields_in_a_plain_message(bs_store):
    adapter, _ = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1)
    line = first_line(bs_store, order_id)

    with pytest.raises(RemoteValidationError) as caught:
        adapter.post_shipment(shipment_for(order_id, line, quantity=line["quantity"] + 5))

    error = caught.value
    assert str(error).startswith(f"Bright Sites refused shipment 1Z999AA10123456784 of order "
                                 f"{order_id}: line_items")
    assert error.status == 422
    assert list(error.fields) and all(isinstance(m, str) for ms in error.fields.values()
                                      for m in ms)
    assert store_shipments(bs_store, order_id) == []


def test_set_order_shipped_is_one_put(bs_store):
    adapter, meter = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1)

    adapter.set_order_shipped(str(order_id))

    assert bs_store.control.get_order(order_id)["status"] == "shipped"
    assert [(c.method, c.endpoint, c.status) for c in meter] == [("PUT", "PUT /orders/:id", 200)]


def test_set_order_shipped_does_nothing_when_the_merchant_chose_none(bs_store):
    adapter, meter = make_adapter(bs_store, settings=settings_for(bs_store,
                                                                  status_on_shipped="none"))
    [order_id] = bs_store.control.create_orders(1)

    adapter.set_order_shipped(str(order_id))

    assert meter == []
    assert bs_store.control.get_order(order_id)["status"] == "paid"


def test_an_approval_hold_is_a_validation_error_with_a_plain_message(bs_store):
    adapter, meter = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1, approval_pending=True)

    with pytest.raises(RemoteValidationError) as caught:
        adapter.set_order_shipped(str(order_id))

    assert str(caught.value) == (
        f"Bright Sites would not set order {order_id} to 'shipped': status: Order has not been "
        "approved, unable to change orders status. The order is waiting for manager approval "
        "in Bright Sites; approve it there, then set the status again.")
    assert caught.value.fields == {"status": ["Order has not been approved, unable to change "
                                              "orders status"]}
    assert len(meter) == 1  # a 422 is never retried


def test_a_shape_a_validation_error_is_parsed_into_fields(bs_store):
    adapter, _ = make_adapter(bs_store)
    [order_id] = bs_store.control.create_orders(1)

    with pytest.raises(RemoteValidationError) as caught:
        adapter.client.request("PUT", f"/orders/{order_id}", endpoint="PUT /orders/:id",
                               json_body={"order": {"status": "in progress"}})

    [message] = caught.value.fields["status"]
    assert message.startswith("Invalid parameter 'status' value \"in progress\"")
    assert str(caught.value).startswith("Bright Sites refused PUT /orders/:id: status: Invalid")


def test_validate_credentials_is_one_request(bs_store):
    adapter, meter = make_adapter(bs_store)

    adapter.validate_credentials()

    assert isinstance(adapter, StoreAdapter)

    assert [(c.endpoint, c.status) for c in meter] == [("GET /orders", 200)]
    assert bs_store.control.meter()["total"] == 1


def test_a_wrong_token_is_rejected_with_a_plain_message_and_no_retry(bs_store):
    adapter, meter = make_adapter(bs_store, settings=settings_for(
        bs_store, api_token=make_secret("wrong")))

    with pytest.raises(CredentialsRejected) as caught:
        adapter.validate_credentials()

    assert str(caught.value) == (
        "Bright Sites store 'acme' rejected the API token (HTTP 401). Check that API access is "
        "on and the token is current in the store's admin (Integrations → Web Services/API), "
        "then save a read/write token in the store's settings.")
    assert caught.value.read_only is False
    assert len(meter) == 1


def test_a_write_with_a_read_only_token_says_to_issue_a_read_write_token(bs_store):
    adapter, meter = make_adapter(bs_store, settings=settings_for(
        bs_store, api_token=bs_store.read_only_token))
    [order_id] = bs_store.control.create_orders(1)
    adapter.validate_credentials()  # reading works

    with pytest.raises(CredentialsRejected) as caught:
        adapter.set_order_shipped(str(order_id))

    assert caught.value.read_only is True
    assert "is read-only" in str(caught.value)
    assert "Issue a read/write token" in str(caught.value)
    assert [c.status for c in meter] == [200, 403]


def test_an_unknown_subdomain_says_no_store_answers_there(bs_store, brightsites_sandbox):
    settings = settings_for(bs_store, subdomain="nosuchstore",
                            api_url=brightsites_sandbox.api_url("nosuchstore"))
    adapter, meter = make_adapter(bs_store, settings=settings)

    with pytest.raises(RemoteNotFound) as caught:
        adapter.validate_credentials()

    assert str(caught.value).startswith("no Bright Sites store answers at subdomain "
                                        "'nosuchstore'")
    assert len(meter) == 1


def test_an_unknown_order_is_not_found_naming_the_order(bs_store):
    adapter, _ = make_adapter(bs_store)

    with pytest.raises(RemoteNotFound) as caught:
        adapter.get_order("999999")

    assert str(caught.value) == ("Bright Sites store 'acme' has no order 999999 (HTTP 404 on "
                                 "GET /orders/:id)")


def test_an_unreachable_store_is_unavailable_after_the_attempts_and_each_is_metered(bs_store):
    settings = settings_for(bs_store, api_url="http://127.0.0.1:9/acme/api/v2.6.1")
    adapter, meter = make_adapter(bs_store, settings=settings, max_attempts=3)

    with pytest.raises(RemoteUnavailable) as caught:
        adapter.get_order("1")

    assert "could not reach Bright Sites store 'acme' at 127.0.0.1:9" in str(caught.value)
    assert [(c.status, c.attempt) for c in meter] == [(None, 1), (None, 2), (None, 3)]
    assert all(c.error.startswith("ConnectError") for c in meter)

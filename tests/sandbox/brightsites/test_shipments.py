"""Shipments: create, list, show, delete, validation modes, status side effects (§8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.brightsites import BsStore


def _order_with_line(bs_store: BsStore, quantity: int = 2) -> tuple[int, int]:
    """An order with one physical line of ``quantity``; returns (order id, line id)."""
    record = next(r for r in bs_store.control.inventories() if not r["vendor_managed"])
    [order_id] = bs_store.control.create_orders(
        1, created_at="2025-05-14T19:11:05Z",
        lines=[{"final_sku": record["final_sku"], "quantity": quantity}])
    return order_id, bs_store.control.get_order(order_id)["line_items"][0]["id"]


def _shipment(line_id: int, quantity: int, **fields: Any) -> dict[str, Any]:
    return {"shipment": {"line_items": [{"id": line_id, "quantity": quantity}], **fields}}


def test_a_created_shipment_is_returned_listed_and_shown(bs_store: BsStore,
                                                         api: httpx.Client) -> None:
    order_id, line_id = _order_with_line(bs_store)

    created = api.post(f"/orders/{order_id}/shipments", json=_shipment(
        line_id, 1, tracking_number="1Z999AA10123456784", ship_date="2025-05-15",
        note="Carton 1 of 2", shipping_method="UPS Ground"))

    assert created.status_code == 201
    shipment = created.json()
    assert list(shipment) == ["id", "tracking_number", "ship_date", "note", "shipping_method",
                              "line_items"]
    assert shipment["line_items"] == [{"id": line_id, "quantity": 1}]
    assert api.get(f"/orders/{order_id}/shipments").json() == {"shipments": [shipment]}
    assert api.get(f"/orders/{order_id}/shipments/{shipment['id']}").json() == shipment
    assert api.get(f"/orders/{order_id}").json()["shipments"] == [shipment]


def test_a_shipment_bumps_updated_at_but_not_the_status(bs_store: BsStore,
                                                        api: httpx.Client) -> None:
    order_id, line_id = _order_with_line(bs_store, quantity=1)

    api.post(f"/orders/{order_id}/shipments", json=_shipment(line_id, 1))
    order = api.get(f"/orders/{order_id}").json()

    assert order["status"] == "paid"
    assert order["updated_at"] > "2025-05-14T19:11:05.000Z"


def test_the_shipping_method_defaults_to_the_orders(bs_store: BsStore,
                                                    api: httpx.Client) -> None:
    order_id, line_id = _order_with_line(bs_store)
    method = bs_store.control.get_order(order_id)["shipment"]["shipping_method"]

    shipment = api.post(f"/orders/{order_id}/shipments", json=_shipment(line_id, 1)).json()

    assert shipment["shipping_method"] == method
    assert shipment["tracking_number"] is None and shipment["note"] is None


def test_delete_returns_the_shipment_with_no_lines_and_frees_the_quantity(
        bs_store: BsStore, api: httpx.Client) -> None:
    order_id, line_id = _order_with_line(bs_store, quantity=1)
    shipment = api.post(f"/orders/{order_id}/shipments", json=_shipment(
        line_id, 1, tracking_number="T1")).json()

    deleted = api.delete(f"/orders/{order_id}/shipments/{shipment['id']}")
    again = api.post(f"/orders/{order_id}/shipments", json=_shipment(line_id, 1))

    assert deleted.status_code == 200
    assert deleted.json() == {**shipment, "line_items": []}
    assert again.status_code == 201
    assert api.get(f"/orders/{order_id}/shipments/{shipment['id']}").status_code == 404


@pytest.mark.parametrize(("items", "fragment"), [
    ([{"id": 1, "quantity": 1}], "does not belong to order"),
    ([{"id": "LINE", "quantity": 0}], "quantity must be greater than 0"),
    ([{"id": "LINE", "quantity": 3}], "more than the 2 not yet shipped"),
    ([{"id": "LINE", "quantity": 1}, {"id": "LINE", "quantity": 2}], "quantity 3 of line item"),
])
def test_strict_mode_refuses_bad_quantities_with_shape_a(
        bs_store: BsStore, api: httpx.Client, items: list[dict[str, Any]],
        fragment: str) -> None:
    order_id, line_id = _order_with_line(bs_store, quantity=2)
    body = {"shipment": {"line_items": [
        {**item, "id": line_id if item["id"] == "LINE" else item["id"]} for item in items]}}

    response = api.post(f"/orders/{order_id}/shipments", json=body)

    assert response.status_code == 422
    message = response.json()["errors"]["line_items"]
    assert isinstance(message, str) and fragment in message
    assert message.startswith("Invalid parameter 'line_items' value ")
    assert bs_store.control.get_order(order_id)["shipments"] == []


def test_lenient_mode_accepts_over_shipping(bs_store: BsStore, api: httpx.Client) -> None:
    bs_store.control.settings(shipment_validation="lenient")
    order_id, line_id = _order_with_line(bs_store, quantity=1)

    response = api.post(f"/orders/{order_id}/shipments", json=_shipment(line_id, 5))

    assert response.status_code == 201


@pytest.mark.parametrize(("shipment", "field"), [
    ({"line_items": []}, "line_items"),
    ({}, "line_items"),
    ({"line_items": "LINE"}, "line_items"),
    ({"line_items": [{"id": "LINE", "quantity": 1}], "note": "x" * 256}, "note"),
    ({"line_items": [{"id": "LINE", "quantity": 1}], "ship_date": "2025-05-15 10:00:00"},
     "ship_date"),
])
def test_malformed_shipments_are_refused_with_shape_a(bs_store: BsStore, api: httpx.Client,
                                                      shipment: dict[str, Any],
                                                      field: str) -> None:
    order_id, line_id = _order_with_line(bs_store)
    if isinstance(shipment.get("line_items"), list):
        shipment["line_items"] = [{**i, "id": line_id} for i in shipment["line_items"]]

    response = api.post(f"/orders/{order_id}/shipments", json={"shipment": shipment})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert isinstance(response.json()["errors"][field], str)


def test_a_missing_root_key_or_a_non_json_body_is_refused(bs_store: BsStore,
                                                          api: httpx.Client) -> None:
    order_id, line_id = _order_with_line(bs_store)

    unwrapped = api.post(f"/orders/{order_id}/shipments",
                         json={"line_items": [{"id": line_id, "quantity": 1}]})
    garbage = api.post(f"/orders/{order_id}/shipments", content=b"{not json",
                       headers={"Content-Type": "application/json"})

    assert unwrapped.status_code == 422
    assert list(unwrapped.json()["errors"]) == ["shipment"]
    assert garbage.status_code == 400


def test_auto_ship_advances_the_status_when_every_line_is_covered(bs_store: BsStore,
                                                                  api: httpx.Client) -> None:
    bs_store.control.settings(auto_ship=True)
    order_id, line_id = _order_with_line(bs_store, quantity=2)

    api.post(f"/orders/{order_id}/shipments", json=_shipment(line_id, 1))
    halfway = api.get(f"/orders/{order_id}").json()["status"]
    api.post(f"/orders/{order_id}/shipments", json=_shipment(line_id, 1))

    assert halfway == "paid"
    assert api.get(f"/orders/{order_id}").json()["status"] == "shipped"


def test_shipping_confirmation_on_a_shipment_records_an_email(bs_store: BsStore,
                                                              api: httpx.Client) -> None:
    order_id, line_id = _order_with_line(bs_store)

    shipment = api.post(f"/orders/{order_id}/shipments", json=_shipment(
        line_id, 1, send_shipping_confirmation=True)).json()

    [email] = bs_store.control.emails()
    assert (email["order_id"], email["source"], email["shipment_id"]) == (
        order_id, "shipment", shipment["id"])


def test_shipments_of_an_unknown_order_answer_404(bs_store: BsStore, api: httpx.Client) -> None:
    assert api.get("/orders/424242/shipments").status_code == 404
    assert api.post("/orders/424242/shipments",
                    json=_shipment(1, 1)).json() == {"errors": {"id": ["not found"]}}


def test_shipping_methods_are_plain_strings(bs_store: BsStore, api: httpx.Client) -> None:
    bs_store.control.settings(shipping_methods=["Flat Rate Custom", "UPS Ground"])

    response = api.get("/shipping_methods")

    assert response.json() == {"shipping_methods": ["Flat Rate Custom", "UPS Ground"]}

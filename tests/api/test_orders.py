"""orders and shipments: reference filters, paging, detail, actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dropstream.orders.models import Order
from tests.api.conftest import make_order


def _ids(response) -> list[int]:
    return [o["id"] for o in response.json()["orders"]]


def test_without_filters_every_visible_order_newest_first(admin_api, world):
    first, second = world["orders"]
    response = admin_api.get("/api/orders")
    assert response.status_code == 200
    body = response.json()
    assert _ids(response) == [second.pk, first.pk]
    assert (body["page"], body["limit"], body["total_count"], body["total_pages"]) == (
        1, 100, 2, 1)
    order = body["orders"][1]
    assert order["external_id"] == "1001"
    assert order["fulfillment_state"] == "open"
    assert order["shipping_amount"] == "5.00"
    assert order["ordered_at"] == "2025-01-01T12:00:00.000Z"
    assert order["shipping_address"]["zipcode"] == "80202"


def test_it_filters_by_ordered_and_created_time_full_or_partial(admin_api, world):
    first, second = world["orders"]
    assert _ids(admin_api.get("/api/orders", {"ordered_at_min": "2025-01-02"})) == [second.pk]
    assert _ids(admin_api.get("/api/orders", {"ordered_at_max": "2025-01-02T00:00:00-05:00"})) \
        == [first.pk]
    assert _ids(admin_api.get("/api/orders", {"created_at_min": "January 3rd 2025"})) == [
        second.pk]


def test_it_accepts_natural_language_dates(admin_api, world, connection):
    recent = make_order(connection, "1003", ordered_at=datetime.now(UTC) - timedelta(hours=1))
    assert _ids(admin_api.get("/api/orders", {"ordered_at_min": "two hours ago"})) == [recent.pk]
    assert _ids(admin_api.get("/api/orders", {"ordered_at_max": "last monday",
                                              "ordered_at_min": "2025-01-02"})) == [
        world["orders"][1].pk]


def test_an_unreadable_date_is_a_422_naming_the_filter(admin_api, world):
    response = admin_api.get("/api/orders", {"ordered_at_min": "the day after never"})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["ordered_at_min"]


def test_store_id_takes_an_id_or_a_name(admin_api, world, other_world):
    by_id = admin_api.get("/api/orders", {"store_id": world["store"].pk})
    by_name = admin_api.get("/api/orders", {"store_id": "Other Store"})
    assert sorted(_ids(by_id)) == sorted(o.pk for o in world["orders"])
    assert _ids(by_name) == [other_world["order"].pk]


def test_it_filters_by_external_ids_and_state(admin_api, world):
    first, second = world["orders"]
    assert _ids(admin_api.get("/api/orders", {"external_id": "1002"})) == [second.pk]
    assert _ids(admin_api.get("/api/orders", {"external_display_id": "R1001"})) == [first.pk]
    assert _ids(admin_api.get("/api/orders", {"state": "shipped"})) == [second.pk]
    assert _ids(admin_api.get("/api/orders", {"state": "open,shipped"})) == [second.pk, first.pk]
    bad = admin_api.get("/api/orders", {"state": "pending_shipment"})
    assert bad.status_code == 422
    assert "open" in bad.json()["errors"]["state"]


def test_it_pages_with_page_and_limit(admin_api, world, connection):
    for n in range(3):
        make_order(connection, f"20{n}", ordered_at=datetime(2024, 6, 1 + n, tzinfo=UTC))
    body = admin_api.get("/api/orders", {"limit": 2, "page": 3}).json()
    assert (body["total_count"], body["total_pages"], len(body["orders"])) == (5, 3, 1)
    assert admin_api.get("/api/orders", {"limit": 2, "page": 4}).json()["orders"] == []


def test_the_order_shows_items_shipments_and_activity(admin_api, world):
    second = world["orders"][1]
    response = admin_api.get(f"/api/orders/{second.pk}")
    assert response.status_code == 200
    order = response.json()["order"]
    assert [i["sku"] for i in order["items"]] == ["TEE-S"]
    assert order["items"][0]["qty_ordered"] == 2
    assert order["items"][0]["shipment_id"] == world["shipment"].pk
    assert [s["tracking_number"] for s in order["shipments"]] == ["1ZACME"]
    assert order["shipments"][0]["order_items"] == [{"id": order["items"][0]["id"]}]
    assert [a["event"] for a in order["activity"]] == ["imported"]


def test_archive_then_reprocess_an_order(admin_api, world):
    first = world["orders"][0]
    Order.objects.filter(pk=first.pk).update(exported_at=datetime.now(UTC),
                                             export_reference="ord_R1001_250101120000.csv")
    response = admin_api.post(f"/api/orders/{first.pk}/actions/archive")
    assert response.status_code == 200
    assert response.json() == {"id": first.pk, "fulfillment_state": "archived"}
    again = admin_api.post(f"/api/orders/{first.pk}/actions/archive")
    assert again.status_code == 409
    assert "already archived" in again.json()["detail"]

    back = admin_api.post(f"/api/orders/{first.pk}/actions/reprocess")

    # It had been sent: back to the warehouse flow, where its (lack of) shipments put it.
    assert back.status_code == 200
    assert back.json() == {"id": first.pk, "fulfillment_state": "open"}
    assert Order.objects.get(pk=first.pk).activity.filter(
        event="reprocess", actor="admin@example.com").count() == 1


def test_reprocess_of_an_order_that_is_not_stalled_is_a_409_and_changes_nothing(admin_api,
                                                                               world):
    first = world["orders"][0]
    response = admin_api.post(f"/api/orders/{first.pk}/actions/reprocess")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "order R1001 is Open; only orders in Error, Delayed, Archived, Skipped or Closed can be "
        "reprocessed")
    assert Order.objects.get(pk=first.pk).status == "open"


def test_reset_through_the_api_prepares_the_order_again(admin_api, world, connection):
    from dropstream.catalog.models import ShippingMethodMap

    ShippingMethodMap.objects.create(connection=connection, store_description="Ground",
                                     carrier_code="UPSGND")
    order = make_order(connection, "1003", ordered_at=datetime(2025, 1, 5, tzinfo=UTC),
                       status="error")
    Order.objects.filter(pk=order.pk).update(external_shipping_description="Ground",
                                             export_reference="ord_R1003_x.csv")

    response = admin_api.post(f"/api/orders/{order.pk}/actions/reset")

    assert response.status_code == 200
    assert response.json() == {"id": order.pk, "fulfillment_state": "queued"}
    order.refresh_from_db()
    assert (order.export_reference, order.shipping_warehouse_code) == ("", "UPSGND")


def test_a_shipped_order_cannot_be_reset_through_the_api(admin_api, world):
    second = world["orders"][1]
    response = admin_api.post(f"/api/orders/{second.pk}/actions/reset")
    assert response.status_code == 409
    assert "has shipments" in response.json()["detail"]
    assert Order.objects.get(pk=second.pk).status == "shipped"


def test_release_through_the_api_queues_a_held_order_once(admin_api, world, connection):
    held = make_order(connection, "1004", ordered_at=datetime(2025, 1, 6, tzinfo=UTC),
                      status="pending")

    response = admin_api.post(f"/api/orders/{held.pk}/actions/release")
    again = admin_api.post(f"/api/orders/{held.pk}/actions/release")

    assert response.status_code == 200
    assert response.json() == {"id": held.pk, "fulfillment_state": "queued"}
    assert again.status_code == 409 and again.json()["detail"] == "order R1004 is not Pending"


def test_delete_of_an_exported_order_needs_force_and_an_administrator(admin_api, staff_api,
                                                                        world):
    first = world["orders"][0]
    Order.objects.filter(pk=first.pk).update(exported_at=datetime.now(UTC))
    path = f"/api/orders/{first.pk}/actions/delete"
    assert staff_api.post(path).status_code == 409
    assert staff_api.post(path, {"force": True}).status_code == 403
    assert Order.objects.filter(pk=first.pk).exists()
    assert admin_api.post(path, {"force": True}).status_code == 204
    assert not Order.objects.filter(pk=first.pk).exists()


def test_an_unknown_action_is_a_422(admin_api, world):
    response = admin_api.post(f"/api/orders/{world['orders'][0].pk}/actions/explode")
    assert response.status_code == 422
    assert "action" in response.json()["errors"]


def _shipment_ids(response) -> list[int]:
    return [s["id"] for s in response.json()["shipments"]]


def test_shipments_filter_as_the_reference(admin_api, world, other_world):
    mine, theirs = world["shipment"].pk, other_world["shipment"].pk
    assert sorted(_shipment_ids(admin_api.get("/api/shipments"))) == sorted([mine, theirs])
    assert _shipment_ids(admin_api.get("/api/shipments", {"tracking_number": "1ZACME"})) == [mine]
    assert _shipment_ids(admin_api.get("/api/shipments", {"shipped_at_min": "2025-01-05"})) == [
        theirs]
    assert _shipment_ids(admin_api.get("/api/shipments", {"warehouse_id": "Acme DC"})) == [mine]
    assert _shipment_ids(admin_api.get("/api/shipments", {"customer_id": "Other Brand"})) == [
        theirs]
    assert _shipment_ids(admin_api.get("/api/shipments", {
        "store_id": str(world["store"].pk)})) == [mine]
    assert _shipment_ids(admin_api.get("/api/shipments", {"state": "error"})) == []
    shipment = admin_api.get("/api/shipments", {"tracking_number": "1ZACME"}).json()[
        "shipments"][0]
    assert (shipment["carrier_name"], shipment["service_level"], shipment["shipped_at"]) == (
        "UPS", "Ground", "2025-01-04T00:00:00.000Z")


@pytest.mark.parametrize("field", ["ordered_at_max", "created_at_max", "ordered_at_min"])
def test_order_filters_at_the_calendar_edges_answer_and_never_overflow(admin_api, world, field):
    wide = admin_api.get("/api/orders", {field: "9999-12-31"})
    assert wide.status_code == 200
    assert wide.json()["total_count"] == (0 if field.endswith("_min") else 2)
    past = admin_api.get("/api/orders", {field: "0001-01-01"})
    assert past.status_code == 200
    assert past.json()["total_count"] == (2 if field.endswith("_min") else 0)
    beyond = admin_api.get("/api/orders", {field: "9999-12-31T23:59:59-05:00"})
    assert beyond.status_code == 422
    assert beyond.json()["errors"] == {field: f"{field} is out of range"}


@pytest.mark.parametrize("field", ["shipped_at_max", "shipped_at_min", "created_at_max"])
def test_shipment_filters_at_the_calendar_edges_answer_and_never_overflow(admin_api, world,
                                                                          field):
    assert admin_api.get("/api/shipments", {field: "9999-12-31"}).status_code == 200
    assert admin_api.get("/api/shipments", {field: "0001-01-01"}).status_code == 200
    beyond = admin_api.get("/api/shipments", {field: "0001-01-01T00:00:00+05:00"})
    assert beyond.status_code == 422
    assert beyond.json()["errors"] == {field: f"{field} is out of range"}

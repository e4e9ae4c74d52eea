"""Create and read orders (§5.1–§5.3, §5.9, §11 #4–#6, #8): shapes, validations, duplicates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.extensiv.conftest import ITEM_REL, Wms, order_body

MVE = "WMS.V2.Generic.Models.Exceptions.ModelValidationException, WMS.V2.Generic.Models"
QPE = "WMS.V2.Generic.Models.Exceptions.QueryParameterException, WMS.V2.Generic.Models"
PACKAGES_REL = "http://api.3plCentral.com/rels/orders/packages"
CANCEL_REL = "http://api.3plCentral.com/rels/orders/ordercancel"


def model_error(name: str, value: Any, code: str, hint: str) -> dict[str, Any]:
    return {"$type": MVE, "ModelType": 0, "Properties": [{"Name": name, "Value": value}],
            "ErrorCode": code, "Hint": hint}


def test_create_answers_201_with_etag_and_the_full_hal_order(wms: Wms,
                                                             api: httpx.Client) -> None:
    response = api.post("/orders", json=order_body("BS-1043"))

    body = response.json()
    order_id = body["readOnly"]["orderId"]
    items = body["_embedded"][ITEM_REL]
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/hal+json; charset=utf-8"
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('="')
    assert body["readOnly"] == {
        "orderId": order_id, "asnCandidate": 0, "routeCandidate": 0, "fullyAllocated": False,
        "deferNotification": False, "isClosed": False, "status": 0,
        "processDate": "2026-03-05T14:00:00", "shipDate": None, "pickStarted": False,
        "pickDoneDate": None, "packStarted": False, "packDoneDate": None,
        "pickTicketPrintDate": None, "loadOutDoneDate": None, "loadedState": 0,
        "asnSent": False, "routeSent": False, "labelsExported": False, "pkgsExported": False,
        "onHoldDate": None, "onHoldReason": None, "smallParcelShipDate": None,
        "chargesPending": False, "batchIdentifier": None,
        "customerIdentifier": {"externalId": "", "name": "Acme Outdoor Co", "id": 143},
        "facilityIdentifier": {"name": "LAX-1", "id": 10},
        "warehouseTransactionSourceType": 7, "creationDate": "2026-03-05T14:00:00",
        "createdByIdentifier": {"name": "hub-integration", "id": 412},
        "lastModifiedDate": "2026-03-05T14:00:00",
        "lastModifiedByIdentifier": {"name": "hub-integration", "id": 412}, "packages": []}
    assert (body["referenceNum"], body["poNum"], body["externalId"]) == (
        "BS-1043", "PO-77812", "hub-2f9c1e")
    assert body["routingInfo"] == {"carrier": "UPS", "mode": "03", "trackingNumber": None}
    assert body["shipTo"]["address1"] == "12 Harbor Street"
    assert items == [
        {"readOnly": {"orderItemId": items[0]["readOnly"]["orderItemId"],
                      "fullyAllocated": False, "unitIdentifier": {"name": "Each", "id": 1},
                      "secondaryUnitIdentifier": None, "isOrderQtySecondary": False,
                      "rowVersion": 1},
         "itemIdentifier": {"sku": "TENT-4P-GRN", "id": 1001}, "qty": 2.0,
         "externalId": "li-1", "qualifier": ""},
        {"readOnly": {"orderItemId": items[0]["readOnly"]["orderItemId"] + 1,
                      "fullyAllocated": False, "unitIdentifier": {"name": "Each", "id": 1},
                      "secondaryUnitIdentifier": None, "isOrderQtySecondary": False,
                      "rowVersion": 1},
         "itemIdentifier": {"sku": "STOVE-01", "id": 1002}, "qty": 1.0,
         "externalId": "li-2", "qualifier": ""}]
    assert body["_links"] == {"self": {"href": f"/orders/{order_id}"},
                              PACKAGES_REL: {"href": f"/orders/{order_id}/packages"},
                              CANCEL_REL: {"href": f"/orders/{order_id}/canceler"}}


def test_read_back_carries_the_same_etag_and_detail_none_by_default(wms: Wms,
                                                                    api: httpx.Client) -> None:
    created = api.post("/orders", json=order_body("BS-1"))
    order_id = created.json()["readOnly"]["orderId"]

    plain_read = api.get(f"/orders/{order_id}")
    with_items = api.get(f"/orders/{order_id}", params={"detail": "orderitems"})
    everything = api.get(f"/orders/{order_id}", params={"detail": "All", "itemdetail": "All"})

    assert plain_read.status_code == 200
    assert plain_read.headers["etag"] == created.headers["etag"]
    assert "_embedded" not in plain_read.json()
    assert "packages" not in plain_read.json()["readOnly"]
    assert [i["qty"] for i in with_items.json()["_embedded"][ITEM_REL]] == [2.0, 1.0]
    assert "packages" not in with_items.json()["readOnly"]
    assert everything.json()["readOnly"]["packages"] == []
    assert [i["readOnly"]["allocations"] for i in everything.json()["_embedded"][ITEM_REL]] \
        == [[], []]


def test_an_unknown_detail_value_is_400_not_parsable(wms: Wms, api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-1")["readOnly"]["orderId"]

    detail = api.get(f"/orders/{order_id}", params={"detail": "OrderItems,Bogus"})
    item_detail = api.get(f"/orders/{order_id}", params={"itemdetail": "nope"})

    assert (detail.status_code, detail.json()) == (400, {
        "$type": QPE, "Parameters": ["detail"], "ErrorCode": "NotParsable",
        "Hint": "Value not supported: bogus"})
    assert item_detail.json()["Parameters"] == ["itemdetail"]


def test_plain_json_answers_are_pascal_case_without_links(wms: Wms) -> None:
    with wms.client(hal=False) as plain:
        created = plain.post("/orders", json=order_body("BS-PLAIN"))
        order_id = created.json()["ReadOnly"]["OrderId"]
        read = plain.get(f"/orders/{order_id}", params={"detail": "All"})
        listed = plain.get("/orders")

    body = read.json()
    assert created.status_code == 201
    assert read.headers["content-type"] == "application/json; charset=utf-8"
    assert body["ReferenceNum"] == "BS-PLAIN"
    assert body["RoutingInfo"] == {"Carrier": "UPS", "Mode": "03", "TrackingNumber": None}
    assert body["ReadOnly"]["CustomerIdentifier"] == {"ExternalId": "", "Name":
                                                      "Acme Outdoor Co", "Id": 143}
    assert [i["ItemIdentifier"]["Sku"] for i in body["OrderItems"]] == ["TENT-4P-GRN",
                                                                        "STOVE-01"]
    assert "_links" not in body and "_embedded" not in body
    assert set(listed.json()) == {"TotalResults", "ResourceList"}
    assert listed.json()["TotalResults"] == 1
    assert listed.json()["ResourceList"][0]["ReadOnly"]["OrderId"] == order_id


def test_input_property_names_are_case_insensitive(wms: Wms, api: httpx.Client) -> None:
    pascal = {"CustomerIdentifier": {"Id": 143}, "FacilityIdentifier": {"ID": 10},
              "ReferenceNum": "SHARP-1", "ShipTo": {"CompanyName": "", "Name": "Jane"},
              "OrderItems": [{"ItemIdentifier": {"Sku": "TENT-4P-GRN"}, "Qty": 1.0}]}

    response = api.post("/orders", json=pascal, headers={"Content-Type":
                                                         "application/hal+json"})

    body = response.json()
    assert response.status_code == 201
    assert body["referenceNum"] == "SHARP-1"
    assert body["shipTo"] == {"companyName": "", "name": "Jane"}
    assert body["_embedded"][ITEM_REL][0]["itemIdentifier"] == {"sku": "TENT-4P-GRN",
                                                                "id": 1001}


def test_the_embedded_item_form_and_identifier_alternates_are_accepted(
        wms: Wms, api: httpx.Client) -> None:
    body = order_body("ALT-1", customer=0, items=[])
    body["customerIdentifier"] = {"externalId": "OB-1"}
    body["facilityIdentifier"] = {"name": "nj-2"}
    del body["orderItems"]
    body["_embedded"] = {ITEM_REL: [{"itemIdentifier": {"id": 2001}, "qty": 3}]}
    by_id_first = order_body("ALT-2")
    by_id_first["customerIdentifier"] = {"id": 143, "name": "Other Brand"}

    created = api.post("/orders", json=body).json()
    id_wins = api.post("/orders", json=by_id_first).json()

    assert created["readOnly"]["customerIdentifier"]["id"] == 144
    assert created["readOnly"]["facilityIdentifier"] == {"name": "NJ-2", "id": 11}
    assert created["_embedded"][ITEM_REL][0]["itemIdentifier"] == {"sku": "OTHER-1",
                                                                   "id": 2001}
    assert id_wins["readOnly"]["customerIdentifier"]["id"] == 143


def _without(key: str) -> dict[str, Any]:
    body = order_body("BS-V")
    del body[key]
    return body


def _with_items(items: list[Any]) -> dict[str, Any]:
    body = order_body("BS-V")
    body["orderItems"] = items
    return body


TENT = {"itemIdentifier": {"sku": "TENT-4P-GRN"}, "qty": 1}


@pytest.mark.parametrize(("body", "expected"), [
    (_without("customerIdentifier"),
     model_error("CustomerIdentifier", None, "Required", "CustomerIdentifier is required")),
    ({**order_body("BS-V"), "customerIdentifier": {}},
     model_error("CustomerIdentifier", None, "Required", "CustomerIdentifier is required")),
    (_without("facilityIdentifier"),
     model_error("FacilityIdentifier", None, "Required", "FacilityIdentifier is required")),
    (_without("referenceNum"),
     model_error("ReferenceNum", None, "Required", "ReferenceNum is required")),
    ({**order_body("BS-V"), "referenceNum": "  "},
     model_error("ReferenceNum", "  ", "Required", "ReferenceNum is required")),
    (_without("shipTo"), model_error("ShipTo", None, "Required", "ShipTo is required")),
    (_without("orderItems"),
     model_error("OrderItems", None, "Required", "At least one order item is required")),
    (_with_items([]),
     model_error("OrderItems", None, "Required", "At least one order item is required")),
    (_with_items([TENT, {"qty": 1}]),
     model_error("OrderItems[1].ItemIdentifier", None, "Required",
                 "OrderItems[1].ItemIdentifier is required")),
    (_with_items([{"itemIdentifier": {"sku": "TENT-4P-GRN"}}]),
     model_error("OrderItems[0].Qty", None, "Required", "OrderItems[0].Qty is required")),
    (_with_items([{"itemIdentifier": {"sku": "TENT-4P-GRN"}, "qty": 0}]),
     model_error("OrderItems[0].Qty", 0, "ValueNotSupported", "Qty must be a positive number")),
    (order_body("BS-V", customer=999),
     model_error("CustomerIdentifier", 999, "DoesNotExist", "Customer does not exist: 999")),
    (order_body("BS-V", facility=99),
     model_error("FacilityIdentifier", 99, "DoesNotExist", "Facility does not exist: 99")),
    (_with_items([TENT, {"itemIdentifier": {"sku": "NOPE"}, "qty": 1}]),
     model_error("OrderItems[1].ItemIdentifier", "NOPE", "DoesNotExist",
                 "Item does not exist for customer 143: NOPE")),
    (_with_items([{"itemIdentifier": {"sku": "OTHER-1"}, "qty": 1}]),
     model_error("OrderItems[0].ItemIdentifier", "OTHER-1", "DoesNotExist",
                 "Item does not exist for customer 143: OTHER-1")),
    (order_body("R" * 51),
     model_error("ReferenceNum", "R" * 51, "ValueNotSupported",
                 "ReferenceNum is longer than 50 characters")),
], ids=["no-customer", "empty-customer", "no-facility", "no-reference", "blank-reference",
        "no-shipto", "no-items", "empty-items", "no-item-identifier", "no-qty", "zero-qty",
        "unknown-customer", "unknown-facility", "unknown-sku", "other-customers-sku",
        "reference-too-long"])
def test_a_create_validation_error_has_the_spec_body_and_creates_nothing(
        wms: Wms, api: httpx.Client, body: dict[str, Any], expected: dict[str, Any]) -> None:
    response = api.post("/orders", json=body)

    assert (response.status_code, response.json()) == (400, expected)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert api.get("/orders").json()["totalResults"] == 0


def test_a_body_that_is_not_json_is_400_and_other_media_415(wms: Wms,
                                                             api: httpx.Client) -> None:
    broken = api.post("/orders", content=b"{not json",
                      headers={"Content-Type": "application/json"})
    xml = api.post("/orders", content=b"<order/>", headers={"Content-Type": "text/xml"})

    assert (broken.status_code, broken.json()) == (400, model_error(
        "Body", None, "Required", "The request body is missing or is not valid JSON"))
    assert (xml.status_code, xml.content) == (415, b"")


def test_the_reference_length_limit_is_a_setting(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.settings.update(reference_max_length=0)

    assert api.post("/orders", json=order_body("R" * 80)).status_code == 201


def test_a_duplicate_reference_is_refused_by_default(wms: Wms, api: httpx.Client) -> None:
    wms.create(api, "BS-DUP")

    again = api.post("/orders", json=order_body("bs-dup"))
    other_customer = api.post("/orders", json=order_body(
        "BS-DUP", customer=144, items=[("OTHER-1", 1)]))

    assert (again.status_code, again.json()) == (400, model_error(
        "ReferenceNum", "bs-dup", "Duplicate", "Duplicate ReferenceNum: bs-dup"))
    assert other_customer.status_code == 201  # §12 #1 default: unique per customer
    assert api.get("/orders", params={"rql": "referenceNum==BS-DUP"}).json()[
        "totalResults"] == 2


def test_allow_mode_creates_a_second_order_with_the_same_reference(wms: Wms,
                                                                   api: httpx.Client) -> None:
    wms.sandbox.settings.update(duplicate_reference="allow")
    first = wms.create(api, "BS-TWICE")["readOnly"]["orderId"]

    second = wms.create(api, "BS-TWICE")["readOnly"]["orderId"]

    found = api.get("/orders", params={"rql": "referenceNum==BS-TWICE;customerIdentifier.id==143"})
    assert second == first + 1
    assert [o["readOnly"]["orderId"] for o in found.json()["_embedded"][
        "http://api.3plCentral.com/rels/orders/order"]] == [first, second]


def test_tenant_wide_uniqueness_and_canceled_orders_are_settings(wms: Wms,
                                                                 api: httpx.Client) -> None:
    first = wms.create(api, "BS-SCOPE")["readOnly"]["orderId"]
    wms.sandbox.settings.update(duplicate_scope="tenant")
    across = api.post("/orders", json=order_body("BS-SCOPE", customer=144,
                                                 items=[("OTHER-1", 1)]))
    wms.tenant.cancel(first)
    still_counted = api.post("/orders", json=order_body("BS-SCOPE"))
    wms.sandbox.settings.update(duplicate_counts_canceled=False)
    reused = api.post("/orders", json=order_body("BS-SCOPE"))

    assert across.json()["ErrorCode"] == "Duplicate"
    assert still_counted.json()["ErrorCode"] == "Duplicate"
    assert reused.status_code == 201


def test_unknown_orders_and_the_cancel_path_are_empty_404s(wms: Wms, api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-404")["readOnly"]["orderId"]

    missing = api.get("/orders/1")
    cancel = api.post(f"/orders/{order_id}/cancel", json={"reason": "x"})
    put_cancel = api.put(f"/orders/{order_id}/cancel", json={"reason": "x"})

    assert (missing.status_code, missing.content) == (404, b"")
    assert (cancel.status_code, cancel.content) == (404, b"")
    assert put_cancel.status_code == 404

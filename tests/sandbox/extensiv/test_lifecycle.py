"""Lifecycle driver (§11 #11–#13), canceler (§5.6, §11 #15), ETag / If-Match (§5.8, §11 #14)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.extensiv.conftest import ITEM_REL, Wms, order_body

OPX = "WMS.V2.Generic.Models.Exceptions.OperationException, WMS.V2.Generic.Models"
MVE = "WMS.V2.Generic.Models.Exceptions.ModelValidationException, WMS.V2.Generic.Models"
CANCEL_REL = "http://api.3plCentral.com/rels/orders/ordercancel"
ORDER_REL = "http://api.3plCentral.com/rels/orders/order"
PACKAGE_REL = "http://api.3plCentral.com/rels/orders/package"


def refusal(code: str, hint: str, action: str = CANCEL_REL) -> dict[str, Any]:
    return {"$type": OPX, "ActionNameType": 0, "ActionName": action, "ErrorCode": code,
            "Hint": hint}


def step(control: httpx.Client, order_id: int, name: str, body: Any = None) -> dict[str, Any]:
    response = control.post(f"tenants/acme/orders/{order_id}/{name}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def lines(order: dict[str, Any]) -> list[tuple[str, float]]:
    return [(i["itemIdentifier"]["sku"], i["qty"]) for i in order["_embedded"][ITEM_REL]]


def cancel(api: httpx.Client, order_id: int, etag: str | None,
           body: Any = None) -> httpx.Response:
    headers = {"If-Match": etag} if etag else {}
    return api.post(f"/orders/{order_id}/canceler", headers=headers,
                    json={"reason": "customer asked"} if body is None else body)


def test_control_drives_an_order_to_shipped_in_two_packages(wms: Wms, api: httpx.Client,
                                                            control: httpx.Client) -> None:
    created = wms.create(api, "BS-1043")
    order_id = created["readOnly"]["orderId"]
    tent_id, stove_id = (i["readOnly"]["orderItemId"] for i in created["_embedded"][ITEM_REL])
    clock = wms.sandbox.clock

    clock.advance(60)
    allocated = step(control, order_id, "allocate")["order"]
    clock.advance(60)
    picked = step(control, order_id, "pick")["order"]
    clock.advance(60)
    packed = step(control, order_id, "pack", {"packages": [
        {"tracking_number": "1Z999AA10123456784", "weight": 6.2,
         "contents": [{"sku": "TENT-4P-GRN", "qty": 2}]},
        {"tracking_number": "1Z999AA10123456795", "weight": 3.6,
         "contents": [{"order_item_id": stove_id, "qty": 1}]}]})["order"]
    clock.advance(60)
    shipped = step(control, order_id, "ship")

    read = api.get(f"/orders/{order_id}", params={"detail": "All"})
    ro = read.json()["readOnly"]
    assert (allocated["readOnly"]["fullyAllocated"], allocated["readOnly"]["lastModifiedDate"]
            ) == (True, "2026-03-05T14:01:00")
    assert (picked["readOnly"]["pickStarted"], picked["readOnly"]["pickDoneDate"]) == (
        True, "2026-03-05T14:02:00")
    assert CANCEL_REL not in picked["_links"]
    assert (packed["readOnly"]["packStarted"], packed["readOnly"]["packDoneDate"],
            packed["readOnly"]["status"]) == (True, "2026-03-05T14:03:00", 0)
    assert read.headers["etag"] == shipped["etag"]
    assert (ro["status"], ro["isClosed"], ro["shipDate"], ro["lastModifiedDate"]) == (
        1, True, "2026-03-05T14:04:00", "2026-03-05T14:04:00")
    assert read.json()["routingInfo"] == {"carrier": "UPS", "mode": "03",
                                          "trackingNumber": "1Z999AA10123456784"}
    first, second = ro["packages"]
    assert first == {
        "packageId": first["packageId"], "packageTypeId": 0, "length": 0.0, "width": 0.0,
        "height": 0.0, "weight": 6.2, "codAmount": 0.0, "insuredAmount": 0.0,
        "trackingNumber": "1Z999AA10123456784", "description": "",
        "createDate": "2026-03-05T14:03:00", "oversize": False, "cod": False, "ucc128": 0,
        "label": None, "packageContents": [{
            "packageContentId": first["packageContents"][0]["packageContentId"],
            "packageId": first["packageId"], "orderItemId": tent_id,
            "receiveItemId": first["packageContents"][0]["receiveItemId"], "qty": 2.0,
            "lotNumber": None, "serialNumber": None, "expirationDate": None,
            "createDate": "2026-03-05T14:03:00", "serialNumbers": []}]}
    assert (second["packageId"], second["trackingNumber"], second["weight"]) == (
        first["packageId"] + 1, "1Z999AA10123456795", 3.6)
    assert [(c["orderItemId"], c["qty"]) for c in second["packageContents"]] == [(stove_id,
                                                                                  1.0)]
    assert api.get(f"/orders/{order_id}/packages").json() == {
        "totalResults": 2, "_embedded": {PACKAGE_REL: [first, second]},
        "_links": {"self": {"href": f"/orders/{order_id}/packages"}}}


def test_ship_without_packages_packs_everything_in_one_generated_package(
        wms: Wms, api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-ONE")["readOnly"]["orderId"]

    order = wms.tenant.ship(order_id)

    [package] = order.packages
    assert package.tracking_number.startswith("1Z") and len(package.tracking_number) == 18
    assert [(c.qty) for c in package.contents] == [2.0, 1.0]
    assert order.fields["routingInfo"]["trackingNumber"] == package.tracking_number


def test_a_partial_shipment_reduces_the_short_line(wms: Wms, api: httpx.Client,
                                                   control: httpx.Client) -> None:
    order_id = wms.create(api, "BS-PART", items=[("TENT-4P-GRN", 3), ("STOVE-01", 1)])[
        "readOnly"]["orderId"]

    step(control, order_id, "ship", {"packages": [
        {"tracking_number": "1ZPART1", "contents": [{"sku": "TENT-4P-GRN", "qty": 1}]},
        {"tracking_number": "1ZPART2", "contents": [{"sku": "TENT-4P-GRN", "qty": 1}]}]})

    order = api.get(f"/orders/{order_id}", params={"detail": "All"}).json()
    assert lines(order) == [("TENT-4P-GRN", 2.0), ("STOVE-01", 0.0)]
    assert [p["trackingNumber"] for p in order["readOnly"]["packages"]] == ["1ZPART1",
                                                                           "1ZPART2"]
    assert order["readOnly"]["status"] == 1


def test_a_short_line_can_be_removed_instead_by_setting(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.settings.update(short_line="remove")
    order_id = wms.create(api, "BS-RM")["readOnly"]["orderId"]

    wms.tenant.ship(order_id, [{"contents": [{"sku": "TENT-4P-GRN", "qty": 2}]}])

    order = api.get(f"/orders/{order_id}", params={"detail": "OrderItems"}).json()
    assert lines(order) == [("TENT-4P-GRN", 2.0)]


def test_short_stock_allocates_partly_and_ships_what_was_allocated(wms: Wms,
                                                                   api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-SHORT", items=[("STOVE-01", 5)])["readOnly"]["orderId"]

    wms.tenant.allocate(order_id)
    allocated = api.get(f"/orders/{order_id}", params={"detail": "OrderItems",
                                                       "itemdetail": "Allocations"}).json()
    wms.tenant.ship(order_id)
    shipped = api.get(f"/orders/{order_id}", params={"detail": "OrderItems"}).json()

    item = allocated["_embedded"][ITEM_REL][0]
    assert allocated["readOnly"]["fullyAllocated"] is False
    assert (item["readOnly"]["fullyAllocated"], [a["qty"] for a in item["readOnly"][
        "allocations"]]) == (False, [3.0])
    assert lines(shipped) == [("STOVE-01", 3.0)]
    assert shipped["readOnly"]["fullyAllocated"] is True


def test_warehouse_side_cancel_and_its_is_closed_setting(wms: Wms, api: httpx.Client,
                                                         control: httpx.Client) -> None:
    first = wms.create(api, "BS-WC1")["readOnly"]["orderId"]
    second = wms.create(api, "BS-WC2")["readOnly"]["orderId"]
    wms.tenant.pick(first)
    wms.sandbox.clock.advance(30)

    canceled = step(control, first, "cancel")["order"]["readOnly"]
    wms.sandbox.settings.update(cancel_sets_closed=True)
    closed_too = step(control, second, "cancel")["order"]["readOnly"]
    again = control.post(f"tenants/acme/orders/{first}/cancel")

    assert (canceled["status"], canceled["isClosed"], canceled["lastModifiedDate"]) == (
        2, False, "2026-03-05T14:00:30")
    assert (closed_too["status"], closed_too["isClosed"]) == (2, True)
    assert (again.status_code, again.json()) == (400, {"error": f"order {first} is canceled"})


def test_control_refuses_impossible_steps(wms: Wms, api: httpx.Client,
                                          control: httpx.Client) -> None:
    order_id = wms.create(api, "BS-BAD")["readOnly"]["orderId"]

    too_much = control.post(f"tenants/acme/orders/{order_id}/pack", json={"packages": [
        {"contents": [{"sku": "STOVE-01", "qty": 2}]}]})
    no_line = control.post(f"tenants/acme/orders/{order_id}/pack", json={"packages": [
        {"contents": [{"sku": "OTHER-1", "qty": 1}]}]})
    unknown_order = control.post("tenants/acme/orders/1/ship")
    unknown_tenant = control.post(f"tenants/nope/orders/{order_id}/ship")
    unknown_route = control.post(f"tenants/acme/orders/{order_id}/fly")

    assert too_much.status_code == 400
    assert "packing 2 but only 1 allocated" in too_much.json()["error"]
    assert no_line.status_code == 400
    assert [unknown_order.status_code, unknown_tenant.status_code,
            unknown_route.status_code] == [404, 404, 404]


def test_the_etag_changes_on_every_modification(wms: Wms, api: httpx.Client) -> None:
    created = api.post("/orders", json=order_body("BS-ETAG"))
    order_id = created.json()["readOnly"]["orderId"]
    tags = [created.headers["etag"]]

    for action in (wms.tenant.allocate, wms.tenant.pick, wms.tenant.pack, wms.tenant.ship):
        action(order_id)
        tags.append(api.get(f"/orders/{order_id}").headers["etag"])

    assert len(set(tags)) == 5
    assert all(tag.startswith('"') and tag.endswith('"') for tag in tags)


def test_cancel_with_a_current_etag_is_204_and_frees_the_order(wms: Wms,
                                                               api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-CXL")["readOnly"]["orderId"]
    etag = api.get(f"/orders/{order_id}").headers["etag"]
    wms.sandbox.clock.advance(5)

    response = cancel(api, order_id, etag)

    after = api.get(f"/orders/{order_id}")
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["etag"] == after.headers["etag"] != etag
    assert (after.json()["readOnly"]["status"], after.json()["readOnly"]["isClosed"],
            after.json()["readOnly"]["lastModifiedDate"]) == (2, False, "2026-03-05T14:00:05")
    assert CANCEL_REL not in after.json()["_links"]


def test_a_weak_etag_is_accepted(wms: Wms, api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-WEAK")["readOnly"]["orderId"]
    etag = api.get(f"/orders/{order_id}").headers["etag"]

    assert cancel(api, order_id, "W/" + etag).status_code == 204


def test_if_match_missing_is_428_and_stale_is_412(wms: Wms, api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-PRE")["readOnly"]["orderId"]
    stale = api.get(f"/orders/{order_id}").headers["etag"]
    wms.tenant.allocate(order_id)  # the warehouse changes the order meanwhile

    missing = cancel(api, order_id, None)
    mismatch = cancel(api, order_id, stale)

    assert (missing.status_code, missing.content) == (428, b"")
    assert (mismatch.status_code, mismatch.content) == (412, b"")
    assert wms.tenant.orders[order_id].status == 0


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"Reason": None}])
def test_cancel_without_a_reason_is_400_required(wms: Wms, api: httpx.Client,
                                                 body: dict[str, Any]) -> None:
    order_id = wms.create(api, "BS-WHY")["readOnly"]["orderId"]
    etag = api.get(f"/orders/{order_id}").headers["etag"]

    response = cancel(api, order_id, etag, body)

    assert response.status_code == 400
    assert (response.json()["$type"], response.json()["Properties"][0]["Name"],
            response.json()["ErrorCode"]) == (MVE, "Reason", "Required")


@pytest.mark.parametrize(("prepare", "code", "hint"), [
    ("ship", "OrderConfirmed", "The order is closed (confirmed)"),
    ("cancel", "OrderCanceled", "The order is canceled"),
    ("pick", "InUse", "The order is in a pick job and cannot be canceled"),
])
def test_cancel_is_refused_once_picked_closed_or_canceled(wms: Wms, api: httpx.Client,
                                                          prepare: str, code: str,
                                                          hint: str) -> None:
    order_id = wms.create(api, "BS-LATE")["readOnly"]["orderId"]
    getattr(wms.tenant, prepare)(order_id)
    etag = api.get(f"/orders/{order_id}").headers["etag"]

    response = cancel(api, order_id, etag)

    assert (response.status_code, response.json()) == (403, refusal(code, hint))


def test_an_allocated_order_can_still_be_canceled_and_the_pick_code_is_a_setting(
        wms: Wms, api: httpx.Client) -> None:
    allocated = wms.create(api, "BS-ALLOC")["readOnly"]["orderId"]
    picked = wms.create(api, "BS-PICK", items=[("TENT-4P-GRN", 1)])["readOnly"]["orderId"]
    wms.tenant.allocate(allocated)
    wms.tenant.pick(picked)
    wms.sandbox.settings.update(cancel_in_pick_code="OrderConfirmed")

    ok = cancel(api, allocated, api.get(f"/orders/{allocated}").headers["etag"])
    refused = cancel(api, picked, api.get(f"/orders/{picked}").headers["etag"])

    assert ok.status_code == 204
    assert refused.json()["ErrorCode"] == "OrderConfirmed"


def test_put_needs_if_match_and_answers_a_new_etag(wms: Wms, api: httpx.Client) -> None:
    created = api.post("/orders", json=order_body("BS-PUT"))
    order_id, etag = created.json()["readOnly"]["orderId"], created.headers["etag"]
    changed = {**order_body("BS-PUT"), "notes": "Leave at back door"}

    missing = api.put(f"/orders/{order_id}", json=changed)
    updated = api.put(f"/orders/{order_id}", json=changed, headers={"If-Match": etag})
    stale = api.put(f"/orders/{order_id}", json=changed, headers={"If-Match": etag})

    assert missing.status_code == 428
    assert updated.status_code == 200
    assert updated.json()["notes"] == "Leave at back door"
    assert updated.headers["etag"] != etag
    assert stale.status_code == 412


def test_put_is_refused_on_closed_orders_and_for_items_once_allocated(
        wms: Wms, api: httpx.Client) -> None:
    closed = wms.create(api, "BS-C")["readOnly"]["orderId"]
    allocated = wms.create(api, "BS-A", items=[("TENT-4P-GRN", 1)])["readOnly"]["orderId"]
    wms.tenant.ship(closed)
    wms.tenant.allocate(allocated)

    def put(order_id: int, body: dict[str, Any]) -> httpx.Response:
        etag = api.get(f"/orders/{order_id}").headers["etag"]
        return api.put(f"/orders/{order_id}", json=body, headers={"If-Match": etag})

    on_closed = put(closed, order_body("BS-C"))
    items = put(allocated, order_body("BS-A", items=[("TENT-4P-GRN", 2)]))

    assert (on_closed.status_code, on_closed.json()) == (403, refusal(
        "OrderConfirmed", "The order is closed (confirmed)", ORDER_REL))
    assert (items.status_code, items.json()["ErrorCode"]) == (403, "FullyAllocated")

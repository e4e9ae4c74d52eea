"""Stock summaries (§6.1, §11 #16) moving with orders over two facilities."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.extensiv.conftest import Wms

QPE = "WMS.V2.Generic.Models.Exceptions.QueryParameterException, WMS.V2.Generic.Models"


def row(facility: int, sku: str, item: int, *, received: float, on_hand: float,
        allocated: float = 0.0, on_hold: float = 0.0,
        ordered: float = 0.0) -> dict[str, Any]:
    return {"facilityId": facility, "itemIdentifier": {"sku": sku, "id": item}, "qualifier": "",
            "totalReceived": received, "allocated": allocated,
            "available": on_hand - allocated - on_hold, "onHold": on_hold, "onHand": on_hand,
            "orderedNotAllocated": ordered}


def summaries(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/inventory/stocksummaries", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"totalResults", "summaries"}  # neither _embedded nor _links (§3)
    assert body["totalResults"] == len(body["summaries"]) or "pgsiz" in params
    for line in body["summaries"]:
        assert line["onHand"] == line["available"] + line["allocated"] + line["onHold"]
    return list(body["summaries"])


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[int, str], dict[str, Any]]:
    return {(r["facilityId"], r["itemIdentifier"]["sku"]): r for r in rows}


def test_the_initial_summaries_list_every_item_and_facility(wms: Wms,
                                                            api: httpx.Client) -> None:
    assert summaries(api) == [
        row(10, "TENT-4P-GRN", 1001, received=14, on_hand=14),
        row(10, "STOVE-01", 1002, received=3, on_hand=3),
        row(10, "OTHER-1", 2001, received=9, on_hand=9),
        row(11, "TENT-4P-GRN", 1001, received=5, on_hand=5),
    ]


def test_stock_moves_with_create_allocate_ship_and_cancel(wms: Wms, api: httpx.Client) -> None:
    tenant = wms.tenant
    west = wms.create(api, "W-1")["readOnly"]["orderId"]  # facility 10: 2 tents, 1 stove
    east = wms.create(api, "E-1", facility=11, items=[("TENT-4P-GRN", 3)])["readOnly"][
        "orderId"]
    created = by_key(summaries(api, rql="customerIdentifier.id==143"))

    tenant.allocate(west)
    tenant.allocate(east)
    allocated = by_key(summaries(api, rql="customerIdentifier.id==143"))

    tenant.ship(west, [{"contents": [{"sku": "TENT-4P-GRN", "qty": 1}]}])  # short-shipped
    etag = api.get(f"/orders/{east}").headers["etag"]
    assert api.post(f"/orders/{east}/canceler", json={"reason": "oos"},
                    headers={"If-Match": etag}).status_code == 204
    final = by_key(summaries(api, rql="customerIdentifier.id==143"))

    assert created == {
        (10, "TENT-4P-GRN"): row(10, "TENT-4P-GRN", 1001, received=14, on_hand=14, ordered=2),
        (10, "STOVE-01"): row(10, "STOVE-01", 1002, received=3, on_hand=3, ordered=1),
        (11, "TENT-4P-GRN"): row(11, "TENT-4P-GRN", 1001, received=5, on_hand=5, ordered=3)}
    assert allocated == {
        (10, "TENT-4P-GRN"): row(10, "TENT-4P-GRN", 1001, received=14, on_hand=14,
                                 allocated=2),
        (10, "STOVE-01"): row(10, "STOVE-01", 1002, received=3, on_hand=3, allocated=1),
        (11, "TENT-4P-GRN"): row(11, "TENT-4P-GRN", 1001, received=5, on_hand=5,
                                 allocated=3)}
    assert final == {
        (10, "TENT-4P-GRN"): row(10, "TENT-4P-GRN", 1001, received=14, on_hand=13),
        (10, "STOVE-01"): row(10, "STOVE-01", 1002, received=3, on_hand=3),
        (11, "TENT-4P-GRN"): row(11, "TENT-4P-GRN", 1001, received=5, on_hand=5)}


def test_allocation_on_create_is_a_setting(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.settings.update(allocate_on_create=True)

    created = wms.create(api, "AUTO-1", items=[("STOVE-01", 2)])

    assert created["readOnly"]["fullyAllocated"] is True
    assert by_key(summaries(api))[(10, "STOVE-01")] == row(10, "STOVE-01", 1002, received=3,
                                                           on_hand=3, allocated=2)


def test_stock_on_hold_is_not_allocated(wms: Wms, api: httpx.Client,
                                        control: httpx.Client) -> None:
    changed = control.put("tenants/acme/stock", json={"customer_id": 143, "sku": "STOVE-01",
                                                      "facility_id": 10, "on_hand": 6,
                                                      "on_hold": 5})
    order_id = wms.create(api, "HOLD-1", items=[("STOVE-01", 2)])["readOnly"]["orderId"]

    wms.tenant.allocate(order_id)

    assert (changed.status_code, changed.json()) == (200, row(
        10, "STOVE-01", 1002, received=6, on_hand=6, on_hold=5))
    assert by_key(summaries(api))[(10, "STOVE-01")] == row(
        10, "STOVE-01", 1002, received=6, on_hand=6, on_hold=5, allocated=1, ordered=1)
    too_low = control.put("tenants/acme/stock", json={"customer_id": 143, "sku": "STOVE-01",
                                                      "facility_id": 10, "on_hand": 5})
    assert too_low.status_code == 400


def test_summaries_filter_by_facility_customer_and_sku(wms: Wms, api: httpx.Client) -> None:
    def skus(rql: str) -> list[tuple[int, str]]:
        return [(r["facilityId"], r["itemIdentifier"]["sku"]) for r in summaries(api, rql=rql)]

    assert skus("facilityId==11") == [(11, "TENT-4P-GRN")]
    assert skus("readOnly.customerIdentifier.id==144") == [(10, "OTHER-1")]
    assert skus("itemIdentifier.sku==STOVE-01,available=gt=10") == [(10, "TENT-4P-GRN"),
                                                                    (10, "STOVE-01")]
    unknown = api.get("/inventory/stocksummaries", params={"rql": "warehouse==1"})
    assert (unknown.status_code, unknown.json()) == (400, {
        "$type": QPE, "Parameters": ["rql"], "ErrorCode": "NotParsable",
        "Hint": "Properties not supported: warehouse"})


def test_summaries_page_with_a_maximum_of_500(wms: Wms, api: httpx.Client) -> None:
    first = api.get("/inventory/stocksummaries", params={"pgsiz": 3, "pgnum": 1}).json()
    second = api.get("/inventory/stocksummaries", params={"pgsiz": 3, "pgnum": 2}).json()
    widest = api.get("/inventory/stocksummaries", params={"pgsiz": 500})
    too_wide = api.get("/inventory/stocksummaries", params={"pgsiz": 501})

    assert (first["totalResults"], len(first["summaries"])) == (4, 3)
    assert (second["totalResults"], [r["facilityId"] for r in second["summaries"]]) == (4, [11])
    assert widest.status_code == 200
    assert (too_wide.status_code, too_wide.json()) == (400, {
        "$type": QPE, "Parameters": ["pgsiz"], "ErrorCode": "NotParsable",
        "Hint": "pgsiz must be between 1 and 500"})


def test_the_default_summary_page_size_is_a_setting(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.settings.update(summaries_page_default=2)

    body = api.get("/inventory/stocksummaries").json()

    assert (body["totalResults"], len(body["summaries"])) == (4, 2)


def test_plain_json_summaries_are_pascal_case(wms: Wms) -> None:
    with wms.client(hal=False) as plain:
        body = plain.get("/inventory/stocksummaries", params={"rql": "facilityId==11"}).json()

    assert body == {"TotalResults": 1, "Summaries": [{
        "FacilityId": 11, "ItemIdentifier": {"Sku": "TENT-4P-GRN", "Id": 1001},
        "Qualifier": "", "TotalReceived": 5.0, "Allocated": 0.0, "Available": 5.0,
        "OnHold": 0.0, "OnHand": 5.0, "OrderedNotAllocated": 0.0}]}

"""RQL filters, sort and paging of GET /orders (§4, §5.5, §11 #9, #10)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.sandbox.extensiv.conftest import ORDER_REL, Wms, order_body

QPE = "WMS.V2.Generic.Models.Exceptions.QueryParameterException, WMS.V2.Generic.Models"


def refs(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [o["referenceNum"] for o in response.json()["_embedded"][ORDER_REL]]


def search(api: httpx.Client, rql: str, **params: Any) -> list[str]:
    return refs(api.get("/orders", params={"rql": rql, **params}))


@pytest.fixture
def five(wms: Wms, api: httpx.Client) -> list[int]:
    """A-1 … A-5, five minutes apart from 14:00:00; A-4 for customer 144; A-5 in facility 11."""
    ids = []
    for n in range(1, 6):
        customer, items = (144, [("OTHER-1", 1)]) if n == 4 else (143, None)
        body = order_body(f"A-{n}", customer=customer, facility=11 if n == 5 else 10,
                          items=items if items else [("TENT-4P-GRN", 1)])
        ids.append(api.post("/orders", json=body).json()["readOnly"]["orderId"])
        wms.sandbox.clock.advance(300)
    return ids


def test_reference_equality_is_case_insensitive_and_wildcards_work(
        wms: Wms, api: httpx.Client, five: list[int]) -> None:
    assert search(api, "referenceNum==a-3") == ["A-3"]
    assert search(api, "referenceNum==A*") == ["A-1", "A-2", "A-3", "A-4", "A-5"]
    assert search(api, "referenceNum==*-2") == ["A-2"]
    assert search(api, "referenceNum==*-*") == ["A-1", "A-2", "A-3", "A-4", "A-5"]
    assert search(api, "referenceNum!=A-1;referenceNum!=A-2") == ["A-3", "A-4", "A-5"]
    assert search(api, "referenceNum==B-1") == []


def test_last_modified_ranges_select_exact_boundaries(wms: Wms, api: httpx.Client,
                                                      five: list[int]) -> None:
    modified = "ReadOnly.lastModifiedDate"

    assert search(api, f"{modified}=ge=2026-03-05T14:05:00;{modified}=le=2026-03-05T14:15:00"
                  ) == ["A-2", "A-3", "A-4"]
    assert search(api, f"{modified}=gt=2026-03-05T14:05:00;{modified}=lt=2026-03-05T14:15:00"
                  ) == ["A-3"]
    assert search(api, "readonly.lastmodifieddate=ge=2026-03-05T14:20:00") == ["A-5"]


def test_a_state_change_moves_an_order_into_the_modified_since_window(
        wms: Wms, api: httpx.Client, five: list[int]) -> None:
    since = "readOnly.lastModifiedDate=ge=2026-03-05T14:25:00"
    assert search(api, since) == []

    wms.tenant.ship(five[0])

    assert search(api, since) == ["A-1"]
    assert search(api, since + ";readOnly.isClosed==true;readOnly.status==1") == ["A-1"]


def test_the_spec_poll_query_filters_customer_facility_and_window(
        wms: Wms, api: httpx.Client, five: list[int]) -> None:
    rql = ("customerIdentifier.id==143;facilityIdentifier.id==10;"
           "readOnly.lastModifiedDate=ge=2026-03-05T14:00:00;"
           "readOnly.lastModifiedDate=le=2026-03-05T14:20:00")

    found = search(api, rql, pgsiz=500, detail="All", itemdetail="None",
                   sort="readOnly.lastModifiedDate,readOnly.orderId")

    assert found == ["A-1", "A-2", "A-3"]
    assert search(api, "readOnly.customerIdentifier.id==144") == ["A-4"]
    assert search(api, "readOnly.facilityIdentifier.id==11") == ["A-5"]
    assert search(api, "customerIdentifier.name==other brand") == ["A-4"]


def test_status_is_closed_in_out_or_and_parentheses(wms: Wms, api: httpx.Client,
                                                    five: list[int]) -> None:
    wms.tenant.cancel(five[1])
    wms.tenant.ship(five[2])

    assert search(api, "readOnly.status==2") == ["A-2"]
    assert search(api, "readonly.isclosed==true") == ["A-3"]
    assert search(api, "readOnly.status=in=(1,2)") == ["A-2", "A-3"]
    assert search(api, "readOnly.status=out=(1,2)") == ["A-1", "A-4", "A-5"]
    # AND binds tighter than OR
    assert search(api, "referenceNum==A-1,referenceNum==A-2;readOnly.status==0") == ["A-1"]
    assert search(api, "(referenceNum==A-1,referenceNum==A-2);readOnly.status==2") == ["A-2"]
    assert search(api, "readOnly.shipDate=hv=true") == ["A-3"]
    assert search(api, "readOnly.shipDate=hv=false;readOnly.orderId=ge=" + str(five[3])) == [
        "A-4", "A-5"]


def test_customer_path_spellings_are_a_setting(wms: Wms, api: httpx.Client,
                                               five: list[int]) -> None:
    wms.sandbox.settings.update(rql_customer_paths="top")
    top_only = api.get("/orders", params={"rql": "readOnly.customerIdentifier.id==143"})
    wms.sandbox.settings.update(rql_customer_paths="readonly")
    readonly_only = api.get("/orders", params={"rql": "customerIdentifier.id==143"})

    assert (top_only.status_code, top_only.json()["Hint"]) == (
        400, "Properties not supported: readOnly.customerIdentifier.id")
    assert (readonly_only.status_code, readonly_only.json()["Hint"]) == (
        400, "Properties not supported: customerIdentifier.id")
    assert search(api, "readOnly.customerIdentifier.id==144") == ["A-4"]


def test_values_are_decoded_twice_so_escaped_specials_are_literal(wms: Wms,
                                                                  api: httpx.Client) -> None:
    awkward = "BS,1;(x)*=!%"
    wms.create(api, awkward)
    wms.create(api, awkward + "-2")

    exact = search(api, "referenceNum==" + quote(awkward, safe=""))
    prefix = search(api, "referenceNum==" + quote("BS,1;", safe="") + "*")

    assert exact == [awkward]
    assert prefix == [awkward, awkward + "-2"]


def test_an_unknown_property_is_the_spec_exception(wms: Wms, api: httpx.Client) -> None:
    one = api.get("/orders", params={"rql": "gorp==1"})
    two = api.get("/orders", params={"rql": "gorp==1;referenceNum==x,zap=gt=3"})

    assert (one.status_code, one.json()) == (400, {
        "$type": QPE, "Parameters": ["rql"], "ErrorCode": "NotParsable",
        "Hint": "Properties not supported: gorp"})
    assert two.json()["Hint"] == "Properties not supported: gorp, zap"


@pytest.mark.parametrize(("rql", "hint"), [
    ("readOnly.orderId==abc", "Value not parsable for readOnly.orderId: abc"),
    ("readOnly.lastModifiedDate=ge=yesterday",
     "Value not parsable for readOnly.lastModifiedDate: yesterday"),
    ("readOnly.isClosed==maybe", "Value not parsable for readOnly.isClosed: maybe"),
    ("referenceNum", "Unable to parse rql: no operator after 'referenceNum'"),
    ("(referenceNum==a", "Unable to parse rql: missing ')'"),
    ("readOnly.status=in=1,2", "Unable to parse rql: =in= and =out= need a list in "
                               "parentheses"),
])
def test_unparsable_rql_is_400_not_parsable(wms: Wms, api: httpx.Client, rql: str,
                                            hint: str) -> None:
    response = api.get("/orders", params={"rql": rql})

    assert (response.status_code, response.json()) == (400, {
        "$type": QPE, "Parameters": ["rql"], "ErrorCode": "NotParsable", "Hint": hint})


def test_sort_ascending_descending_and_unknown(wms: Wms, api: httpx.Client,
                                              five: list[int]) -> None:
    wms.tenant.allocate(five[0])  # A-1 becomes the most recently modified

    assert refs(api.get("/orders", params={"sort": "-readOnly.orderId"})) == [
        "A-5", "A-4", "A-3", "A-2", "A-1"]
    assert refs(api.get("/orders", params={"sort": "ReadOnly.lastModifiedDate"})) == [
        "A-2", "A-3", "A-4", "A-5", "A-1"]
    assert refs(api.get("/orders", params={"sort": "readOnly.customerIdentifier.id,"
                                                   "-referenceNum"})) == [
        "A-5", "A-3", "A-2", "A-1", "A-4"]
    unknown = api.get("/orders", params={"sort": "-bogus"})
    assert (unknown.status_code, unknown.json()) == (400, {
        "$type": QPE, "Parameters": ["sort"], "ErrorCode": "NotParsable",
        "Hint": "Properties not supported: bogus"})


def test_pages_links_and_totals(wms: Wms, api: httpx.Client, five: list[int]) -> None:
    params = {"sort": "readOnly.orderId", "pgsiz": "2"}
    first = api.get("/orders", params={**params, "pgnum": "1"}).json()
    last = api.get("/orders", params={**params, "pgnum": "3"}).json()
    beyond = api.get("/orders", params={**params, "pgnum": "4"}).json()
    followed = api.get(first["_links"]["next"]["href"]).json()

    assert first["totalResults"] == 5
    assert [o["referenceNum"] for o in first["_embedded"][ORDER_REL]] == ["A-1", "A-2"]
    assert first["_links"] == {
        "self": {"href": "/orders?sort=readOnly.orderId&pgsiz=2&pgnum=1"},
        "next": {"href": "/orders?sort=readOnly.orderId&pgsiz=2&pgnum=2"}}
    assert [o["referenceNum"] for o in followed["_embedded"][ORDER_REL]] == ["A-3", "A-4"]
    assert set(followed["_links"]) == {"self", "next", "prev"}
    assert [o["referenceNum"] for o in last["_embedded"][ORDER_REL]] == ["A-5"]
    assert last["_links"] == {
        "self": {"href": "/orders?sort=readOnly.orderId&pgsiz=2&pgnum=3"},
        "prev": {"href": "/orders?sort=readOnly.orderId&pgsiz=2&pgnum=2"}}
    assert (beyond["totalResults"], beyond["_embedded"][ORDER_REL]) == (5, [])


def test_the_default_page_size_and_a_next_link_on_the_last_page_are_settings(
        wms: Wms, api: httpx.Client, five: list[int]) -> None:
    wms.sandbox.settings.update(orders_page_default=3, next_link_on_last_page=True)

    first = api.get("/orders").json()
    second = api.get("/orders", params={"pgnum": 2}).json()

    assert len(first["_embedded"][ORDER_REL]) == 3
    assert len(second["_embedded"][ORDER_REL]) == 2
    assert second["_links"]["next"] == {"href": "/orders?pgsiz=3&pgnum=3"}


@pytest.mark.parametrize(("params", "parameter", "hint"), [
    ({"pgsiz": "1001"}, "pgsiz", "pgsiz must be between 1 and 1000"),
    ({"pgsiz": "0"}, "pgsiz", "pgsiz must be a positive integer"),
    ({"pgsiz": "ten"}, "pgsiz", "pgsiz must be a positive integer"),
    ({"pgnum": "0"}, "pgnum", "pgnum must be a positive integer"),
])
def test_page_parameters_out_of_range_are_400(wms: Wms, api: httpx.Client,
                                              params: dict[str, str], parameter: str,
                                              hint: str) -> None:
    response = api.get("/orders", params=params)

    assert (response.status_code, response.json()) == (400, {
        "$type": QPE, "Parameters": [parameter], "ErrorCode": "NotParsable", "Hint": hint})


def test_the_maximum_page_size_is_allowed(wms: Wms, api: httpx.Client) -> None:
    assert api.get("/orders", params={"pgsiz": 1000}).status_code == 200


def test_dates_are_facility_local_by_default_and_utc_by_setting(wms: Wms,
                                                                api: httpx.Client) -> None:
    wms.tenant.add_facility(12, "SEA-3", "Pacific Standard Time")
    wms.tenant.set_stock(143, "TENT-4P-GRN", 12, on_hand=5)
    order_id = wms.create(api, "PST-1", facility=12, items=[("TENT-4P-GRN", 1)])[
        "readOnly"]["orderId"]

    local = api.get(f"/orders/{order_id}").json()["readOnly"]
    local_hit = search(api, "readOnly.creationDate=ge=2026-03-05T06:00:00")
    local_miss = search(api, "readOnly.creationDate=ge=2026-03-05T06:00:01")
    wms.sandbox.settings.update(date_frame="utc")
    utc = api.get(f"/orders/{order_id}").json()["readOnly"]

    assert (local["creationDate"], local["lastModifiedDate"]) == ("2026-03-05T06:00:00",
                                                                  "2026-03-05T06:00:00")
    assert (local_hit, local_miss) == (["PST-1"], [])
    assert utc["creationDate"] == "2026-03-05T14:00:00"
    assert search(api, "readOnly.creationDate=ge=2026-03-05T14:00:00") == ["PST-1"]

"""Answers the sandbox cannot give (it always speaks the API's shapes): a JSON body of the wrong
shape must be a BadResponse naming the field. The only place an httpx.MockTransport stands in
for the store; it still runs under the real metering transport and client."""

from __future__ import annotations

import httpx
import pytest

from dropstream.platforms.base import AdapterContext
from dropstream.platforms.brightsites.adapter import BrightSitesAdapter
from dropstream.platforms.errors import BadResponse
from tests.fixtures.secret_leaks import make_secret


def adapter_answering(body, calls: list) -> BrightSitesAdapter:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    return BrightSitesAdapter({"subdomain": "acme", "api_token": make_secret(),
                               "api_url": "http://127.0.0.1:9/acme/api/v2.6.1"},
                              AdapterContext(meter=calls.append), transport=transport)


@pytest.mark.parametrize(("body", "field"), [
    ([], "body"),
    ({"meta": {"total": 0}}, "orders"),
    ({"orders": {"order_id": 1}}, "orders"),
    ({"orders": [], "meta": {"total": "many"}}, "meta.total"),
    ({"orders": [{"order_id": 2, "updated_at": "2025-05-14T19:11:21.000Z"}, {"status": "paid"}],
      "meta": {"total": 2}}, "orders[1].order_id"),
    ({"orders": [{"order_id": 2, "updated_at": "soon"}], "meta": {"total": 1}},
     "orders[0].updated_at"),
])
def test_a_wrong_order_list_shape_is_a_bad_response_naming_the_field(body, field):
    calls: list = []
    adapter = adapter_answering(body, calls)

    with pytest.raises(BadResponse) as caught:
        list(adapter.list_orders(updated_since=None))

    assert caught.value.field == field
    assert len(calls) == 1  # a wrong shape is not retried


def test_validate_credentials_on_something_that_is_not_bright_sites_says_so():
    adapter = adapter_answering({"hello": "world"}, [])

    with pytest.raises(BadResponse) as caught:
        adapter.validate_credentials()

    assert str(caught.value).startswith("127.0.0.1:9 answered, but not like the Bright Sites API")
    assert caught.value.field == "orders"


def test_a_wrong_inventory_row_is_a_bad_response_naming_the_field():
    body = {"inventories": [{"product_id": 1, "id": 2, "final_sku": "A", "inventory": "x"}],
            "meta": {"total": 1}}
    adapter = adapter_answering(body, [])

    with pytest.raises(BadResponse) as caught:
        adapter.write_inventory({"A": 1})

    assert caught.value.field == "inventories[0].inventory"

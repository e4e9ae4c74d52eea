"""Tokens: fetched once and shared, renewed when Extensiv says one expired (its clock, not
ours), renewed early by our own clock; 429 with Retry-After and 5xx retried with the shared
backoff — a create still lands once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dropstream.connections.actions import ping_adapter
from dropstream.platforms.base import (
    AdapterContext,
    Address,
    MeteredCall,
    WarehouseOrder,
    WarehouseOrderLine,
    get_platform,
)
from dropstream.platforms.errors import PlatformError
from dropstream.platforms.extensiv.adapter import ExtensivWarehouse
from dropstream.platforms.extensiv.client import TokenCache
from tests.platforms.extensiv.fixtures import extensiv_wms, warehouse_settings  # noqa: F401

TOKEN = "POST /AuthServer/api/Token"


def _order(wms, number: str) -> WarehouseOrder:
    return WarehouseOrder(
        order_number=number, ordered_at=datetime.now(UTC), bill_to=None, ship_method="UPS/03",
        ship_to=Address(name="Jane Buyer", street1="12 Harbor St", city="Portland",
                        state="OR", postal_code="97209", country="US"),
        lines=(WarehouseOrderLine(1, wms.skus[0], 2, Decimal("5")),))


def _adapter(wms, calls: list[MeteredCall], **overrides) -> ExtensivWarehouse:
    settings = get_platform("warehouse", "extensiv").clean(warehouse_settings(wms, **overrides))
    return ExtensivWarehouse(settings, AdapterContext(meter=calls.append))


def test_one_token_serves_many_adapters_and_an_expired_one_is_renewed_once(extensiv):
    calls: list[MeteredCall] = []
    first = _adapter(extensiv, calls)
    first.submit([_order(extensiv, "T-1")], key="k1")
    second = _adapter(extensiv, calls)  # the next run: the token is still good
    second.submit([_order(extensiv, "T-2")], key="k2")
    extensiv.sandbox.clock.advance(4000)  # Extensiv's clock: the token has expired there
    second.submit([_order(extensiv, "T-3")], key="k3")
    first.close()
    second.close()

    endpoints = [(c.endpoint, c.status) for c in calls]
    assert endpoints.count((TOKEN, 200)) == 2
    assert endpoints.count(("POST /orders", 401)) == 1
    assert endpoints.count(("POST /orders", 201)) == 3
    assert sorted(extensiv.references()) == ["T-1", "T-2", "T-3"]


def test_a_token_is_renewed_early_by_our_clock():
    cache = TokenCache()
    cache.put("k", "tok", expires_in=0.5)  # renewed a tenth of its life early
    assert cache.get("k") == "tok"
    cache.put("k", "tok", expires_in=0)
    assert cache.get("k") == ""


def test_429_and_5xx_are_retried_and_the_order_lands_once(extensiv):
    calls: list[MeteredCall] = []
    extensiv.sandbox.faults.add([
        {"endpoint": "POST /orders", "status": 429, "retry_after": 1, "count": 1},
        {"endpoint": "POST /orders", "status": 503, "after_write": True, "count": 1},
        {"endpoint": "GET /orders", "status": 500, "count": 1}])
    adapter = _adapter(extensiv, calls)
    result = adapter.submit([_order(extensiv, "R-1")], key="k")
    adapter.close()

    assert result.refused == {}
    assert extensiv.references() == ["R-1"]
    statuses = [c.status for c in calls if c.endpoint == "POST /orders"]
    assert statuses == [429, 503]  # the 503 came after Extensiv committed: found, not resent
    assert [c.status for c in calls if c.endpoint == "GET /orders"] == [500, 200]


@pytest.mark.django_db
def test_the_api_ping_raises_the_plain_message(extensiv):
    with pytest.raises(PlatformError) as caught:
        ping_adapter("warehouse", "extensiv", warehouse_settings(extensiv, facility_id=12))
    assert "facility 12 holds nothing of customer 143" in caught.value.message

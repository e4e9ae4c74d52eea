"""The shipment poll against the simulator: N changed orders cost ⌈N / 500⌉ requests (keyed
pages, no order skipped or read twice into the document), and once the overlap window has
settled a quiet poll is one request."""

from __future__ import annotations

from dropstream.platforms.base import AdapterContext, MeteredCall, get_platform
from dropstream.platforms.extensiv.adapter import CURSOR, CURSOR_AT, ExtensivWarehouse
from tests.platforms.extensiv.fixtures import (  # noqa: F401 - a fixture
    CUSTOMER,
    FACILITY,
    extensiv_wms,
    warehouse_settings,
)


def _create(wms, count: int) -> list[int]:
    ids = []
    for n in range(count):
        sku = wms.skus[n % len(wms.skus)]
        order = wms.tenant.create_order({
            "customerIdentifier": {"id": CUSTOMER}, "facilityIdentifier": {"id": FACILITY},
            "referenceNum": f"P{n:05d}", "shipTo": {"name": "A", "address1": "1 St"},
            "orderItems": [{"itemIdentifier": {"sku": sku}, "qty": 1, "externalId": "1"}]},
            {"name": "hub-integration", "id": 412})
        ids.append(order.order_id)
    return ids


def test_a_thousand_and_one_shipped_orders_take_three_requests(extensiv):
    ids = _create(extensiv, 1001)
    for order_id in ids:
        extensiv.tenant.ship(order_id)
    calls: list[MeteredCall] = []
    first = extensiv.tenant.orders[ids[0]]
    state = {CURSOR: first.created.strftime("%Y-%m-%dT%H:%M:%S"), CURSOR_AT: 0}
    settings = get_platform("warehouse", "extensiv").clean(
        warehouse_settings(extensiv, poll_overlap_seconds=0))
    adapter = ExtensivWarehouse(settings, AdapterContext(meter=calls.append, state=state))

    [document] = list(adapter.fetch_shipments())
    adapter.acknowledge(document)
    polls = [c for c in calls if c.endpoint == "GET /orders"]
    quiet = list(adapter.fetch_shipments())
    adapter.close()

    assert len(document.shipments) == 1001
    assert len({s.order_number for s in document.shipments}) == 1001
    assert all(s.lines[0].line_number == 1 and s.tracking_number for s in document.shipments)
    assert len(polls) == 3
    assert len([c for c in calls if c.endpoint == "GET /orders"]) == 4  # the quiet poll: 1
    assert quiet == [] or quiet[0].duplicate


def test_the_overlap_is_read_again_until_it_settles_then_a_quiet_poll_is_one_request(extensiv):
    ids = _create(extensiv, 3)
    calls: list[MeteredCall] = []
    first = extensiv.tenant.orders[ids[0]]
    state = {CURSOR: first.created.strftime("%Y-%m-%dT%H:%M:%S"), CURSOR_AT: 0}
    settings = get_platform("warehouse", "extensiv").clean(
        warehouse_settings(extensiv, poll_overlap_seconds=600))
    adapter = ExtensivWarehouse(settings, AdapterContext(meter=calls.append, state=state))
    extensiv.sandbox.clock.advance(60)
    extensiv.tenant.ship(ids[0])

    [shipped] = list(adapter.fetch_shipments())  # the window: 600 s before the cursor
    adapter.acknowledge(shipped)
    state[CURSOR_AT] = 0  # as if the overlap had passed since the cursor moved
    [again] = list(adapter.fetch_shipments())  # the settling read: the same order again
    adapter.acknowledge(again)
    settled = dict(state)
    before = len(calls)
    quiet = list(adapter.fetch_shipments())
    adapter.close()

    assert len(shipped.shipments) == 1
    assert again.event_id == shipped.event_id  # so the hub takes it as a duplicate
    assert settled["orders_window_swept"] is True
    assert len(calls) - before == 1 and quiet == []
    assert "lastModifiedDate=gt=" in _last_rql(extensiv)


def _last_rql(wms) -> str:
    from urllib.parse import parse_qs, unquote

    entry = [e for e in wms.sandbox.requests.entries() if e["endpoint"] == "GET /orders"][-1]
    return unquote(parse_qs(entry["query"])["rql"][0])

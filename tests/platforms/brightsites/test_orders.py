"""Listing and reading orders against the Bright Sites sandbox over HTTP: paging cost, paging
while the store changes, retries and their metering."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from dropstream.platforms.errors import BadResponse, RemoteServerError
from tests.platforms.brightsites.helpers import make_adapter


@pytest.fixture
def adapter(bs_store):
    adapter, meter = make_adapter(bs_store)
    adapter.meter = meter
    yield adapter
    adapter.close()


def listed_ids(adapter, **filters) -> list[str]:
    return [s.external_id for s in adapter.list_orders(updated_since=None, **filters)]


def test_listing_1234_matching_orders_costs_exactly_three_list_requests(bs_store, adapter):
    paid = bs_store.control.create_orders(1234, status="paid")
    bs_store.control.create_orders(7, status="new")
    bs_store.control.reset_meter()

    ids = listed_ids(adapter, status="paid")

    assert sorted(ids) == sorted(str(i) for i in paid)
    assert len(ids) == len(set(ids)) == 1234
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders": 3}
    assert [(c.endpoint, c.status, c.attempt) for c in adapter.meter] == [("GET /orders", 200, 1)] * 3


def test_an_order_created_while_paging_is_listed_once_and_none_is_lost(bs_store, adapter):
    paid = bs_store.control.create_orders(1234, status="paid")
    bs_store.control.add_hook("GET /orders", 1, create_orders={"count": 1, "status": "paid"})
    bs_store.control.reset_meter()

    ids = listed_ids(adapter, status="paid")

    created = bs_store.control.hooks()["fired"][0]["order_ids"]
    assert len(created) == 1
    # Page 2 began with the last row of page 1 again (the new order pushed it down); the
    # duplicate is dropped, and page 1 is read once more to pick up the new order.
    assert sorted(ids) == sorted(str(i) for i in [*paid, *created])
    assert len(ids) == len(set(ids)) == 1235
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders": 4}


def test_an_order_leaving_the_filter_while_paging_does_not_make_another_one_skipped(bs_store,
                                                                                   adapter):
    paid = bs_store.control.create_orders(1234, status="paid")
    newest = max(paid)
    # After page 1 the newest order leaves "paid": every later row slides up one place, so the
    # first row of page 2 moves onto page 1, which was already read.
    bs_store.control.add_hook("GET /orders", 1,
                              update_order={"order_id": newest, "status": "in_progress"})
    bs_store.control.reset_meter()

    ids = listed_ids(adapter, status="paid")

    assert sorted(ids) == sorted(str(i) for i in paid)
    assert len(ids) == len(set(ids))
    # Pages 1, 2, page 1 again (page 2 did not reach back and the total changed), then page 3;
    # page 2 is not read again because the total was the same as on the re-read page 1.
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders": 4}


def test_only_orders_updated_since_the_cursor_are_listed(bs_store, adapter):
    bs_store.control.create_orders(2, status="paid")
    bs_store.control.clock(advance_seconds=3600)
    [recent] = bs_store.control.create_orders(1, status="paid")
    updated = datetime.fromisoformat(
        bs_store.control.get_order(recent)["updated_at"].replace("Z", "+00:00"))

    ids = [s.external_id for s in adapter.list_orders(
        updated_since=updated - timedelta(minutes=5), status="paid")]

    assert ids == [str(recent)]


def test_get_order_retries_injected_500s_and_meters_every_attempt(bs_store, adapter):
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults([{"endpoint": "GET /orders/:id", "action": "status",
                                  "status": 500, "count": 2}])
    bs_store.control.reset_meter()

    order = adapter.get_order(str(order_id))

    assert order.external_id == str(order_id)
    assert [(c.endpoint, c.status, c.attempt) for c in adapter.meter] == [
        ("GET /orders/:id", 500, 1), ("GET /orders/:id", 500, 2), ("GET /orders/:id", 200, 3)]
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders/:id": 3}


def test_get_order_retries_a_timeout_and_meters_the_attempt_without_a_status(bs_store):
    adapter, meter = make_adapter(bs_store, read_timeout=0.3)
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults([{"endpoint": "GET /orders/:id", "action": "timeout",
                                  "delay_ms": 1500, "count": 1}])

    order = adapter.get_order(str(order_id))
    adapter.close()

    assert order.external_id == str(order_id)
    assert [(c.status, c.attempt) for c in meter] == [(None, 1), (200, 2)]
    assert "ReadTimeout" in meter[0].error
    assert meter[0].duration_ms >= 250


def test_a_429_with_retry_after_is_honoured_and_both_attempts_are_metered(bs_store, adapter):
    created = bs_store.control.create_orders(3, status="paid")
    bs_store.control.add_faults([{"endpoint": "GET /orders", "action": "status", "status": 429,
                                  "retry_after": 1, "count": 1}])
    bs_store.control.reset_meter()

    started = time.monotonic()
    ids = listed_ids(adapter, status="paid")
    waited = time.monotonic() - started

    assert sorted(ids) == sorted(str(i) for i in created)
    assert waited >= 1.0
    assert [(c.status, c.attempt) for c in adapter.meter] == [(429, 1), (200, 2)]
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders": 2}


def test_it_gives_up_after_five_attempts_with_a_plain_server_error(bs_store, adapter):
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults([{"endpoint": "GET /orders/:id", "action": "status",
                                  "status": 503, "count": 50}])

    with pytest.raises(RemoteServerError) as caught:
        adapter.get_order(str(order_id))

    assert str(caught.value) == ("Bright Sites store 'acme' had a server error (HTTP 503) on "
                                 "GET /orders/:id (gave up after 5 attempts)")
    assert [c.attempt for c in adapter.meter] == [1, 2, 3, 4, 5]
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders/:id": 5}


def test_malformed_json_is_a_bad_response_with_a_plain_message_and_no_retry(bs_store, adapter):
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults([{"endpoint": "GET /orders/:id", "action": "malformed",
                                  "count": 1}])

    with pytest.raises(BadResponse) as caught:
        adapter.get_order(str(order_id))

    assert "answered GET /orders/:id with a body that is not JSON" in str(caught.value)
    assert len(adapter.meter) == 1


def test_a_pushed_order_is_mapped_with_zero_requests(bs_store, adapter):
    [order_id] = bs_store.control.create_orders(1)
    payload = bs_store.control.get_order(order_id)
    bs_store.control.reset_meter()

    order = adapter.order_from_payload({"order": payload})

    assert order.external_id == str(order_id)
    assert adapter.meter == []
    assert bs_store.control.meter()["total"] == 0

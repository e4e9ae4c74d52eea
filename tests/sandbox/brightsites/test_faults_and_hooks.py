"""Fault injection (§5.5, §12 #25) and request hooks."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from dropstream.sandbox.brightsites.control import SandboxControlError
from tests.fixtures.brightsites import BsStore
from tests.sandbox.brightsites.conftest import plain_client


def test_a_status_fault_fires_count_times_then_the_store_answers(bs_store: BsStore,
                                                                 api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults([{"endpoint": "GET /orders/:id", "action": "status",
                                  "status": 503, "count": 2}])

    statuses = [api.get(f"/orders/{order_id}").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert bs_store.control.meter()["by_endpoint"] == {"GET /orders/:id": 3}
    assert bs_store.control.faults() == []


def test_a_429_fault_carries_retry_after(bs_store: BsStore, api: httpx.Client) -> None:
    bs_store.control.add_faults({"endpoint": "GET /orders", "action": "status", "status": 429,
                                 "count": 1})
    bs_store.control.add_faults({"endpoint": "GET /orders", "action": "status", "status": 429,
                                 "retry_after": 7, "count": 1})

    first, second = api.get("/orders"), api.get("/orders")

    assert (first.status_code, first.headers["retry-after"]) == (429, "1")
    assert (second.status_code, second.headers["retry-after"]) == (429, "7")


def test_a_status_fault_before_the_write_does_not_apply_it(bs_store: BsStore,
                                                           api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults({"endpoint": "PUT /orders/:id", "action": "status",
                                 "status": 500, "count": 1})

    response = api.put(f"/orders/{order_id}", json={"order": {"status": "shipped"}})

    assert response.status_code == 500
    assert bs_store.control.get_order(order_id)["status"] == "paid"


def test_a_status_fault_after_the_write_applies_it(bs_store: BsStore, api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults({"endpoint": "PUT /orders/:id", "action": "status",
                                 "status": 502, "count": 1, "after_write": True})

    response = api.put(f"/orders/{order_id}", json={"order": {"status": "shipped"}})

    assert response.status_code == 502
    assert bs_store.control.get_order(order_id)["status"] == "shipped"


def test_a_timeout_fault_outlasts_the_client_but_performs_the_write(bs_store: BsStore) -> None:
    [order_id] = bs_store.control.create_orders(1)
    line_id = bs_store.control.get_order(order_id)["line_items"][0]["id"]
    bs_store.control.add_faults({"endpoint": "POST /orders/:id/shipments", "action": "timeout",
                                 "delay_ms": 1500, "count": 1})

    with plain_client(bs_store.api_url, timeout=0.3,
                      headers={"X-API-TOKEN": bs_store.read_write_token}) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(f"/orders/{order_id}/shipments", json={"shipment": {
                "tracking_number": "1ZTIMEOUT", "line_items": [{"id": line_id, "quantity": 1}]}})

    shipments = bs_store.control.get_order(order_id)["shipments"]
    assert [s["tracking_number"] for s in shipments] == ["1ZTIMEOUT"]


def test_a_lost_response_performs_the_request_then_closes(bs_store: BsStore,
                                                          api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    line_id = bs_store.control.get_order(order_id)["line_items"][0]["id"]
    bs_store.control.add_faults({"endpoint": "POST /orders/:id/shipments",
                                 "action": "lose_response", "count": 1})

    with pytest.raises(httpx.RemoteProtocolError):
        api.post(f"/orders/{order_id}/shipments", json={"shipment": {
            "tracking_number": "1ZLOST", "line_items": [{"id": line_id, "quantity": 1}]}})
    listed = api.get(f"/orders/{order_id}/shipments")

    assert [s["tracking_number"] for s in listed.json()["shipments"]] == ["1ZLOST"]
    assert bs_store.control.meter()["by_status"] == {"no_response": 1, "200": 1}


def test_a_malformed_fault_answers_200_with_broken_json(bs_store: BsStore,
                                                        api: httpx.Client) -> None:
    bs_store.control.create_orders(2)
    bs_store.control.add_faults({"endpoint": "GET /orders", "action": "malformed", "count": 1})

    response = api.get("/orders")

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert api.get("/orders").json()["meta"]["total"] == 2


def test_a_latency_fault_delays_the_answer(bs_store: BsStore, api: httpx.Client) -> None:
    bs_store.control.add_faults({"endpoint": "*", "action": "latency", "delay_ms": 300,
                                 "count": 1})

    started = time.monotonic()
    slow = api.get("/shipping_methods")
    slow_seconds = time.monotonic() - started
    started = time.monotonic()
    api.get("/shipping_methods")
    fast_seconds = time.monotonic() - started

    assert slow.status_code == 200
    assert slow_seconds >= 0.3 > fast_seconds


def test_a_fault_can_target_one_order(bs_store: BsStore, api: httpx.Client) -> None:
    first, second = bs_store.control.create_orders(2)
    bs_store.control.add_faults({"endpoint": "GET /orders/:id", "action": "status",
                                 "status": 500, "order_id": second})

    assert api.get(f"/orders/{first}").status_code == 200
    assert [api.get(f"/orders/{second}").status_code for _ in range(3)] == [500, 500, 500]
    bs_store.control.clear_faults()
    assert api.get(f"/orders/{second}").status_code == 200


def test_a_fault_with_probability_zero_never_fires(bs_store: BsStore, api: httpx.Client) -> None:
    bs_store.control.add_faults({"endpoint": "*", "action": "status", "probability": 0})

    assert {api.get("/shipping_methods").status_code for _ in range(20)} == {200}


def test_faults_count_in_the_meter_even_when_refused_by_auth(bs_store: BsStore,
                                                             anon: httpx.Client) -> None:
    bs_store.control.add_faults({"endpoint": "GET /orders", "action": "status", "status": 500,
                                 "count": 1})

    anon.get("/orders")
    anon.get("/orders")

    assert bs_store.control.meter()["by_status"] == {"500": 1, "401": 1}


def test_a_bad_fault_rule_is_refused_with_the_reason(bs_store: BsStore) -> None:
    with pytest.raises(SandboxControlError, match="action must be one of"):
        bs_store.control.add_faults({"action": "explode"})


def test_a_hook_inserts_an_order_after_the_first_page(bs_store: BsStore,
                                                      api: httpx.Client) -> None:
    ids = bs_store.control.create_orders(5)
    bs_store.control.add_hook("GET /orders", nth=1, create_orders={"count": 1, "status": "paid"})

    first = api.get("/orders", params={"per_page": 3, "page": 1}).json()
    second = api.get("/orders", params={"per_page": 3, "page": 2}).json()

    [new_id] = bs_store.control.hooks()["fired"][0]["order_ids"]
    assert first["meta"]["total"] == 5 and second["meta"]["total"] == 6
    assert [r["order_id"] for r in first["orders"]] == ids[:1:-1]
    # The newcomer is first in the list, so the old third row shifts onto page 2.
    assert [r["order_id"] for r in second["orders"]] == [ids[2], ids[1], ids[0]]
    assert new_id > max(ids)


def test_a_hook_can_edit_an_order_after_the_nth_request(bs_store: BsStore,
                                                        api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_hook("GET /orders/:id", nth=2,
                              update_order={"order_id": order_id, "status": "canceled"})

    statuses = [api.get(f"/orders/{order_id}").json()["status"] for _ in range(3)]

    assert statuses == ["paid", "paid", "canceled"]
    assert bs_store.control.hooks()["pending"] == 0

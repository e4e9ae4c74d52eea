"""Tokens (§2) and the request meter (§11, §12 #24)."""

from __future__ import annotations

import httpx

from tests.fixtures.brightsites import BsStore
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret

INVALID = {"errors": {"token": ["is invalid"]}}
READ_ONLY = {"errors": {"token": ["has read-only access"]}}


def test_the_token_is_accepted_in_the_header_or_the_query(bs_store: BsStore,
                                                          anon: httpx.Client) -> None:
    header = anon.get("/orders", headers={"X-API-TOKEN": bs_store.read_write_token})
    query = anon.get("/orders", params={"token": bs_store.read_only_token})

    assert header.status_code == 200
    assert query.status_code == 200


def test_a_missing_or_wrong_token_answers_401(bs_store: BsStore, anon: httpx.Client) -> None:
    missing = anon.get("/orders")
    wrong = anon.get("/orders", headers={"X-API-TOKEN": make_secret()})

    assert (missing.status_code, missing.json()) == (401, INVALID)
    assert (wrong.status_code, wrong.json()) == (401, INVALID)


def test_the_header_wins_over_the_query(bs_store: BsStore, anon: httpx.Client) -> None:
    response = anon.get("/orders", params={"token": bs_store.read_write_token},
                        headers={"X-API-TOKEN": make_secret()})

    assert response.status_code == 401


def test_a_read_only_token_reads_but_every_write_answers_403(bs_store: BsStore,
                                                             anon: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    before = bs_store.control.get_order(order_id)
    headers = {"X-API-TOKEN": bs_store.read_only_token}

    read = anon.get(f"/orders/{order_id}", headers=headers)
    writes = [
        anon.put(f"/orders/{order_id}", headers=headers, json={"order": {"status": "shipped"}}),
        anon.patch(f"/orders/{order_id}/cancel", headers=headers),
        anon.post(f"/orders/{order_id}/shipments", headers=headers,
                  json={"shipment": {"line_items": []}}),
        anon.put("/inventories/1/batch_update", headers=headers, json={"inventories": []}),
    ]

    assert read.status_code == 200
    assert [(w.status_code, w.json()) for w in writes] == [(403, READ_ONLY)] * 4
    assert bs_store.control.get_order(order_id) == before


def test_an_expired_token_answers_401(bs_store: BsStore, anon: httpx.Client) -> None:
    token = make_secret()
    bs_store.control.add_token(token, "read_write", expires_at="2020-01-01T00:00:00Z")

    response = anon.get("/orders", headers={"X-API-TOKEN": token})

    assert response.status_code == 401


def test_the_meter_counts_every_request_by_template_and_masked_token(
        bs_store: BsStore, anon: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1)
    rw = {"X-API-TOKEN": bs_store.read_write_token}
    anon.get("/orders", headers=rw)
    anon.get(f"/orders/{order_id}", headers=rw)
    anon.get(f"/orders/{order_id}/shipments", headers=rw)
    anon.get("/orders/999999", headers=rw)
    anon.get("/orders", params={"token": bs_store.read_only_token})
    anon.get("/orders")
    anon.put(f"/orders/{order_id}", headers={"X-API-TOKEN": bs_store.read_only_token},
             json={"order": {}})

    meter = bs_store.control.meter()

    assert meter["total"] == 7
    assert meter["by_endpoint"] == {"GET /orders": 3, "GET /orders/:id": 2,
                                    "GET /orders/:id/shipments": 1, "PUT /orders/:id": 1}
    assert meter["by_token"] == {"••••" + bs_store.read_write_token[-4:]: 4,
                                 "••••" + bs_store.read_only_token[-4:]: 2, "(none)": 1}
    assert meter["by_status"] == {"200": 4, "404": 1, "401": 1, "403": 1}
    assert SECRET_MARKER not in str(meter)


def test_control_requests_are_not_metered_and_the_meter_resets(bs_store: BsStore,
                                                               api: httpx.Client) -> None:
    bs_store.control.create_orders(2)
    bs_store.control.state()
    api.get("/shipping_methods")

    first = bs_store.control.meter()
    bs_store.control.reset_meter()

    assert first["total"] == 1
    assert first["by_endpoint"] == {"GET /shipping_methods": 1}
    assert bs_store.control.meter()["total"] == 0


def test_stores_are_isolated_by_token_and_meter(bs_store: BsStore, anon: httpx.Client) -> None:
    sandbox = bs_store.sandbox
    other_rw, other_ro = make_secret("rw"), make_secret("ro")
    sandbox.add_store("globex", read_write_token=other_rw, read_only_token=other_ro, products=5)

    cross = anon.get(sandbox.api_url("globex") + "/orders",
                     headers={"X-API-TOKEN": bs_store.read_write_token})
    own = anon.get(sandbox.api_url("globex") + "/orders", headers={"X-API-TOKEN": other_rw})

    assert cross.status_code == 401
    assert own.status_code == 200
    assert bs_store.control.meter()["total"] == 0

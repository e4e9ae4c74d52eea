"""Fault injection (§11 #7, #18), rate budget (§8), meter (§11 #19), determinism (§11 #20)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from dropstream.sandbox.extensiv.server import ExtensivSandbox
from tests.sandbox.extensiv.conftest import ORDER_REL, Wms, order_body, plain_client


def found(api: httpx.Client, reference: str) -> list[int]:
    """The adapter's search-before-retry (§5.9)."""
    body = api.get("/orders", params={"rql": f"referenceNum=={reference};"
                                             "customerIdentifier.id==143",
                                      "detail": "None"}).json()
    return [o["readOnly"]["orderId"] for o in body["_embedded"][ORDER_REL]]


def test_a_lost_response_after_commit_drops_the_connection_but_creates_the_order(
        wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="POST /orders", action="lose_response")

    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/orders", json=order_body("BS-LOST"))

    assert len(found(api, "BS-LOST")) == 1  # the order WAS created
    retry = api.post("/orders", json=order_body("BS-LOST"))
    assert retry.json()["ErrorCode"] == "Duplicate"
    assert wms.sandbox.meter.snapshot()["by_endpoint_status"]["POST /orders"] == {
        "no_response": 1, "400": 1}


def test_a_lost_request_before_commit_creates_nothing(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="POST /orders", action="lose_response", after_write=False)

    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/orders", json=order_body("BS-NEVER"))

    assert found(api, "BS-NEVER") == []


def test_a_lost_cancel_answer_still_cancels(wms: Wms, api: httpx.Client) -> None:
    order_id = wms.create(api, "BS-LC")["readOnly"]["orderId"]
    etag = api.get(f"/orders/{order_id}").headers["etag"]
    wms.sandbox.add_fault(endpoint="POST /orders/:id/canceler", action="lose_response")

    with pytest.raises(httpx.RemoteProtocolError):
        api.post(f"/orders/{order_id}/canceler", json={"reason": "x"},
                 headers={"If-Match": etag})

    assert api.get(f"/orders/{order_id}").json()["readOnly"]["status"] == 2


def test_a_502_after_commit_and_a_503_before_it(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="POST /orders", action="status", status=502,
                          after_write=True)
    wms.sandbox.add_fault(endpoint="POST /orders", action="status", status=503)

    committed = api.post("/orders", json=order_body("BS-502"))
    refused = api.post("/orders", json=order_body("BS-503"))

    assert (committed.status_code, committed.text, committed.headers["content-type"]) == (
        502, "Bad Gateway", "text/plain; charset=utf-8")
    assert (refused.status_code, refused.text) == (503, "Service Unavailable")
    assert (len(found(api, "BS-502")), found(api, "BS-503")) == (1, [])


def test_a_500_has_a_plain_text_body(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="GET /orders/:id", action="status", status=500)

    response = api.get("/orders/5")

    assert (response.status_code, response.text, response.headers["content-type"]) == (
        500, "An error has occurred.", "text/plain; charset=utf-8")


def test_429_carries_retry_after(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="GET /orders", action="status", status=429)
    wms.sandbox.add_fault(endpoint="GET /orders", action="status", status=429, retry_after=7)

    first, second, third = (api.get("/orders") for _ in range(3))

    assert (first.status_code, first.headers["retry-after"], first.content) == (429, "1", b"")
    assert (second.status_code, second.headers["retry-after"]) == (429, "7")
    assert third.status_code == 200


def test_latency_delays_the_answer(wms: Wms, api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="GET /inventory/stocksummaries", action="latency",
                          delay_ms=300)

    started = time.monotonic()
    response = api.get("/inventory/stocksummaries")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_token_expiry_on_demand_gives_401_until_the_client_renews(wms: Wms,
                                                                  api: httpx.Client) -> None:
    wms.sandbox.add_fault(endpoint="*", action="expire_token")

    expired = api.get("/orders")
    still = api.get("/orders")
    with wms.client() as renewed:
        fresh = renewed.get("/orders")

    assert (expired.status_code, still.status_code, fresh.status_code) == (401, 401, 200)


def test_rules_over_the_control_api_count_down_and_clear(wms: Wms, api: httpx.Client,
                                                         control: httpx.Client) -> None:
    added = control.post("faults", json=[
        {"endpoint": "GET /orders", "action": "status", "status": 503, "count": 2},
        {"endpoint": "GET /orders/:id", "action": "status", "status": 500, "count": None}])
    statuses = [api.get("/orders").status_code for _ in range(3)]
    pending = control.get("faults").json()["rules"]
    bad = control.post("faults", json={"action": "explode"})
    cleared = control.delete("faults")

    assert (added.status_code, added.json()) == (201, {"rules": 2})
    assert statuses == [503, 503, 200]
    assert [(r["endpoint"], r["count"], r["fired"]) for r in pending] == [
        ("GET /orders/:id", None, 0)]
    assert bad.status_code == 400
    assert "action must be one of" in bad.json()["error"]
    assert (cleared.json(), api.get("/orders/9").status_code) == ({"rules": []}, 404)


def test_a_request_budget_answers_429_until_the_next_minute(wms: Wms,
                                                            api: httpx.Client) -> None:
    wms.sandbox.settings.update(requests_per_minute=2, rate_limit_retry_after=30)

    statuses = [api.get("/orders").status_code for _ in range(3)]
    limited = api.get("/orders")
    wms.sandbox.clock.advance(60)
    later = api.get("/orders")

    assert statuses == [200, 200, 429]
    assert (limited.headers["retry-after"], later.status_code) == ("30", 200)


def test_the_meter_counts_endpoints_methods_statuses_and_bytes(wms: Wms,
                                                              control: httpx.Client) -> None:
    wms.sandbox.meter.reset()
    with plain_client(wms.sandbox.base_url) as anonymous:
        token = anonymous.post("/AuthServer/api/Token", auth=(wms.client_id, wms.client_secret),
                               json={"grant_type": "client_credentials",
                                     "user_login": "hub-integration"})
        assert anonymous.get("/orders").status_code == 401
    with wms.client(token=token.json()["access_token"]) as api:
        created = api.post("/orders", json=order_body("BS-M"))
        order_id = created.json()["readOnly"]["orderId"]
        read = api.get(f"/orders/{order_id}")
        missing = api.get("/orders/1")
        bad = api.get("/orders", params={"rql": "gorp==1"})
    control.get("meter")  # control requests are never metered

    snapshot = control.get("meter").json()
    sizes = [len(r.content) for r in (token, created, read, missing, bad)]
    assert snapshot == wms.sandbox.meter.snapshot()
    assert snapshot["total"] == 6
    assert snapshot["by_endpoint"] == {"POST /AuthServer/api/Token": 1, "GET /orders": 2,
                                       "POST /orders": 1, "GET /orders/:id": 2}
    assert snapshot["by_method"] == {"POST": 2, "GET": 4}
    assert snapshot["by_status"] == {"200": 2, "201": 1, "404": 1, "400": 1, "401": 1}
    assert snapshot["by_endpoint_status"] == {
        "POST /AuthServer/api/Token": {"200": 1}, "POST /orders": {"201": 1},
        "GET /orders/:id": {"200": 1, "404": 1}, "GET /orders": {"401": 1, "400": 1}}
    assert snapshot["by_client"] == {
        "hub-acme": {"requests": 5, "response_bytes": sum(sizes)},
        "(anonymous)": {"requests": 1, "response_bytes": 0}}
    assert snapshot["response_bytes"] == sum(sizes)
    assert wms.sandbox.meter.count("GET /orders/:id", 404) == 1
    assert control.delete("meter").json()["total"] == 0


def test_the_request_log_and_meter_never_hold_a_secret_or_token(wms: Wms,
                                                                control: httpx.Client) -> None:
    token = wms.token()
    with wms.client(token=token) as api:
        api.get("/orders")
    with plain_client(wms.sandbox.base_url) as client:
        client.post("/AuthServer/api/Token", auth=(wms.client_id, "wrong"), json={})

    entries = control.get("requests").json()["requests"]
    dumped = json.dumps([entries, control.get("meter").json(),
                         control.get("tenants/acme").json(), control.get("").json()])
    assert [(e["endpoint"], e["status"], e["client_id"]) for e in entries] == [
        ("POST /AuthServer/api/Token", 200, "hub-acme"), ("GET /orders", 200, "hub-acme"),
        ("POST /AuthServer/api/Token", 401, "hub-acme")]
    assert wms.client_secret not in dumped and token not in dumped
    assert "wrong" not in dumped


def test_ids_and_tracking_numbers_follow_the_seed(wms: Wms) -> None:
    def run(seed: int) -> tuple[int, int, int, str]:
        with ExtensivSandbox(seed=seed) as sandbox:
            tenant = sandbox.add_tenant("t", client_id="c", client_secret="s")
            tenant.add_customer(1)
            tenant.add_facility(2)
            tenant.add_sku(1, "A", stock={2: 5})
            order = tenant.create_order({"customerIdentifier": {"id": 1},
                                         "facilityIdentifier": {"id": 2},
                                         "referenceNum": "R", "shipTo": {},
                                         "orderItems": [{"itemIdentifier": {"sku": "A"},
                                                         "qty": 1}]}, {"name": "u", "id": 1})
            tenant.ship(order.order_id)
            package = order.packages[0]
            return (order.order_id, order.items[0].order_item_id, package.package_id,
                    package.tracking_number)

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_the_clock_and_settings_are_driven_over_the_control_api(
        wms: Wms, api: httpx.Client, control: httpx.Client) -> None:
    moved = control.post("clock", json={"set": "2026-04-01T08:00:00Z", "frozen": True,
                                        "advance_seconds": 30})
    expired = api.get("/orders")  # a month later the fixture's token is long expired
    with wms.client() as fresh:
        order = wms.create(fresh, "BS-CLOCK")
    settings = control.put("settings", json={"duplicate_reference": "allow"})
    bad = control.put("settings", json={"duplicate_reference": "sometimes"})
    unknown = control.put("settings", json={"nope": 1})

    assert moved.json() == {"now": "2026-04-01T08:00:30Z", "frozen": True}
    assert expired.status_code == 401
    assert order["readOnly"]["creationDate"] == "2026-04-01T08:00:30"
    assert settings.json()["duplicate_reference"] == "allow"
    assert (bad.status_code, bad.json()) == (400, {
        "error": "duplicate_reference must be one of reject, allow"})
    assert unknown.json() == {"error": "unknown setting 'nope'"}


def test_a_tenant_can_be_set_up_over_the_control_api(wms: Wms, control: httpx.Client) -> None:
    steps = [
        control.post("tenants", json={"name": "globex", "client_id": "gx",
                                      "client_secret": "gx-secret", "user_login": "gx-user",
                                      "user_login_id": 9}),
        control.post("tenants/globex/customers", json={"id": 7, "name": "Globex"}),
        control.post("tenants/globex/facilities", json={"id": 3, "name": "DAL-1",
                                                        "time_zone": "Central Standard Time"}),
        control.post("tenants/globex/skus", json={"customer_id": 7, "sku": "WIDGET",
                                                  "item_id": 77, "stock": {"3": 4}}),
    ]
    with plain_client(wms.sandbox.base_url) as client:
        token = client.post("/AuthServer/api/Token", auth=("gx", "gx-secret"), json={
            "grant_type": "client_credentials", "user_login": "gx-user"}).json()["access_token"]
    with wms.client(token=token) as globex:
        stock = globex.get("/inventory/stocksummaries").json()
        acme_orders = globex.get("/orders").json()["totalResults"]

    assert [s.status_code for s in steps] == [201, 201, 201, 201]
    assert steps[3].json() == {"item_id": 77, "sku": "WIDGET", "customer_id": 7}
    assert [(r["facilityId"], r["itemIdentifier"], r["onHand"]) for r in stock["summaries"]] \
        == [(3, {"sku": "WIDGET", "id": 77}, 4.0)]
    assert acme_orders == 0
    described = control.get("tenants/globex").json()
    assert described["credentials"] == [{"client_id": "gx", "user_login": "gx-user",
                                         "user_login_id": 9, "roles": sorted(
                                             described["credentials"][0]["roles"])}]
    assert "gx-secret" not in json.dumps(described)
    assert control.post("tenants", json={"name": "globex", "client_id": "x",
                                         "client_secret": "y"}).status_code == 400

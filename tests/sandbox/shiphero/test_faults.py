"""Injected API faults (spec §13 #7, #17): a lost answer after commit, 5xx before or after the
write, latency; every request is metered, faulted ones included."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.shiphero.conftest import CREATE, World, order_input

COUNT = '{ orders(partner_order_id: "hub-1") { data(first: 2) { edges { node { id } } } } }'


def found(world: World) -> int:
    return len(world.gql(COUNT)["data"]["orders"]["data"]["edges"])


def test_a_lost_answer_after_commit_still_created_the_order(world: World) -> None:
    world.token()
    world.sim.add_faults({"operation": "order_create", "action": "lose_answer"})

    with pytest.raises(httpx.RemoteProtocolError):
        world.post(CREATE, {"data": order_input("hub-1", [("TENT-4P-GRN", 1)])})

    assert found(world) == 1
    assert world.sim.meter_snapshot()["requests"]["by_status"] == {
        "200": 2, "no_response": 1}
    assert world.sim.faults.describe() == []


def test_a_502_before_the_write_and_one_after_it(world: World) -> None:
    world.sim.add_faults([{"operation": "CreateOrder", "action": "status", "status": 502},
                          {"operation": "order_create", "action": "status", "status": 503,
                           "after_commit": True}])

    before = world.post(CREATE, {"data": order_input("hub-1", [("TENT-4P-GRN", 1)])})
    count_after_before = found(world)
    after = world.post(CREATE, {"data": order_input("hub-1", [("TENT-4P-GRN", 1)])})

    assert (before.status_code, before.headers["content-type"]) == (502, "text/html")
    assert "502 Bad Gateway" in before.text
    assert count_after_before == 0
    assert after.status_code == 503
    assert found(world) == 1


def test_latency(world: World) -> None:
    world.token()
    world.control("POST", "/faults", {"operation": "user_quota", "action": "latency",
                                      "delay_ms": 300, "count": 2})

    started = time.monotonic()
    response = world.post("{ user_quota { max_available } }")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.3
    assert world.control("GET", "/faults").json()["rules"][0]["count"] == 1


def test_a_fault_on_the_refresh_endpoint(world: World) -> None:
    world.sim.add_faults({"operation": "auth/refresh", "action": "status", "status": 500})

    assert world.refresh().status_code == 500
    assert world.refresh().status_code == 200


def test_a_bad_fault_rule_is_refused(world: World) -> None:
    answer = world.control("POST", "/faults", {"action": "explode"})

    assert answer.status_code == 400
    assert answer.json() == {"error": "action must be one of lose_answer, status, latency"}

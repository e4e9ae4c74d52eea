"""Credits and complexity (spec §8): cost in the answer, bucket drain, the code-30 answer with
the time to wait, restore over simulated time, analyze, the per-operation maximum."""

from __future__ import annotations

from tests.sandbox.shiphero.conftest import CREATE, World, order_input

# 1 + 100 × (1 + 10 × 1) = 1101 credits.
HEAVY = """query Heavy { orders { complexity data(first: 100) { edges { node { id
  line_items(first: 10) { edges { node { id } } } } } } } }"""

SPEC_SHIPMENTS = """
query ShipmentsSince($from: ISODateTime!, $to: ISODateTime!, $after: String) {
  shipments(date_from: $from, date_to: $to) {
    request_id complexity
    data(first: 50, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node {
        id legacy_id order_id warehouse_id created_date shipped_off_shiphero dropshipment completed
        order { id order_number partner_order_id }
        line_items(first: 50) { edges { node { line_item_id quantity line_item {
          sku partner_line_item_id } } } }
        shipping_labels { id tracking_number carrier shipping_name shipping_method cost status
                          created_date dimensions { weight length width height } }
      } }
    }
  }
}"""


def test_the_cost_is_reported_in_the_wrapper_and_the_extensions(world: World) -> None:
    body = world.gql(HEAVY)
    spec = world.gql(SPEC_SHIPMENTS, {"from": "2026-03-01", "to": "2026-03-07"})

    assert body["data"]["orders"]["complexity"] == 1101
    assert body["extensions"]["throttling"] == {
        "complexity": 1101, "charged": 1101, "credits_remaining": 2903,
        "max_available": 4004, "increment_rate": 60.0}
    assert spec["data"]["shipments"]["complexity"] == 2601  # 1 + 50 × (1 + 50 + 1)


def test_the_bucket_drains_throttles_with_the_wait_and_restores_over_time(
        world: World) -> None:
    for _ in range(3):
        assert world.gql(HEAVY)["data"]["orders"]["complexity"] == 1101
    assert world.sim.credits(world.brand)["credits_remaining"] == 701

    throttled = world.gql(HEAVY)

    assert throttled == {"data": {"orders": None}, "errors": [{
        "code": 30,
        "message": "There are not enough credits to perform the requested operation, which "
                   "requires 1101 credits. Try again in 7 seconds",
        "operation": "orders", "request_id": throttled["errors"][0]["request_id"],
        "required_credits": 1101, "remaining_credits": 701, "time_remaining": "7 seconds",
        "extensions": {"code": 30, "required_credits": 1101, "remaining_credits": 701,
                       "time_remaining": "7 seconds"}}]}
    world.sim.clock.advance(6)  # 701 + 360 = 1061 < 1101
    again = world.gql(HEAVY)["errors"][0]
    assert (again["remaining_credits"], again["time_remaining"]) == (1061, "1 seconds")
    world.sim.clock.advance(1)
    assert world.gql(HEAVY)["data"]["orders"]["complexity"] == 1101
    assert world.sim.credits(world.brand)["credits_remaining"] == 20
    world.sim.clock.advance(3600)
    assert world.sim.credits(world.brand)["credits_remaining"] == 4004


def test_a_throttled_mutation_does_not_run(world: World) -> None:
    world.sim.set_credits(world.brand, 9)

    body = world.gql(CREATE, {"data": order_input("hub-1", [("TENT-4P-GRN", 1)])})

    assert body["data"] == {"order_create": None}
    assert body["errors"][0]["required_credits"] == 10
    assert body["errors"][0]["time_remaining"] == "1 seconds"
    assert world.sim.orders(world.brand) == []


def test_the_throttle_can_answer_429_with_retry_after(world: World) -> None:
    world.sim.configure(throttle_http_status=429)
    world.sim.set_credits(world.brand, 0)

    response = world.post(HEAVY)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "19"  # ceil(1101 / 60)
    assert response.json()["errors"][0]["code"] == 30


def test_analyze_reports_the_complexity_without_spending(world: World) -> None:
    body = world.gql('{ orders(analyze: true) { complexity data(first: 50) { edges '
                     '{ node { id } } } } }')

    assert body["data"] == {"orders": {"complexity": 51, "data": None}}
    assert world.sim.credits(world.brand)["credits_remaining"] == 4004


def test_an_operation_over_the_maximum_fails_for_good(world: World) -> None:
    body = world.gql('{ orders { data(first: 100) { edges { node { line_items(first: 100) '
                     '{ edges { node { id } } } } } } } }')

    [error] = body["errors"]
    assert body["data"] == {"orders": None}
    assert (error["code"], error["required_credits"], error["max_credits"]) == (30, 10101, 4004)
    assert "time_remaining" not in error
    assert world.sim.credits(world.brand)["credits_remaining"] == 4004


def test_the_older_1001_credit_profile(world: World) -> None:
    world.sim.configure(credit_profile="1001")
    world.sim.set_credits(world.brand, 1001)

    body = world.gql(HEAVY)
    quota = world.gql("{ user_quota { credits_remaining max_available increment_rate } }")

    assert body["errors"][0]["message"].startswith(
        "The operation requires 1101 credits, more than the maximum of 1001")
    assert quota["data"]["user_quota"] == {"credits_remaining": 1000, "max_available": 1001,
                                           "increment_rate": 15}


def test_charging_only_what_was_returned(world: World) -> None:
    world.sim.configure(charge_mode="returned")
    world.create("hub-1", [("TENT-4P-GRN", 1), ("STOVE-01", 1)])
    world.create("hub-2", [("TENT-4P-GRN", 1)])

    body = world.gql(HEAVY)

    # 1 + (1 + 2) + (1 + 1): two orders with three lines between them.
    assert body["data"]["orders"]["complexity"] == 6
    assert body["extensions"]["throttling"]["complexity"] == 1101
    assert body["extensions"]["throttling"]["charged"] == 6
    assert world.sim.credits(world.brand)["credits_remaining"] == 4004 - 20 - 6


def test_the_credit_meter_counts_per_operation(world: World) -> None:
    world.create("hub-1", [("TENT-4P-GRN", 1)])
    world.gql(HEAVY)
    world.gql('{ orders(partner_order_id: "hub-1") { data(first: 2) { edges { node { id } } } } '
              'user_quota { credits_remaining } }')
    world.sim.set_credits(world.brand, 0)
    world.gql(HEAVY)

    meter = world.control("GET", "/meter").json()
    assert meter["credits"] == {"charged": 10 + 1101 + 4,
                                "by_operation": {"order_create": 10, "orders": 1101,
                                                 "orders+user_quota": 4},
                                "throttled_by_operation": {"orders": 1}}
    assert meter["requests"]["by_operation_name"] == {"CreateOrder": 1, "Heavy": 2}
    assert [(r["operation"], r["complexity"], r["charged"], r["outcome"])
            for r in meter["recent"][1:]] == [
        ("order_create", 10, 10, "ok"), ("orders", 1101, 1101, "ok"),
        ("orders+user_quota", 4, 4, "ok"), ("orders", 1101, 0, "throttled")]


def test_an_optional_request_cap(world: World) -> None:
    world.sim.configure(request_cap=2, request_cap_window_seconds=300)
    quota = "{ user_quota { credits_remaining } }"

    statuses = [world.post(quota).status_code for _ in range(3)]
    world.sim.clock.advance(300)

    assert statuses == [200, 200, 429]
    assert world.post(quota).status_code == 200


def test_a_throttled_request_runs_none_of_its_root_fields(world: World) -> None:
    world.sim.set_credits(world.brand, 15)
    query = """mutation Two($a: CreateOrderInput!, $b: CreateOrderInput!) {
      first: order_create(data: $a) { complexity }
      second: order_create(data: $b) { complexity } }"""

    body = world.gql(query, {"a": order_input("hub-1", [("TENT-4P-GRN", 1)]),
                             "b": order_input("hub-2", [("TENT-4P-GRN", 1)])})

    assert body["data"] == {"first": None, "second": None}
    assert [e["required_credits"] for e in body["errors"]] == [20]
    assert world.sim.orders(world.brand) == []

"""GraphQL failures are graphql-core's own (spec §9, §13 #1): HTTP 200, ``errors[]`` with a
``request_id``; resolver errors sit next to ``data.<field>: null``."""

from __future__ import annotations

from tests.sandbox.shiphero.conftest import CREATE, World, order_input


def test_a_syntax_error(world: World) -> None:
    body = world.gql("{ orders { data(first: 2) { edges { node { id } } }")

    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "Syntax Error: Expected Name, found <EOF>."
    assert error["locations"] == [{"line": 1, "column": 52}]
    assert len(error["request_id"]) == 24


def test_an_unknown_field_fails_validation(world: World) -> None:
    body = world.gql("{ orders { data(first: 2) { edges { node { id order_numbr } } } } }")

    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [
        "Cannot query field 'order_numbr' on type 'Order'. Did you mean 'order_number' or 'order_date'?"]


def test_a_wrong_argument_type_fails_validation(world: World) -> None:
    body = world.gql('{ orders { data(first: "ten") { edges { node { id } } } } }')

    assert body["data"] is None
    [error] = body["errors"]
    assert "Int cannot represent non-integer value: \"ten\"" in error["message"]


def test_an_unknown_argument_fails_validation(world: World) -> None:
    body = world.gql('{ orders(partner_id: "x") { request_id } }')

    assert body["errors"][0]["message"].startswith(
        "Unknown argument 'partner_id' on field 'Query.orders'.")


def test_a_line_without_partner_line_item_id_fails_input_coercion(world: World) -> None:
    data = order_input("hub-1", [("TENT-4P-GRN", 1)])
    del data["line_items"][0]["partner_line_item_id"]

    body = world.gql(CREATE, {"data": data})

    assert body["data"] is None
    assert "partner_line_item_id" in body["errors"][0]["message"]
    assert "required" in body["errors"][0]["message"]
    assert world.sim.orders(world.brand) == []


def test_a_float_quantity_and_a_numeric_price_fail_input_coercion(world: World) -> None:
    data = order_input("hub-1", [("TENT-4P-GRN", 1)])
    data["line_items"][0]["quantity"] = 1.5
    data["line_items"][0]["price"] = 10.0

    body = world.gql(CREATE, {"data": data})

    messages = " ".join(e["message"] for e in body["errors"])
    assert "Int cannot represent non-integer value: 1.5" in messages
    assert "String cannot represent a non string value: 10.0" in messages


def test_a_bad_iso_date_fails_input_coercion(world: World) -> None:
    body = world.gql('{ shipments(date_from: "yesterday") { request_id } }')

    assert body["data"] is None
    assert "ISODateTime" in body["errors"][0]["message"]
    assert "Invalid isoformat string: 'yesterday'" in body["errors"][0]["message"]


def test_request_errors_cost_no_credits(world: World) -> None:
    world.gql("{ nope }")
    world.gql('{ orders { data(first: "x") { edges { node { id } } } } }')

    assert world.sim.meter_snapshot()["credits"]["charged"] == 0
    assert world.sim.meter_snapshot()["requests"]["by_outcome"] == {"request_error": 2,
                                                                    "ok": 1}


def test_a_resolver_error_keeps_the_other_root_fields(world: World) -> None:
    body = world.gql('{ order(id: "T3JkZXI6MQ==") { request_id data { id } } '
                     'user_quota { max_available } }')

    assert body["data"] == {"order": None, "user_quota": {"max_available": 4004}}
    [error] = body["errors"]
    assert error["message"] == "Order 'T3JkZXI6MQ==' not found"
    assert (error["code"], error["operation"], error["path"]) == (5, "order", ["order"])
    assert len(error["request_id"]) == 24


def test_a_brand_token_must_not_send_customer_account_id(world: World) -> None:
    body = world.gql('{ orders(customer_account_id: "97016") { request_id } }')

    assert body["data"] == {"orders": None}
    assert (body["errors"][0]["message"], body["errors"][0]["code"]) == (
        "customer_account_id can only be used by a 3PL account", 9)


def test_a_body_that_is_not_json_is_a_400(world: World) -> None:
    response = world.http.post(world.sim.graphql_url, content=b"{nope",
                               headers={"Authorization": f"Bearer {world.token()}"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The request body is not valid JSON"


def test_several_operations_need_an_operation_name(world: World) -> None:
    query = "query A { user_quota { max_available } } query B { account { request_id } }"

    unnamed = world.gql(query)
    named = world.gql(query, operation_name="A")

    assert unnamed["errors"][0]["message"] == (
        "Must provide operation name if query contains multiple operations.")
    assert named["data"] == {"user_quota": {"max_available": 4004}}
    assert world.sim.meter_snapshot()["requests"]["by_operation_name"] == {"A": 1}


def test_validation_errors_can_answer_400(world: World) -> None:
    world.sim.configure(request_error_status=400)

    assert world.post("{ nope }").status_code == 400

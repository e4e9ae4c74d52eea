"""Relay paging (spec §7): ``first``/``after`` on the wrapper's ``data``, ``pageInfo``, opaque
cursors, independent nested ``line_items`` paging, and the ``first`` maximum."""

from __future__ import annotations

import base64

from tests.sandbox.shiphero.conftest import World

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String) {
  orders(shop_name: "brightsites-hub") {
    data(first: $first, after: $after, last: $last, before: $before) {
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { partner_order_id } }
    }
  }
}"""


def cursor(offset: int) -> str:
    return base64.b64encode(f"arrayconnection:{offset}".encode()).decode()


def page(world: World, **variables: object) -> dict:
    body = world.gql(PAGE, dict(variables))
    assert "errors" not in body, body
    return body["data"]["orders"]["data"]


def keys(data: dict) -> list[str]:
    return [edge["node"]["partner_order_id"] for edge in data["edges"]]


def test_forward_paging_walks_every_page_to_the_end(world: World) -> None:
    for n in range(5):
        world.create(f"hub-{n}", [("TENT-4P-GRN", 1)])

    first = page(world, first=2)
    second = page(world, first=2, after=first["pageInfo"]["endCursor"])
    third = page(world, first=2, after=second["pageInfo"]["endCursor"])
    beyond = page(world, first=2, after=third["pageInfo"]["endCursor"])

    assert keys(first) == ["hub-0", "hub-1"]
    assert first["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                                 "startCursor": cursor(0), "endCursor": cursor(1)}
    assert [e["cursor"] for e in first["edges"]] == [cursor(0), cursor(1)]
    assert keys(second) == ["hub-2", "hub-3"]
    assert second["pageInfo"]["hasNextPage"] is True
    assert keys(third) == ["hub-4"]
    assert third["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False,
                                 "startCursor": cursor(4), "endCursor": cursor(4)}
    assert beyond == {"edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                                                "startCursor": None, "endCursor": None}}


def test_a_page_exactly_as_long_as_the_list_has_no_next_page(world: World) -> None:
    for n in range(3):
        world.create(f"hub-{n}", [("TENT-4P-GRN", 1)])

    exact = page(world, first=3)
    empty_list = world.gql('{ orders(shop_name: "other") { data(first: 3) { pageInfo '
                           '{ hasNextPage endCursor } edges { cursor } } } }')

    assert keys(exact) == ["hub-0", "hub-1", "hub-2"]
    assert exact["pageInfo"]["hasNextPage"] is False
    assert empty_list["data"]["orders"]["data"] == {
        "pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": []}


def test_backward_paging_with_last_and_before(world: World) -> None:
    for n in range(4):
        world.create(f"hub-{n}", [("TENT-4P-GRN", 1)])

    tail = page(world, last=2)
    earlier = page(world, last=2, before=tail["pageInfo"]["startCursor"])

    assert keys(tail) == ["hub-2", "hub-3"]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    assert keys(earlier) == ["hub-0", "hub-1"]
    assert earlier["pageInfo"]["hasPreviousPage"] is False


def test_sort_descending(world: World) -> None:
    for n in range(3):
        world.create(f"hub-{n}", [("TENT-4P-GRN", 1)])

    body = world.gql('{ orders { data(sort: "-legacy_id", first: 2) { edges { node '
                     '{ partner_order_id } } } } }')
    bad = world.gql('{ orders { data(sort: "colour") { edges { cursor } } } }')

    assert keys(body["data"]["orders"]["data"]) == ["hub-2", "hub-1"]
    assert bad["errors"][0]["message"] == "Invalid sort field 'colour'"


def test_first_above_the_maximum_is_an_error(world: World) -> None:
    body = world.gql(PAGE, {"first": 101})

    assert body["data"] == {"orders": {"data": None}}
    assert body["errors"][0]["message"] == "Argument 'first' cannot be greater than 100"
    assert body["errors"][0]["path"] == ["orders", "data"]


def test_a_cursor_that_is_not_ours_is_an_error(world: World) -> None:
    body = world.gql(PAGE, {"first": 2, "after": "bm9wZQ=="})

    assert body["errors"][0]["message"] == "Invalid cursor for 'after': 'bm9wZQ=='"


def test_nested_line_items_page_independently(world: World) -> None:
    world.create("hub-1", [("TENT-4P-GRN", 1), ("STOVE-01", 1), ("LAMP-LED", 1)])
    query = """query($after: String) { orders { data(first: 1) { pageInfo { hasNextPage }
      edges { node { line_items(first: 2, after: $after) { pageInfo { hasNextPage endCursor }
      edges { node { sku } } } } } } } }"""

    first = world.gql(query)["data"]["orders"]["data"]
    lines = first["edges"][0]["node"]["line_items"]
    rest = world.gql(query, {"after": lines["pageInfo"]["endCursor"]})["data"]["orders"]["data"]

    assert first["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["sku"] for e in lines["edges"]] == ["TENT-4P-GRN", "STOVE-01"]
    assert lines["pageInfo"]["hasNextPage"] is True
    rest_lines = rest["edges"][0]["node"]["line_items"]
    assert [e["node"]["sku"] for e in rest_lines["edges"]] == ["LAMP-LED"]
    assert rest_lines["pageInfo"]["hasNextPage"] is False

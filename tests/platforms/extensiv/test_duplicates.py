"""Both duplicate-reference modes (spec §5.9): an order Extensiv already holds is never created
again — refused as Duplicate and adopted (reject), or found by the batch search first (allow);
``submitted`` (asked after a crash) finds held orders by reference, 50 per search."""

from __future__ import annotations

from dropstream.platforms.base import MeteredCall
from tests.platforms.extensiv.fixtures import extensiv_wms  # noqa: F401 - a fixture
from tests.platforms.extensiv.test_tokens_and_retries import _adapter, _order


def test_reject_mode_adopts_a_duplicate_answer(extensiv):
    calls: list[MeteredCall] = []
    adapter = _adapter(extensiv, calls)
    adapter.submit([_order(extensiv, "D-1")], key="k1")
    again = adapter.submit([_order(extensiv, "D-1"), _order(extensiv, "D-2")], key="k2")
    adapter.close()

    assert again.refused == {}
    assert sorted(extensiv.references()) == ["D-1", "D-2"]
    assert [c.status for c in calls if c.endpoint == "POST /orders"] == [201, 400, 201]


def test_allow_mode_searches_the_batch_first_and_sends_only_the_missing(extensiv):
    extensiv.settings(duplicate_reference="allow")
    calls: list[MeteredCall] = []
    adapter = _adapter(extensiv, calls, duplicate_reference="allow")
    adapter.submit([_order(extensiv, "A-1")], key="k1")
    calls.clear()
    again = adapter.submit([_order(extensiv, f"A-{n}") for n in range(1, 4)], key="k2")
    adapter.close()

    assert again.refused == {}
    assert sorted(extensiv.references()) == ["A-1", "A-2", "A-3"]
    assert [c.endpoint for c in calls] == ["GET /orders", "POST /orders", "POST /orders"]


def test_submitted_finds_held_orders_by_reference_in_searches_of_fifty(extensiv):
    calls: list[MeteredCall] = []
    adapter = _adapter(extensiv, calls)
    held = [_order(extensiv, f"S-{n}") for n in range(60)]
    adapter.submit(held[::2], key="k")
    calls.clear()

    found = adapter.submitted("k", held)
    adapter.close()

    assert found == frozenset(o.order_number for o in held[::2])
    assert [c.endpoint for c in calls] == ["GET /orders", "GET /orders"]

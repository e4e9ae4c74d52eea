"""A store with several warehouses (one connection each): the quantity to write is the sum over
the warehouses that count toward the store's stock (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dropstream.connections import actions
from dropstream.connections.models import Connection
from dropstream.inventory.models import InventoryLevel
from dropstream.orders.models import PART_MARK, Order, OrderLine, OrderStatus
from dropstream.orders.prepare import load_catalog
from dropstream.sync.push_inventory import (
    compute_store_levels,
    compute_store_stock,
    connection_levels,
)

SNAPSHOT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _enabled(connection, second_connection) -> None:
    """Both connections of the store (warehouses A and B) enabled."""
    for each in (connection, second_connection):
        actions.set_connection_enabled(each, timezone.now())
        each.refresh_from_db()


def stock(connection: Connection, **levels: int) -> None:
    InventoryLevel.objects.bulk_create(
        InventoryLevel(warehouse_id=connection.warehouse_id, sku=sku, available=quantity,
                       as_of=SNAPSHOT) for sku, quantity in levels.items())


def unsent_order(connection: Connection, number: str, **lines: int) -> Order:
    order = Order.objects.create(connection=connection, store_id=connection.store_id,
                                 external_id=number, status=OrderStatus.NEW)
    OrderLine.objects.bulk_create(OrderLine(order=order, store_sku=sku, quantity_ordered=qty)
                                  for sku, qty in lines.items())
    return order


def test_two_warehouses_stocking_a_sku_give_the_store_their_sum(connection, second_connection):
    stock(connection, X=5)
    stock(second_connection, X=7)

    assert compute_store_levels(connection) == {"X": 12}
    assert compute_store_levels(second_connection) == {"X": 12}  # whichever runs


def test_a_warehouse_switched_off_contributes_nothing(connection, second_connection):
    stock(connection, X=5)
    stock(second_connection, X=7, ONLY_B=4)
    actions.update_connection(second_connection, {"counts_toward_store_stock": False})
    second_connection.refresh_from_db()

    result = compute_store_stock(connection)

    assert result.quantities == {"X": 5}
    assert result.withdrawn == {"ONLY_B"}  # written as 0 if the hub wrote it before
    assert compute_store_levels(second_connection) == {"X": 5}


def test_a_sku_only_one_warehouse_stocks_is_that_warehouse_figure(connection,
                                                                  second_connection):
    stock(connection, X=5)
    stock(second_connection, X=7, ONLY_B=4)

    assert compute_store_levels(connection) == {"X": 12, "ONLY_B": 4}


def test_a_disabled_connection_adds_nothing(connection, second_connection):
    stock(connection, X=5)
    stock(second_connection, X=7)
    actions.set_connection_enabled(second_connection, None)

    assert compute_store_levels(connection) == {"X": 5}


def test_unsent_orders_reserve_in_the_warehouse_they_are_routed_to_only(connection,
                                                                        second_connection):
    stock(connection, X=2)
    stock(second_connection, X=7, Y=10)
    unsent_order(connection, "1001", X=3)  # A cannot cover it: A gives 0, not −1
    unsent_order(second_connection, "1002", Y=4)

    # Pooled, the store would show 9 − 3 = 6; A's shortfall must not eat B's stock.
    assert compute_store_levels(connection) == {"X": 7, "Y": 6}


def test_a_part_split_off_to_another_warehouse_reserves_there(connection, second_connection):
    stock(connection, X=5, Y=5)
    stock(second_connection, X=7, Y=7)
    order = unsent_order(connection, "1001", X=1)
    # Rules moved the Y line into a part on B (rules/apply.py moves lines, never copies them).
    part = unsent_order(second_connection, f"1001{PART_MARK}2", Y=3)
    Order.objects.filter(pk=part.pk).update(parent=order)

    assert compute_store_levels(connection) == {"X": 11, "Y": 9}  # (5 − 1) + 7, 5 + (7 − 3)
    assert connection_levels(second_connection, load_catalog(second_connection)) == {"X": 7,
                                                                                     "Y": 4}


def test_each_warehouse_keeps_its_own_reserve_and_threshold(connection, second_connection):
    stock(connection, X=5)
    stock(second_connection, X=7)
    actions.update_connection(connection, {"inventory_reserve": 2})
    actions.update_connection(second_connection, {"zero_out_threshold": 7})
    connection.refresh_from_db()

    assert compute_store_levels(connection) == {"X": 3}  # (5 − 2) + 0


def test_an_exported_order_reserves_until_its_warehouse_snapshot_counts_it(
        connection, second_connection):
    stock(connection, X=5)
    stock(second_connection, X=7)
    order = unsent_order(connection, "1001", X=2)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.OPEN,
                                             exported_at=SNAPSHOT + timedelta(minutes=1))

    assert compute_store_levels(second_connection) == {"X": 10}
    InventoryLevel.objects.filter(warehouse_id=connection.warehouse_id).update(
        as_of=SNAPSHOT + timedelta(minutes=2), available=3)
    assert compute_store_levels(second_connection) == {"X": 10}  # A's snapshot counts it now


def test_a_second_connection_of_a_store_does_not_import_its_orders(connection,
                                                                   second_connection):
    connection.refresh_from_db()
    assert (connection.imports_orders, second_connection.imports_orders) == (True, False)
    assert second_connection.counts_toward_store_stock is True

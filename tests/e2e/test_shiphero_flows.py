"""ShipHero through the hub's own flows: orders from a Bright Sites sandbox store go to the
ShipHero simulator over real HTTP on loopback, exactly once whatever the simulator does."""

from __future__ import annotations

import pytest

from dropstream.orders.models import Order, OrderStatus
from tests.e2e.conftest import run_locked
from tests.platforms.shiphero.world import (  # noqa: F401 — fixtures
    SHOP,
    bs_skus_fixture,
    connection_fixture,
    shiphero_fixture,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_orders_go_once_each_with_the_reference_and_a_lost_answer_makes_no_second_order(
        connection, bs_store, shiphero):
    made = bs_store.control.create_orders(
        4, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 2}])
    # The second order_create commits, then the connection drops before the answer.
    shiphero.sim.add_faults([{"operation": "order_create", "action": "lose_answer",
                              "count": 1}])
    sales = run_locked(connection, "sales_order")

    assert sales.ok, sales.error
    orders = list(Order.objects.filter(external_id__in=[str(i) for i in made]))
    assert {o.status for o in orders} == {S.OPEN}
    per_reference = shiphero.orders_per_reference()
    assert per_reference == {f"{SHOP}:{o.warehouse_order_number}": 1 for o in orders}
    held = {o["partner_order_id"]: o for o in shiphero.orders()}
    first = held[f"{SHOP}:{orders[0].warehouse_order_number}"]
    assert first["order_number"] == orders[0].warehouse_order_number
    assert first["shop_name"] == SHOP
    faulted = [e for e in shiphero.sim.meter_snapshot()["recent"] if e.get("fault")]
    assert [(e["operation"], e["fault"]) for e in faulted] == [("order_create", "lose_answer")]
    assert shiphero.creates() == 4  # the lost one was found by its reference, not re-sent

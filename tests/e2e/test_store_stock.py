"""A store with two warehouses (issue 16), end to end: the Bright Sites sandbox over HTTP, two
DSFX folders worked by two sandbox warehouse robots, one connection each. The store shows the sum
of the warehouses that count, whichever connection runs, and two connections running at once
never leave a stale sum in the store."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection as db_connection

from dropstream.connections import actions
from dropstream.intents.models import Intent
from dropstream.inventory.models import StoreInventory
from dropstream.sandbox.warehouse.robot import WarehouseRobot
from tests.e2e.conftest import Hub, run_locked
from tests.e2e.test_inventory_guarantees import BATCH, inventory_file, store_level, writable_skus
from tests.e2e.test_rules_routing import second_warehouse

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]


def robot(root: Path, stock: dict[str, int]) -> WarehouseRobot:
    return WarehouseRobot(f"file://{root}", ship_delay_s=0, split_rate=0.0, short_rate=0.0,
                          stock=stock, state_path=str(root.parent / f"{root.name}-robot.json"))


@pytest.fixture
def west(hub, tmp_path) -> Hub:
    """Warehouse B of the hub's store: a second DSFX folder and connection, enabled."""
    return second_warehouse(hub, tmp_path / "dsfx-west")


def levels(hub: Hub, *skus: str) -> tuple[int, ...]:
    return tuple(store_level(hub, sku) for sku in skus)


def test_the_store_shows_the_sum_of_the_warehouses_that_count(hub, west):
    x, y, z = writable_skus(hub, 3)
    robot(hub.root, {x: 5, y: 4}).write_inventory_now()
    robot(west.root, {x: 7, z: 9}).write_inventory_now()

    west.run("inventory")  # B's levels are read; A's are not known yet
    assert levels(hub, x, z) == (7, 9)
    both = hub.run("inventory")
    assert levels(hub, x, y, z) == (12, 4, 9)
    assert both.counts["inventory_written"] == 2  # x (5 + 7) and y; z is already right

    # Back to back with nothing changed: neither connection writes anything.
    assert west.run("inventory").requests == {}
    assert hub.run("inventory").requests == {}

    actions.update_connection(west.connection, {"counts_toward_store_stock": False})
    switched_off = hub.run("inventory")

    # B adds nothing: x is A's 5; z, which the hub wrote from B only, is withdrawn to 0.
    assert levels(hub, x, y, z) == (5, 4, 0)
    assert switched_off.requests[BATCH] >= 1
    assert dict(StoreInventory.objects.filter(sku__in=[x, y, z]).values_list("sku", "quantity")
                ) == {x: 5, y: 4, z: 0}
    assert west.run("inventory").requests == {}  # B's own run agrees


def test_an_order_routed_to_a_reserves_in_a_only(hub, west):
    x, y = writable_skus(hub, 2)
    robot(hub.root, {x: 2}).write_inventory_now()
    robot(west.root, {x: 7, y: 10}).write_inventory_now()
    hub.run("inventory")
    # An order of 3 × x imported and exported through A, after A's snapshot: A does not count
    # it yet, so A can give the store nothing (2 − 3), and B still gives all of its 7.
    hub.control.create_orders(1, status="paid", lines=[{"final_sku": x, "quantity": 3}])
    exported = hub.run("sales_order")
    assert exported.counts["exported"] == 1

    west.run("inventory")

    assert levels(hub, x, y) == (7, 10)  # pooled, it would have been 9 − 3 = 6


def test_two_connections_writing_at_once_leave_the_latest_sum(hub, west):
    [x] = writable_skus(hub, 1)
    before = datetime.now(UTC) - timedelta(minutes=5)
    inventory_file(hub, before, {x: 5})
    inventory_file(west, before, {x: 7})
    hub.run("inventory")
    west.run("inventory")
    assert store_level(hub, x) == 12
    # A's snapshot says 6, B's says 3. A's write is slow to answer; while it is in flight, B
    # reads its 3 and wants to write too. Without the store's stock lock, B would write 6 + 3 = 9
    # at once and A's stale 6 + 7 = 13 would land after it, and stay.
    later = before + timedelta(minutes=1)
    inventory_file(hub, later, {x: 6})
    inventory_file(west, later, {x: 3})
    hub.control.add_faults([{"endpoint": BATCH, "action": "latency", "delay_ms": 1500,
                             "count": 1}])
    outcomes: dict[str, object] = {}

    def run(name: str, target: Hub) -> None:
        try:
            outcomes[name] = run_locked(target.connection, "inventory")
        finally:
            db_connection.close()

    first = threading.Thread(target=run, args=("a", hub))
    first.start()
    deadline = time.monotonic() + 30
    while hub.control.faults():  # the slow write has begun (its rule is used up)
        assert time.monotonic() < deadline and first.is_alive()
        time.sleep(0.01)
    second = threading.Thread(target=run, args=("b", west))
    second.start()
    first.join(30)
    second.join(30)

    assert outcomes["a"].ok and outcomes["b"].ok, outcomes
    assert store_level(hub, x) == 9
    assert StoreInventory.objects.get(sku=x).quantity == 9
    writes = list(Intent.objects.filter(kind="inventory_write", payload__quantities__has_key=x)
                  .order_by("created_at"))
    a_write, b_write = writes[-2:]
    assert (a_write.connection_id, a_write.payload["quantities"]) == (hub.connection.pk,
                                                                      {x: 13})
    assert (b_write.connection_id, b_write.payload["quantities"]) == (west.connection.pk,
                                                                      {x: 9})
    # B computed its sum only once A's write was done and recorded: it waited for the lock.
    assert b_write.created_at >= a_write.done_at

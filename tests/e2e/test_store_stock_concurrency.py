"""A store with two warehouses (issue 16) under concurrency, kills and failures, for real: two
``dropstream sync run`` processes (one per connection) on the suite's database (SQLite, then
PostgreSQL), the Bright Sites sandbox over HTTP, two DSFX folders.

tests/e2e/test_store_stock.py proves the sum, the switch-off and one overlap on threads; these
prove what only separate processes, a kill or a failing feed can show."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dropstream.intents.models import Intent
from dropstream.inventory.models import StoreInventory
from dropstream.scheduling.models import Run
from tests.e2e.conftest import Hub
from tests.e2e.test_inventory_guarantees import BATCH, inventory_file, store_level
from tests.e2e.test_rules_routing import second_warehouse

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def west(hub, tmp_path) -> Hub:
    """Warehouse B of the hub's store: a second DSFX folder and connection, enabled."""
    return second_warehouse(hub, tmp_path / "dsfx-west")


def skus_of_distinct_products(hub: Hub, count: int) -> list[str]:
    """Writable store SKUs (tracked, not vendor-managed), one per product: each SKU written is
    then one ``batch_update``, so the meter counts SKUs pushed."""
    chosen: dict[int, str] = {}
    for row in hub.control.inventories():
        if row["track"] and not row["vendor_managed"]:
            chosen.setdefault(row["product_id"], row["final_sku"])
    assert len(chosen) >= count
    return list(chosen.values())[:count]


def levels(hub: Hub, skus: list[str]) -> dict[str, int]:
    return {sku: store_level(hub, sku) for sku in skus}


def sync_command(target: Hub) -> tuple[str, ...]:
    return ("sync", "run", str(target.connection.pk), "--channel", "inventory")


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout  # start-up on a loaded 2-core machine
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def inventory_run(target: Hub, after: int = 0) -> Run | None:
    """The connection's latest inventory run, if it is newer than run ``after``."""
    return (Run.objects.filter(channel__connection=target.connection, channel_type="inventory",
                               id__gt=after).order_by("-id").first())


def last_run_id() -> int:
    return Run.objects.order_by("-id").values_list("id", flat=True).first() or 0


def write_intents(target: Hub) -> list[Intent]:
    return list(Intent.objects.filter(kind="inventory_write", connection=target.connection)
                .order_by("created_at"))


@pytest.mark.slow
@pytest.mark.xdist_group("processes")
def test_two_connections_running_at_once_in_two_processes_leave_the_sum(hub, west,
                                                                         hub_processes):
    x, y, z, w, u = skus = skus_of_distinct_products(hub, 5)
    before = datetime.now(UTC) - timedelta(minutes=5)
    inventory_file(hub, before, dict.fromkeys(skus, 5))
    inventory_file(west, before, dict.fromkeys(skus, 7))
    hub.run("inventory")
    west.run("inventory")
    assert levels(hub, skus) == dict.fromkeys(skus, 12)
    # New snapshots: x changes in A only, y in B only, w in both (the sum moves), z moves one
    # unit from B to A (a transfer: the sum stays 12), u does not change.
    later = before + timedelta(minutes=1)
    inventory_file(hub, later, {x: 6, z: 6, w: 6})
    inventory_file(west, later, {y: 3, z: 6, w: 3})
    # A's first store write is slow: B's process starts, reads B's file and wants to write
    # while A holds the store's stock.
    hub.control.add_faults([{"endpoint": BATCH, "action": "latency", "delay_ms": 5000,
                             "count": 1}])
    hub.control.reset_meter()
    seen = last_run_id()

    first = hub_processes.start(*sync_command(hub))
    wait_until(lambda: not hub.control.faults(), hub_processes.output(first))  # A's PUT is out
    second = hub_processes.start(*sync_command(west))
    wait_until(lambda: getattr(inventory_run(west, seen), "started_at", None) is not None,
               "B's run did not start")
    results = [hub_processes.wait(first), hub_processes.wait(second)]

    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]
    a_run, b_run = inventory_run(hub), inventory_run(west)
    [a_write], [b_write] = write_intents(hub)[-1:], write_intents(west)[-1:]
    # The dangerous path ran: B's run began while A's write was in flight.
    assert a_run.started_at < b_run.started_at < a_write.done_at
    assert levels(hub, skus) == {x: 13, y: 8, z: 12, w: 9, u: 12}
    # A wrote what it knew (B's old levels); B computed its sum only once A had written and
    # recorded its own (it waited for the store's stock), so x, already right, was not sent
    # again, and z went back to 12 and w to 9 with B's new levels.
    assert a_write.done_at <= b_write.created_at
    assert a_write.payload["quantities"] == {x: 13, z: 13, w: 13}
    assert b_write.payload["quantities"] == {y: 8, z: 12, w: 9}
    assert hub.control.meter()["by_endpoint"].get(BATCH) == 6  # one PUT per SKU sent
    assert dict(StoreInventory.objects.filter(sku__in=skus).values_list("sku", "quantity")
                ) == {x: 13, y: 8, z: 12, w: 9, u: 12}
    # Nothing is left to write, and the store agrees with the hub's record of it.
    assert hub.run("inventory").requests == {}
    assert west.run("inventory").requests == {}
    full = hub.run("inventory", mode="full")
    assert full.counts["inventory_written"] == 0 and full.counts["inventory_unchanged"] == 5

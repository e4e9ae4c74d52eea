"""A store with two warehouses (issue 16) under concurrency, kills and failures, for real: two
``dropstream sync run`` processes (one per connection) on the suite's database (SQLite, then
PostgreSQL), the Bright Sites sandbox over HTTP, two DSFX folders.

tests/e2e/test_store_stock.py proves the sum, the switch-off and one overlap on threads; these
prove what only separate processes, a kill or a failing feed can show (two of them in-process:
a failing feed needs no second process, and one kill point no sandbox fault can reach)."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from dropstream.alerts.models import Alert, AlertKind
from dropstream.connections import actions
from dropstream.intents.models import Intent
from dropstream.inventory.models import StoreInventory
from dropstream.scheduling.models import Run
from dropstream.sync import adapters, push_inventory
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


def wait_until(condition, what, timeout: float = 60) -> None:
    """Poll ``condition``; past ``timeout`` fail with ``what()`` (e.g. a process's output)."""
    deadline = time.monotonic() + timeout  # start-up on a loaded 2-core machine
    while not condition():
        assert time.monotonic() < deadline, what()
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


def b_reads_while_a_writes(hub, west, west_file: str, hub_processes):
    """Start A's inventory run with its first store write slowed to 6 s, and B's once that
    write is out; returns both processes once B has read ``west_file`` while A's write is
    still in flight (A holds the store's stock)."""
    hub.control.add_faults([{"endpoint": BATCH, "action": "latency", "delay_ms": 6000,
                             "count": 1}])
    first = hub_processes.start(*sync_command(hub))
    # A's PUT is out (its fault rule is used up).
    wait_until(lambda: not hub.control.faults(), lambda: hub_processes.output(first))
    second = hub_processes.start(*sync_command(west))
    wait_until(lambda: (west.root / "out" / "processed" / west_file).exists(),
               lambda: hub_processes.output(second))
    assert write_intents(hub)[-1].state == "pending"
    return first, second


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
    west_file = inventory_file(west, later, {y: 3, z: 6, w: 3})
    # A's first store write is slow: B's process starts, reads B's file and wants to write
    # while A holds the store's stock.
    hub.control.reset_meter()
    seen = last_run_id()

    first, second = b_reads_while_a_writes(hub, west, west_file, hub_processes)
    results = [hub_processes.wait(first), hub_processes.wait(second)]

    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]
    a_run, b_run = inventory_run(hub, seen), inventory_run(west, seen)
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
    # One PUT per SKU sent, and nothing else: both runs used the SKU map the store had given.
    assert hub.control.meter()["by_endpoint"] == {BATCH: 6}
    assert dict(StoreInventory.objects.filter(sku__in=skus).values_list("sku", "quantity")
                ) == {x: 13, y: 8, z: 12, w: 9, u: 12}
    # Nothing is left to write, and the store agrees with the hub's record of it.
    assert hub.run("inventory").requests == {}
    assert west.run("inventory").requests == {}
    full = hub.run("inventory", mode="full")
    assert full.counts["inventory_written"] == 0 and full.counts["inventory_unchanged"] == 5


@pytest.mark.slow
@pytest.mark.xdist_group("processes")
def test_switching_a_connection_off_while_its_run_waits_drops_it_at_that_push(
        hub, west, hub_processes):
    x, y, z = skus = skus_of_distinct_products(hub, 3)
    before = datetime.now(UTC) - timedelta(minutes=5)
    inventory_file(hub, before, {x: 5, y: 5})
    inventory_file(west, before, {x: 7, y: 7, z: 9})
    hub.run("inventory")
    west.run("inventory")
    assert levels(hub, skus) == {x: 12, y: 12, z: 9}
    inventory_file(hub, before + timedelta(minutes=1), {x: 6})
    west_file = inventory_file(west, before + timedelta(minutes=1), {y: 8})
    seen = last_run_id()

    # B's run has loaded its connection (switched on) and read its file; it waits for the
    # store's stock while A writes. Now the merchant switches B off.
    first, second = b_reads_while_a_writes(hub, west, west_file, hub_processes)
    actions.update_connection(west.connection, {"counts_toward_store_stock": False})
    switched_at = datetime.now(UTC)
    results = [hub_processes.wait(first), hub_processes.wait(second)]

    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]
    a_write = write_intents(hub)[-1]
    b_run = inventory_run(west, seen)
    assert b_run.started_at < switched_at < a_write.done_at  # B's run began before the switch
    assert a_write.payload["quantities"] == {x: 13}  # computed before the switch: B counted
    # B's push, the first after the switch, leaves A's figures alone: x is A's 6, y A's 5, and
    # z, stocked by B only, is withdrawn.
    assert levels(hub, skus) == {x: 6, y: 5, z: 0}
    b_write = write_intents(west)[-1]
    assert b_write.created_at > switched_at
    assert b_write.payload["quantities"] == {x: 6, y: 5, z: 0}
    assert hub.run("inventory").requests == {}

    # Switched back on, B's levels are added back at the next push (whichever connection's).
    actions.update_connection(west.connection, {"counts_toward_store_stock": True})
    assert hub.run("inventory").requests == {BATCH: 3}
    assert levels(hub, skus) == {x: 13, y: 13, z: 9}


@pytest.mark.slow
@pytest.mark.xdist_group("processes")
def test_a_push_killed_after_the_store_took_it_is_settled_by_the_other_connection_once(
        hub, west, hub_processes):
    x, y = skus = skus_of_distinct_products(hub, 2)
    before = datetime.now(UTC) - timedelta(minutes=5)
    inventory_file(hub, before, {x: 5, y: 5})
    inventory_file(west, before, {x: 7, y: 7})
    hub.run("inventory")
    west.run("inventory")
    inventory_file(hub, before + timedelta(minutes=1), {x: 6})  # the sum of x becomes 13
    # The store applies A's write, then holds its answer: the kill lands between the store's
    # PUT and the hub's bookkeeping (baseline, SKU map, intent).
    hub.control.add_faults([{"endpoint": BATCH, "action": "timeout", "delay_ms": 3000,
                             "after_write": True, "count": 1}])
    hub.control.reset_meter()
    doomed = hub_processes.start(*sync_command(hub), DROPSTREAM_RUN_LEASE_SECONDS="2")
    wait_until(lambda: hub.control.meter()["by_endpoint"].get(BATCH, 0) >= 1,
               lambda: hub_processes.output(doomed))
    time.sleep(0.3)  # the store has applied it and waits to answer
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    assert store_level(hub, x) == 13  # the kill landed after the PUT
    [interrupted] = Intent.objects.filter(kind="inventory_write", state="pending")
    assert interrupted.payload["quantities"] == {x: 13}
    assert StoreInventory.objects.get(sku=x).quantity == 12
    hub.control.clear_faults()
    hub.control.reset_meter()

    # B runs next (its own run lock is free at once): it settles A's write against the store,
    # which already holds 13, so it sends nothing — and the store's lock, held by the killed
    # process, was released with it.
    settled = west.run("inventory")

    assert settled.counts["inventory_recovered"] == 1
    assert settled.counts["inventory_unchanged"] == 1 and settled.counts["inventory_written"] == 0
    assert BATCH not in hub.control.meter()["by_endpoint"]
    interrupted.refresh_from_db()
    assert interrupted.state == "done"
    assert StoreInventory.objects.get(sku=x).quantity == 13
    time.sleep(2.1)  # the killed run's lease lapses
    taken_over = hub.run("inventory")  # A takes its killed run over, then runs its own
    assert taken_over.requests == {}
    assert BATCH not in hub.control.meter()["by_endpoint"]
    # The next change is written once, from the store's figure the recovery read (13), not the
    # 12 the killed run's SKU map still held: a sum back at 12 must reach the store.
    inventory_file(west, before + timedelta(minutes=2), {x: 6})
    assert west.run("inventory").requests == {BATCH: 1}
    assert levels(hub, skus) == {x: 12, y: 12}


@pytest.mark.xdist_group("e2e")
def test_a_warehouse_whose_feed_fails_keeps_its_last_known_figures_in_the_sum(hub, west):
    x, y = skus = skus_of_distinct_products(hub, 2)
    before = datetime.now(UTC) - timedelta(minutes=5)
    inventory_file(hub, before, {x: 5, y: 5})
    inventory_file(west, before, {x: 7})
    hub.run("inventory")
    west.run("inventory")
    assert levels(hub, skus) == {x: 12, y: 5}

    # A's folder is gone (a remote error): A's run fails with an alert and writes nothing, and
    # B's next push adds A's last known levels to B's new ones — not B's figure alone.
    (hub.root / "out").rename(hub.root / "out-unmounted")
    failed = hub.run("inventory", expect_ok=False)
    assert not failed.ok and BATCH not in failed.requests
    assert Alert.objects.filter(connection=hub.connection, kind=AlertKind.INVENTORY_FAILED
                                ).exists()
    inventory_file(west, before + timedelta(minutes=1), {x: 8})
    assert west.run("inventory").requests == {BATCH: 1}
    assert levels(hub, skus) == {x: 13, y: 5}

    # A's folder is back with a file the hub cannot read, then one with a bad row: the file is
    # rejected with an alert and A's figures stay what they were; the good row is taken.
    (hub.root / "out-unmounted").rename(hub.root / "out")
    name = f"inv_1_{(before + timedelta(minutes=2)).strftime('%y%m%d%H%M%S')}.csv"
    (hub.root / "out" / name).write_bytes(b"\x00\xff garbage, not an inventory file\r\n")
    assert hub.run("inventory").requests == {}
    inventory_file(hub, before + timedelta(minutes=3), {x: 6, y: "lots"})
    assert hub.run("inventory").requests == {BATCH: 1}
    assert levels(hub, skus) == {x: 14, y: 5}
    rejected = Alert.objects.filter(connection=hub.connection, kind=AlertKind.FILE_REJECTED)
    assert rejected.count() == 2
    assert (hub.root / "out" / "error" / name).exists()
    assert west.run("inventory").requests == {}  # B's own push agrees


class Killed(BaseException):
    """The run's process dies here: nothing after this line runs, nothing more is saved."""


@pytest.mark.xdist_group("e2e")
def test_a_run_dying_after_its_bookkeeping_leaves_the_sku_map_as_written(hub, west,
                                                                         monkeypatch):
    """The kill point no sandbox fault reaches (after the intent closed, before the run ends),
    made exact in-process: past it the dead run saves nothing."""
    [x] = skus_of_distinct_products(hub, 1)
    before = datetime.now(UTC) - timedelta(minutes=5)
    inventory_file(hub, before, {x: 5})
    inventory_file(west, before, {x: 7})
    hub.run("inventory")
    west.run("inventory")
    inventory_file(hub, before + timedelta(minutes=1), {x: 6})
    dead = False
    real_close, real_save = push_inventory._close, adapters.Memory.save

    def close_then_die(intents):
        nonlocal dead
        real_close(intents)
        dead = True
        raise Killed

    def save_unless_dead(memory):
        if not dead:
            real_save(memory)

    monkeypatch.setattr(push_inventory, "_close", close_then_die)
    monkeypatch.setattr(adapters.Memory, "save", save_unless_dead)
    with pytest.raises(Killed):
        hub.run("inventory")
    monkeypatch.undo()
    assert store_level(hub, x) == 13
    assert not Intent.objects.filter(kind="inventory_write", state="pending").exists()

    # B's level falls by one: the sum is back at 12, which the store must be told.
    inventory_file(west, before + timedelta(minutes=2), {x: 6})
    assert west.run("inventory").requests == {BATCH: 1}
    assert store_level(hub, x) == 12

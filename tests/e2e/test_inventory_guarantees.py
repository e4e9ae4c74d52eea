"""Inventory to the store: smart sync writes exactly what changed, full sync corrects drift,
orders the warehouse's snapshot does not count stay reserved, an older snapshot never wins, and
an interrupted write is settled against the store (issue 11 #3, #9, #12)."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from dropstream.intents.models import Intent
from dropstream.inventory.models import InventoryLevel, StoreInventory
from dropstream.scheduling.models import Run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
BATCH = "PUT /inventories/:id/batch_update"


def writable_skus(hub, count: int) -> list[str]:
    """Store SKUs whose stock the store tracks and the hub may write (not vendor-managed)."""
    rows = [r for r in hub.control.inventories() if r["track"] and not r["vendor_managed"]]
    assert len(rows) >= count
    return [r["final_sku"] for r in rows[:count]]


def store_level(hub, sku: str) -> int:
    return next(r["inventory"] for r in hub.control.inventories() if r["final_sku"] == sku)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%y%m%d%H%M%S")


def inventory_file(hub, moment: datetime, levels: dict[str, int]) -> str:
    """A warehouse snapshot taken at ``moment`` (its name carries the time, as the robot's do)."""
    name = f"inv_1_{stamp(moment)}.csv"
    rows = ["sku,available,on_hand,facility", *(f"{sku},{n},{n}," for sku, n in levels.items())]
    (hub.root / "out" / name).write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    return name


def test_smart_sync_writes_exactly_what_changed_and_nothing_when_nothing_did(hub):
    a, b = writable_skus(hub, 2)
    now = datetime.now(UTC)
    inventory_file(hub, now - timedelta(minutes=2), {a: 10, b: 20})
    assert hub.run("inventory").counts["inventory_written"] == 2
    quiet = hub.run("inventory")
    inventory_file(hub, now - timedelta(minutes=1), {a: 7, b: 20})

    changed = hub.run("inventory")

    assert quiet.requests == {}
    assert changed.requests == {BATCH: 1}
    assert (store_level(hub, a), store_level(hub, b)) == (7, 20)
    assert StoreInventory.objects.get(sku=a).quantity == 7


def test_full_sync_reads_the_store_and_corrects_a_level_changed_there(hub):
    a, b = writable_skus(hub, 2)
    inventory_file(hub, datetime.now(UTC) - timedelta(minutes=1), {a: 10, b: 20})
    hub.run("inventory")
    hub.control.set_inventory({a: 999})  # someone edited the level in the store's admin

    smart = hub.run("inventory")
    full = hub.run("inventory", mode="full")

    assert smart.requests == {}  # the hub cannot know without asking
    assert full.counts["inventory_written"] == 1 and full.counts["inventory_unchanged"] == 1
    assert full.requests[BATCH] == 1 and full.requests["GET /inventories"] >= 1
    assert (store_level(hub, a), store_level(hub, b)) == (10, 20)


def test_full_sync_reports_the_skus_it_could_not_write(hub):
    [a] = writable_skus(hub, 1)
    vendor = next(r["final_sku"] for r in hub.control.inventories() if r["vendor_managed"])
    inventory_file(hub, datetime.now(UTC) - timedelta(minutes=1), {a: 4, vendor: 9})

    full = hub.run("inventory", mode="full")

    assert full.counts["inventory_skipped"] == 1
    assert full.details == {"skipped": {vendor: (
        "not in the store's inventory list (GET /inventories): an unknown SKU, a "
        "vendor-managed product, or inventory turned off for the product")}}


def test_an_order_exported_after_the_snapshot_stays_reserved(hub):
    [sku] = writable_skus(hub, 1)
    inventory_file(hub, datetime.now(UTC) - timedelta(minutes=5), {sku: 10})
    hub.control.create_orders(1, status="paid", lines=[{"final_sku": sku, "quantity": 3}])
    hub.run("sales_order")  # exported now: after the snapshot, which does not count it

    hub.run("inventory")

    assert store_level(hub, sku) == 7


def test_an_older_snapshot_delivered_late_never_overwrites_a_newer_level(hub):
    [sku] = writable_skus(hub, 1)
    now = datetime.now(UTC)
    inventory_file(hub, now - timedelta(minutes=1), {sku: 5})
    hub.run("inventory")
    inventory_file(hub, now - timedelta(minutes=30), {sku: 50})  # stuck in a queue, then sent

    hub.run("inventory")

    assert InventoryLevel.objects.get(sku=sku).available == 5
    assert store_level(hub, sku) == 5


def test_a_write_interrupted_after_the_store_took_it_is_settled_against_the_store(
        hub, hub_processes):
    [sku] = writable_skus(hub, 1)
    inventory_file(hub, datetime.now(UTC) - timedelta(minutes=1), {sku: 4321})
    # The store applies the write, then holds its answer for 3 s: the kill lands between the
    # effect and the hub's bookkeeping.
    hub.control.add_faults([{"endpoint": BATCH, "action": "timeout", "delay_ms": 3000,
                             "after_write": True, "count": 1}])
    doomed = hub_processes.start("sync", "run", str(hub.connection.pk), "--channel",
                                 "inventory", DROPSTREAM_RUN_LEASE_SECONDS="2")
    deadline = time.monotonic() + 180  # start-up on a loaded 2-core machine
    while hub.control.meter()["by_endpoint"].get(BATCH, 0) < 1:
        assert time.monotonic() < deadline, hub_processes.output(doomed)
        time.sleep(0.02)
    time.sleep(0.3)  # the store has applied it and waits to answer
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    assert store_level(hub, sku) == 4321
    interrupted = Intent.objects.get(kind="inventory_write")
    assert interrupted.state == "pending" and interrupted.payload["quantities"] == {sku: 4321}
    assert not StoreInventory.objects.filter(sku=sku).exists()
    hub.control.clear_faults()
    hub.control.reset_meter()
    time.sleep(2.1)  # the killed run's lease lapses

    hub.run("inventory")  # takes the killed run over first, then runs its own

    interrupted.refresh_from_db()
    assert interrupted.state == "done"
    taken_over = Run.objects.filter(channel_type="inventory").order_by("id").first()
    assert (taken_over.state, taken_over.attempt) == ("succeeded", 2)
    assert taken_over.counts["inventory_recovered"] == 1
    assert taken_over.counts["inventory_unchanged"] == 1  # the store had it: not sent again
    assert BATCH not in hub.control.meter()["by_endpoint"]
    assert StoreInventory.objects.get(sku=sku).quantity == 4321

"""Smart-sync computation over 100,000 SKUs: time and peak memory (tracemalloc).

Target ≤ 2 s and ≤ 200 MB. Two rows: the pure function (store_quantities and the diff, data
already in memory) and the database part a run does (compute_store_levels: levels, listings,
bundles and open orders read from the database; then the changed_quantities diff against
StoreInventory). No store requests are made.

``--warehouses N`` gives the store N − 1 more warehouses (one connection each, issue 16), each
stocking every warehouse SKU: the database row then computes the store-wide sum over all N.

    .venv/bin/python benchmarks/inventory.py [--skus 100000] [--warehouses 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_inventory .venv/bin/python benchmarks/inventory.py
"""

from __future__ import annotations

import argparse
import os
import random
import time
import tracemalloc

from harness import print_table, setup_django

TARGET_S = 2.0
TARGET_MB = 200.0


def measure(action) -> tuple[object, float, float, float]:
    """(result, seconds, CPU seconds, tracemalloc peak MB) of ``action()``: timed in one run,
    and traced in a second one (tracemalloc roughly doubles the time it observes). The CPU
    time (this process's; the database's too on SQLite) reads true on a busy machine."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = action()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, seconds, cpu, peak / 1e6


def seed(connection, skus: int, rng: random.Random) -> dict[str, int]:
    """Levels for ``skus`` warehouse SKUs, 10% of them listed under another store SKU, 2% of
    store SKUs bundles of 2–3 components, 5,000 orders (2 lines each; about half reserve
    stock). Returns counts for the table."""
    from django.utils import timezone

    from dropstream.catalog.models import BundleComponent, Listing, Product
    from dropstream.inventory.models import InventoryLevel
    from dropstream.orders.models import Order, OrderLine, OrderStatus

    now = timezone.now()
    merchant, store, warehouse = connection.customer, connection.store, connection.warehouse
    sku_names = [f"WH-{n:06d}" for n in range(skus)]
    InventoryLevel.objects.bulk_create(
        [InventoryLevel(warehouse=warehouse, sku=sku, available=rng.randint(0, 500), as_of=now)
         for sku in sku_names], batch_size=5000)
    listed = sku_names[: skus // 10]
    products = Product.objects.bulk_create(
        [Product(customer=merchant, sku=sku) for sku in listed], batch_size=5000)
    Listing.objects.bulk_create(
        [Listing(store=store, product=product, store_sku=f"ST-{product.sku}")
         for product in products], batch_size=5000)
    bundle_count = skus // 50
    bundles = Product.objects.bulk_create(
        [Product(customer=merchant, sku=f"KIT-{n:05d}") for n in range(bundle_count)],
        batch_size=5000)
    unlisted = sku_names[skus // 10:]
    components = {sku: product for sku, product in zip(
        unlisted[:3000], Product.objects.bulk_create(
            [Product(customer=merchant, sku=sku) for sku in unlisted[:3000]], batch_size=5000),
        strict=True)}
    parts = list(components.values())
    BundleComponent.objects.bulk_create(
        [BundleComponent(bundle=bundle, component=part, quantity=rng.randint(1, 3))
         for bundle in bundles for part in rng.sample(parts, rng.randint(2, 3))],
        batch_size=5000)
    store_skus = [f"ST-{sku}" for sku in listed] + unlisted + [b.sku for b in bundles]
    statuses = [OrderStatus.NEW, OrderStatus.QUEUED, OrderStatus.OPEN, OrderStatus.SHIPPED]
    orders = Order.objects.bulk_create(
        [Order(connection=connection, store=store, external_id=str(n),
               status=rng.choice(statuses),
               exported_at=None if n % 2 else now) for n in range(5000)], batch_size=2000)
    OrderLine.objects.bulk_create(
        [OrderLine(order=order, store_sku=rng.choice(store_skus), quantity_ordered=rng.randint(1, 4))
         for order in orders for _ in range(2)], batch_size=5000)
    return {"levels": skus, "listings": len(listed), "bundles": bundle_count,
            "store SKUs": len(store_skus)}


def seed_last_written(connection, computed: dict[str, int], rng: random.Random) -> None:
    """The last value written per store SKU: the current one, except about 5% that differ."""
    from django.utils import timezone

    from dropstream.inventory.models import StoreInventory

    now = timezone.now()
    StoreInventory.objects.bulk_create(
        [StoreInventory(store_id=connection.store_id, sku=sku, written_at=now,
                        quantity=quantity + 1 if rng.random() < 0.05 else quantity)
         for sku, quantity in computed.items()], batch_size=5000)


def make_connection(warehouses: int = 1):
    """The measured connection; ``warehouses`` − 1 more of its store, enabled, beside it."""
    from django.utils import timezone

    from dropstream.connections import actions

    merchant = actions.create_merchant("Inventory Bench")
    store = actions.create_store(merchant, name="Bench", platform="brightsites", adapter={
        "subdomain": "bench", "api_token": "inventory-bench-token",
        "api_url": "http://127.0.0.1:9/bench/api/v2.6.1"})
    connections = []
    for n in range(warehouses):
        warehouse = actions.create_warehouse(merchant, platform="dropstream", adapter={
            "connection_string": f"file:///tmp/dropstream-inventory-bench-{n}"})
        connection = actions.create_connection(name=f"Bench {n}", customer=merchant,
                                               store=store, warehouse=warehouse)
        actions.set_connection_enabled(connection, timezone.now())
        connections.append(connection)
    return connections[0], connections[1:]


def seed_other_warehouses(others, skus: int, rng: random.Random) -> None:
    """Every warehouse SKU stocked by each other warehouse of the store too."""
    from django.utils import timezone

    from dropstream.inventory.models import InventoryLevel

    now = timezone.now()
    for other in others:
        InventoryLevel.objects.bulk_create(
            [InventoryLevel(warehouse=other.warehouse, sku=f"WH-{n:06d}",
                            available=rng.randint(0, 500), as_of=now) for n in range(skus)],
            batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--warehouses", type=int, default=1,
                        help="warehouses of the store (one connection each)")
    args = parser.parse_args()
    setup_django("inventory")
    from django.db import connection as db

    from dropstream.inventory.compute import (
        changed_quantities,
        reserved_by_warehouse_sku,
        store_quantities,
    )
    from dropstream.inventory.models import InventoryLevel, StoreInventory
    from dropstream.orders.prepare import load_catalog
    from dropstream.sync.push_inventory import compute_store_levels, open_store_lines

    rng = random.Random(7)
    connection, others = make_connection(max(args.warehouses, 1))
    started = time.perf_counter()
    counts = seed(connection, args.skus, rng)
    seed_other_warehouses(others, args.skus, rng)
    print(f"seeded {counts} in {time.perf_counter() - started:.1f} s")

    # Inputs of the pure part, read once, outside the measurement.
    available = dict(InventoryLevel.objects.filter(warehouse=connection.warehouse)
                     .values_list("sku", "available"))
    catalog = load_catalog(connection)
    snapshot_at = InventoryLevel.objects.filter(warehouse=connection.warehouse).latest("as_of").as_of
    # (store sku, quantity): the pure part reserves every open line (no snapshot times).
    lines = [(sku, quantity) for sku, _, quantity in open_store_lines(connection, snapshot_at)]
    seed_last_written(connection, compute_store_levels(connection), rng)
    last = dict(StoreInventory.objects.filter(store=connection.store)
                .values_list("sku", "quantity"))

    def pure():
        reserved = reserved_by_warehouse_sku(lines, catalog.listings, catalog.bundles)
        computed = store_quantities(available, listings=catalog.listings,
                                    bundles=catalog.bundles, reserved=reserved,
                                    reserve=connection.inventory_reserve,
                                    zero_out_threshold=connection.zero_out_threshold)
        return computed, changed_quantities(computed, last, full=False)

    def with_database():
        computed = compute_store_levels(connection)
        written = dict(StoreInventory.objects.filter(store_id=connection.store_id)
                       .values_list("sku", "quantity"))
        return computed, changed_quantities(computed, written, full=False)

    rows = []
    pure_name = "pure: store_quantities + diff" + (", first warehouse" if others else "")
    for name, action in ((pure_name, pure),
                         (f"database: compute_store_levels + diff, {len(others) + 1} "
                          "warehouse(s)", with_database)):
        (computed, changed), seconds, cpu, peak = measure(action)
        verdict = "ok" if seconds <= TARGET_S and peak <= TARGET_MB else "over target"
        rows.append((name, len(computed), len(changed), f"{seconds:.2f}", f"{cpu:.2f}",
                     f"{peak:.0f}", verdict))
    print_table(f"Smart-sync computation over {counts['store SKUs']:,} store SKUs on {db.vendor} "
                f"(target ≤ {TARGET_S:.0f} s, ≤ {TARGET_MB:.0f} MB)",
                ("part", "SKUs computed", "changed", "seconds", "CPU s", "peak MB", "verdict"),
                rows)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

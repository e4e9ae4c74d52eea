"""Orders/s from paid in the store to written in /in, and shipments/s back to the store.

The Bright Sites sandbox runs in its own process (the hub and the sandbox each get a core, as
in production); the hub's flows run here through ``run_channel``, the warehouse robot too.

    .venv/bin/python benchmarks/throughput.py [--orders 10000] [--profile out.prof]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/throughput.py

Peak memory is this (hub) process's peak resident set size (the robot's share included).
"store CPU s" and "db CPU s" are what the sandbox process and the PostgreSQL backend serving the
hub spent meanwhile: with the hub, they share the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

from harness import make_bench, print_table, setup_django


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid() -> int | None:
    """The PostgreSQL backend serving this process's connection (None on SQLite)."""
    from django.db import connection as db

    if db.vendor != "postgresql":
        return None
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def cpu_since(pid: int | None) -> Callable[[], str]:
    """A function returning the CPU seconds process ``pid`` used since, as text ("-": none)."""
    if not pid:
        return lambda: "-"
    start = process_cpu_s(pid)
    return lambda: f"{process_cpu_s(pid) - start:.1f}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count_order_rows(root) -> int:
    """Order rows (PH records) in every order file the hub wrote to /in (and processed/)."""
    total = 0
    for path in list(root.glob("in/ord_*.csv")) + list(root.glob("in/processed/ord_*.csv")):
        total += sum(1 for line in path.read_text().splitlines() if line.startswith(("PH,", "\"PH\"")))
    return total


def create_paid_orders(control, count: int) -> int:
    """Create ``count`` paid orders in the sandbox, 500 per control call; returns how many."""
    made = 0
    while made < count:
        made += len(control.create_orders(min(500, count - made), status="paid"))
    return made


def timed(action) -> tuple[object, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def timed_cpu(action) -> tuple[object, float, float]:
    """(result, wall seconds, this process's CPU seconds): CPU time is the fair figure on a
    machine shared with other work."""
    cpu = time.process_time()
    result, wall = timed(action)
    return result, wall, time.process_time() - cpu


def profiled(path: str | None, action):
    if not path:
        return action()
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(action)
    finally:
        profiler.dump_stats(path)
        print(f"profile written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--profile", default=None,
                        help="write cProfiles of both runs to PREFIX-sales.prof and "
                             "PREFIX-shipments.prof", metavar="PREFIX")
    args = parser.parse_args()
    setup_django("throughput")
    from django.db import connection as db

    from dropstream.orders.models import Order
    from dropstream.sandbox.warehouse.robot import WarehouseRobot
    from dropstream.shipments.models import Shipment

    bench = make_bench(products=200, separate_process=True, orders_per_file=500)
    try:
        created, create_s = timed(lambda: create_paid_orders(bench.control, args.orders))
        print(f"sandbox: {created} paid orders created in {create_s:.1f} s")
        bench.control.reset_meter()
        pids = (bench.sandbox.process.pid, database_pid())
        store_cpu, db_cpu = (cpu_since(pid) for pid in pids)
        sales, sales_s, sales_cpu = timed_cpu(
            lambda: profiled(args.profile and f"{args.profile}-sales.prof",
                             lambda: bench.run("sales_order")))
        sales_elsewhere = (store_cpu(), db_cpu())
        in_files = count_order_rows(bench.root)
        store_requests = bench.control.meter()["total"]
        rss_after_sales = peak_rss_mb()

        robot = WarehouseRobot(f"file://{bench.root}", ship_delay_s=0, split_rate=0,
                               short_rate=0, default_stock=10_000_000,
                               state_path=str(bench.root.parent / f"{bench.root.name}-robot.json"))
        _, robot_s = timed(lambda: (robot.tick(), robot.ship_all_now()))
        bench.control.reset_meter()
        store_cpu, db_cpu = (cpu_since(pid) for pid in pids)
        shipments, ship_s, ship_cpu = timed_cpu(
            lambda: profiled(args.profile and f"{args.profile}-shipments.prof",
                             lambda: bench.run("shipment")))
        ship_elsewhere = (store_cpu(), db_cpu())
        posted = shipments.counts.get("shipments_posted", 0)
        ship_requests = bench.control.meter()["total"]
        completed = Shipment.objects.filter(state="completed").count()
        shipped = Order.objects.filter(status="shipped").count()
    finally:
        bench.sandbox.stop()

    rows = [
        ("import+prepare+export", f"{sales.counts.get('exported', 0)} orders "
         f"({in_files} rows in /in)", f"{sales_s:.1f}", f"{sales_cpu:.1f}",
         *sales_elsewhere,
         f"{sales.counts.get('exported', 0) / sales_s:.0f} orders/s", store_requests,
         f"{rss_after_sales:.0f}"),
        ("warehouse robot (not hub)", f"{shipped} orders shipped", f"{robot_s:.1f}", "-", "-",
         "-", "-", "-", "-"),
        ("shipments: import+post", f"{posted} posted ({completed} completed)", f"{ship_s:.1f}",
         f"{ship_cpu:.1f}", *ship_elsewhere,
         f"{posted / ship_s:.0f} shipments/s", ship_requests, f"{peak_rss_mb():.0f}"),
    ]
    print_table(f"Throughput on {db.vendor} (sandbox in its own process; target ≥ 300 orders/s "
                "through import+export)",
                ("phase", "work", "wall s", "hub CPU s", "store CPU s", "db CPU s", "rate (wall)",
                 "store requests", "peak RSS MB"), rows)


if __name__ == "__main__":
    main()

"""Growth curve: time per order and peak memory of import+export (and shipments back) at 1k,
10k and 100k orders.

Each size runs in a fresh child process (its own database, sandbox and peak RSS), the Bright
Sites sandbox in a process of its own, the warehouse robot in another (so its memory is not
counted as the hub's):

    .venv/bin/python benchmarks/scale.py                       # 1000,10000,100000
    .venv/bin/python benchmarks/scale.py --sizes 1000,10000 --no-shipments
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_NAME .venv/bin/python benchmarks/scale.py

Time per order is the hub's CPU time per order (the fair figure on a shared machine), the same
scaled to a reference machine speed (a fixed workload timed before and after each phase: these
shared machines run the same code up to ~50 % slower from one minute to the next), and the
wall time beside it; it must stay within ±25 % of the smallest size's, and the hub's peak RSS
must not grow with the order count (no list of all orders in memory).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time

from harness import ROOT, machine_speed, make_bench, print_table, setup_django

FLAT = 0.25  # allowed drift of time per order from the smallest size
REFERENCE = 0.1  # seconds of harness.machine_speed() the "at ref. speed" columns scale to


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ship_everything(root: str) -> None:
    """The warehouse robot, in a child process: it reads every order file and ships it all."""
    from pathlib import Path

    from dropstream.sandbox.warehouse.robot import WarehouseRobot

    robot = WarehouseRobot(f"file://{root}", ship_delay_s=0, split_rate=0, short_rate=0,
                           default_stock=10_000_000,
                           state_path=str(Path(root).parent / f"{Path(root).name}-robot.json"))
    robot.tick()
    robot.ship_all_now()


def measure(size: int, shipments: bool) -> dict:
    """One size in this process: returns the figures as a dict."""
    setup_django(f"scale{size}")
    from django.db import connection as db

    bench = make_bench(products=200, separate_process=True, orders_per_file=500)
    try:
        made = 0
        while made < size:
            made += len(bench.control.create_orders(min(500, size - made), status="paid"))
        bench.control.reset_meter()
        sales_speed = machine_speed()
        cpu, wall = time.process_time(), time.perf_counter()
        sales = bench.run("sales_order")
        sales_cpu, sales_wall = time.process_time() - cpu, time.perf_counter() - wall
        sales_speed = (sales_speed + machine_speed()) / 2
        figures = {"size": size, "vendor": db.vendor,
                   "exported": sales.counts.get("exported", 0),
                   "sales_cpu": sales_cpu, "sales_wall": sales_wall,
                   "sales_requests": bench.control.meter()["total"],
                   "sales_rss": peak_rss_mb(), "sales_speed": sales_speed}
        if shipments:
            robot = multiprocessing.get_context("fork").Process(
                target=_ship_everything, args=(str(bench.root),))
            robot.start()
            robot.join()
            bench.control.reset_meter()
            ship_speed = machine_speed()
            cpu, wall = time.process_time(), time.perf_counter()
            shipped = bench.run("shipment")
            ship_cpu, ship_wall = time.process_time() - cpu, time.perf_counter() - wall
            ship_speed = (ship_speed + machine_speed()) / 2
            figures.update(posted=shipped.counts.get("shipments_posted", 0),
                           ship_cpu=ship_cpu, ship_wall=ship_wall,
                           ship_requests=bench.control.meter()["total"],
                           ship_rss=peak_rss_mb(), ship_speed=ship_speed)
    finally:
        bench.sandbox.stop()
    return figures


def run_child(size: int, shipments: bool) -> dict:
    command = [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--one", str(size)]
    if not shipments:
        command.append("--no-shipments")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(),
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"size {size} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    # Each size's figures as it ends, so a long curve cut short still shows what it measured.
    print(f"{size} orders done in {time.perf_counter() - started:.0f} s: {json.dumps(figures)}",
          flush=True)
    return figures


def flatness(values: list[float]) -> str:
    base = values[0]
    worst = max(((v - base) / base for v in values), key=abs) if base else 0.0
    return (f"{'flat' if abs(worst) <= FLAT else 'NOT flat'} "
            f"(worst drift {worst:+.0%} of the first)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-shipments", dest="shipments", action="store_false")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.shipments)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = [run_child(size, args.shipments) for size in sizes]
    vendor = results[0]["vendor"]
    rows = []
    for r in results:
        n = r["exported"] or 1
        row = [r["size"], r["exported"], f"{r['sales_speed']:.3f}",
               f"{r['sales_cpu'] / n * 1000:.2f}",
               f"{r['sales_cpu'] / n * 1000 * REFERENCE / r['sales_speed']:.2f}",
               f"{r['sales_wall'] / n * 1000:.2f}", f"{r['sales_requests'] / n:.3f}",
               f"{r['sales_rss']:.0f}"]
        if args.shipments:
            p = r["posted"] or 1
            row += [r["posted"], f"{r['ship_speed']:.3f}", f"{r['ship_cpu'] / p * 1000:.2f}",
                    f"{r['ship_cpu'] / p * 1000 * REFERENCE / r['ship_speed']:.2f}",
                    f"{r['ship_wall'] / p * 1000:.2f}", f"{r['ship_requests'] / p:.3f}",
                    f"{r['ship_rss']:.0f}"]
        rows.append(tuple(row))
    header = ["orders", "exported", "speed s", "sales CPU ms/order", "at ref. speed",
              "sales wall ms/order", "requests/order", "peak RSS MB (sales)"]
    if args.shipments:
        header += ["posted", "speed s", "ship CPU ms/shipment", "at ref. speed",
                   "ship wall ms/shipment", "requests/shipment", "peak RSS MB (all)"]
    print_table(f"Growth curve on {vendor} (hub process; load {os.getloadavg()[0]:.1f})",
                tuple(header), rows)
    print(f"speed s: CPU seconds of a fixed pure-Python workload just before the phase "
          f"and after it, averaged (harness.machine_speed); 'at ref. speed' scales the CPU figure to {REFERENCE} s")
    for label, cpu, count, speed in (("sales CPU per order", "sales_cpu", "exported",
                                      "sales_speed"),
                                     ("shipment CPU per shipment", "ship_cpu", "posted",
                                      "ship_speed"))[:2 if args.shipments else 1]:
        raw = [r[cpu] / (r[count] or 1) for r in results]
        print(f"{label}: {flatness(raw)}; at the reference speed: "
              f"{flatness([v / r[speed] for v, r in zip(raw, results, strict=True)])}")
    rss_key = "ship_rss" if args.shipments else "sales_rss"
    print(f"peak RSS: {results[0][rss_key]:.0f} MB at {sizes[0]} → "
          f"{results[-1][rss_key]:.0f} MB at {sizes[-1]} orders")


if __name__ == "__main__":
    main()

"""Import + prepare + export throughput with 50 active rules, compared with none.

    .venv/bin/python benchmarks/rules_flow.py [--orders 2000] [--rules 50]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/rules_flow.py

Each variant has its own store on its own Bright Sites sandbox process with ``--orders`` paid
orders, and three connections of that store (one imports; two receive what rules route to
them), each with its own DSFX folder. A variant is timed from the importing connection's
sales run to the last receiving connection's: every order is imported, evaluated, prepared and
written to one of the three warehouses (or stopped by a rule: held, skipped, in Error). The
rules are ``benchmarks/rules.py``'s 50 (every kind: filters, sets, holds, routes, splits), their
SKU prefixes replaced by the sandbox catalog's most common ones so that the SKU rules (line
rejects and routes, holds, splits) fire on its orders as the others do.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from harness import make_bench, print_table, setup_django
from rules import SKU_PREFIXES, create_rules
from throughput import count_order_rows, create_paid_orders


def receiving_connections(bench, count: int) -> list:
    """``count`` more connections of the bench's store, each with its own folder, importing
    nothing themselves."""
    import tempfile
    from pathlib import Path

    from django.utils import timezone

    from dropstream.connections import actions

    made = []
    first = bench.connection
    for n in range(count):
        root = Path(tempfile.mkdtemp(prefix="dropstream-bench-dsfx-"))
        (root / "in").mkdir()
        (root / "out").mkdir()
        warehouse = actions.create_warehouse(first.customer, platform="dropstream",
                                             description=f"Receiving {n + 1}", adapter={
                                                 "connection_string": f"file://{root}",
                                                 "settle_seconds": 0})
        connection = actions.create_connection(name=f"{first.name} {n + 2}",
                                               customer=first.customer, store=first.store,
                                               warehouse=warehouse)
        connection.imports_orders = False
        connection.save(update_fields=["imports_orders"])
        actions.set_connection_enabled(connection, timezone.now())
        made.append((connection, root))
    return made


def catalog_prefixes(control) -> dict[str, str]:
    """The synthetic SKU prefixes of ``rules.py`` → the sandbox catalog's commonest (two
    letters each), commonest first."""
    counts = Counter(record["final_sku"][:2] for record in control.inventories())
    common = [prefix for prefix, _ in counts.most_common(len(SKU_PREFIXES))]
    return dict(zip(("PRE", "BAG", "GIFT", "MUG", "TEE", "HOOD", "CAP"), common, strict=False))


def run_variant(label: str, orders: int, rule_count: int) -> tuple:
    from dropstream.orders.models import Order
    from dropstream.scheduling.actions import run_here

    bench = make_bench(products=200, subdomain=label, separate_process=True)
    try:
        others = receiving_connections(bench, 2)
        if rule_count:
            create_rules(bench.connection.store,
                         [bench.connection] + [c for c, _ in others], rule_count,
                         prefixes=catalog_prefixes(bench.control))
        create_paid_orders(bench.control, orders)
        started, cpu = time.perf_counter(), time.process_time()
        bench.run("sales_order")
        for connection, _ in others:
            outcome, run = run_here(connection.channels.get(type="sales_order"),
                                    wait_seconds=60)
            if outcome != "succeeded":
                raise SystemExit(f"{connection} sales run failed: {run.error}")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = count_order_rows(bench.root) + sum(count_order_rows(root) for _, root in others)
        statuses = Counter(Order.objects.filter(store=bench.connection.store)
                           .values_list("status", flat=True))
        parts = Order.objects.filter(store=bench.connection.store, parent__isnull=False).count()
    finally:
        bench.sandbox.stop()
    return wall, cpu, rows, statuses, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--rules", type=int, default=50)
    args = parser.parse_args()
    setup_django("rules-flow")
    from django.db import connection as db

    results = {}
    for label, count in (("none", 0), ("rules", args.rules)):
        results[label] = run_variant(label, args.orders, count)
    base_wall = results["none"][0]
    rows = []
    for label, (wall, cpu, written, statuses, parts) in results.items():
        stopped = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()) if k != "open")
        rows.append((f"{label} ({args.rules if label == 'rules' else 0} rules)",
                     args.orders, written, parts, stopped or "-", f"{wall:.1f}", f"{cpu:.1f}",
                     f"{args.orders / wall:.0f}", f"{wall / base_wall:.2f}"))
    print_table(f"Import + prepare + export on {db.vendor}, three warehouses of one store",
                ("variant", "orders", "rows written", "parts", "not sent (status count)",
                 "wall s", "hub CPU s", "orders/s", "× none"), rows)


if __name__ == "__main__":
    main()

"""Store requests made ÷ the fewest possible (DESIGN.md "Cost model"). Target 1.00 per row.

    .venv/bin/python benchmarks/cost.py
"""

from __future__ import annotations

import math
import threading
import time

from harness import add_warehouse, make_bench, print_table, setup_django


def meter_total(bench) -> int:
    return bench.control.meter()["total"]


def measure(bench, action) -> int:
    bench.control.reset_meter()
    action()
    return meter_total(bench)


def write_inventory_file(root, levels: dict[str, int], stamp: str) -> None:
    rows = ["sku,available,on_hand,facility"] + [f"{sku},{qty},{qty}," for sku, qty in
                                                  levels.items()]
    (root / "out" / f"inv_1_{stamp}.csv").write_text("\r\n".join(rows) + "\r\n")


def serve_hub() -> str:
    """The hub's WSGI app on a free loopback port, for the sandbox's pushes."""
    import socket

    from waitress.server import create_server

    from dropstream.wsgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server(application, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{port}"


def drain_queue() -> None:
    """Run the queued push imports here (the benchmark's stand-in for `dropstream worker`)."""
    from huey.contrib.djhuey import HUEY

    while (task := HUEY.dequeue()) is not None:
        HUEY.execute(task)


def main() -> None:
    setup_django("cost", immediate_queue=False)
    from dropstream.orders.models import Order
    from dropstream.sandbox.warehouse.robot import WarehouseRobot

    rows = []
    bench = make_bench(products=2000)
    bench.control.create_orders(5, status="paid")
    bench.run("sales_order")

    # 1. An import tick with nothing new.
    used = measure(bench, lambda: bench.run("sales_order"))
    rows.append(("idle import tick", used, 1))

    # 2. 1,000 new orders by polling, placed after the earlier ones left the overlap window.
    bench.control.clock(advance_seconds=600)
    bench.control.create_orders(1000, status="paid")
    used = measure(bench, lambda: bench.run("sales_order"))
    rows.append(("1,000 new orders by polling", used, math.ceil(1000 / 500) + 1000))

    # 3. 1,000 new orders by push.
    hub_url = serve_hub()
    store = bench.connection.store
    before = Order.objects.count()
    bench.control.set_push(f"{hub_url}/hooks/brightsites/{store.push_secret}")
    bench.control.reset_meter()
    bench.control.create_orders(1000, status="paid")
    drain_queue()
    deadline = time.monotonic() + 300
    while Order.objects.count() < before + 1000 and time.monotonic() < deadline:
        time.sleep(0.2)
        drain_queue()
    bench.control.clear_push()
    rows.append(("1,000 new orders by push", meter_total(bench), 0))
    bench.run("sales_order")  # export them (no store requests beyond the idle list)

    # 4. 300 shipments (one package each), with the order status set: a connection of its own.
    shipping = make_bench(subdomain="ship")
    shipping.control.create_orders(300, status="paid")
    shipping.run("sales_order")
    robot = WarehouseRobot(f"file://{shipping.root}", ship_delay_s=0, split_rate=0,
                           short_rate=0, default_stock=100000,
                           state_path=str(shipping.root.parent / f"{shipping.root.name}.json"))
    robot.ship_all_now()
    used = measure(shipping, lambda: shipping.run("shipment"))
    shipped = Order.objects.filter(connection=shipping.connection, status="shipped").count()
    rows.append((f"{shipped} shipments (+1 status per order)", used, shipped * 2))
    shipping.sandbox.stop()

    # 5./6. Inventory smart sync: 50 of 2,000 products changed, then nothing changed.
    records = [r for r in bench.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    levels = {r["final_sku"]: 10 for r in records}
    write_inventory_file(bench.root, levels, "000001")
    bench.run("inventory", mode="full")  # seeds the tally and the SKU map
    product_of = {r["final_sku"]: r["product_id"] for r in records}
    changed_products: list = []
    for sku in levels:
        if product_of[sku] not in changed_products:
            changed_products.append(product_of[sku])
        if len(changed_products) == 50:
            break
    for sku in levels:
        if product_of[sku] in changed_products:
            levels[sku] = 3
    write_inventory_file(bench.root, levels, "000002")
    used = measure(bench, lambda: bench.run("inventory"))
    rows.append((f"smart sync, 50 of {len(set(product_of.values()))} products changed", used, 50))
    write_inventory_file(bench.root, levels, "000003")
    used = measure(bench, lambda: bench.run("inventory"))
    rows.append(("smart sync, nothing changed", used, 0))

    # 7./8. A second warehouse of the store (issue 16) stocks the SKUs of those 50 products: the
    # store-wide sums of 50 products change; the first connection, right after, finds nothing.
    west = add_warehouse(bench)
    write_inventory_file(west.root, {sku: 5 for sku in levels
                                     if product_of[sku] in changed_products}, "000004")
    used = measure(west, lambda: west.run("inventory"))
    rows.append(("second warehouse: 50 products' store-wide sums changed", used, 50))
    used = measure(bench, lambda: bench.run("inventory"))
    rows.append(("first warehouse's run right after, nothing changed", used, 0))

    table = []
    for name, made, bound in rows:
        ratio = f"{made / bound:.3f}" if bound else ("1.000" if made == 0 else "∞")
        table.append((name, made, bound, ratio))
    print_table("Store requests ÷ the fewest possible (target 1.000)",
                ("work", "requests", "bound", "ratio"), table)
    bench.sandbox.stop()


if __name__ == "__main__":
    main()

"""Extensiv warehouse requests per order, through the hub's own flows.

N paid orders in the Bright Sites sandbox → ``sales_order`` run (import, prepare, one
``POST /orders`` each) → the Extensiv simulator ships them all → ``shipment`` run (poll, post
tracking to the store) → a quiet ``shipment`` tick. Every warehouse request is counted by the
simulator's own meter, so nothing the adapter does escapes the count.

Targets (issue 13): 1 create per order, token fetches ≤ 1 per token lifetime, shipment polling
≤ ⌈changed orders / 500⌉ + 1 requests per tick. Quiet ticks re-read the overlap window before
the cursor (``poll_overlap_seconds``) until it has passed once; after that a quiet tick is one
request. ``--overlap`` sets the window short so the benchmark can wait it out.

Run: ``.venv/bin/python benchmarks/extensiv_requests.py [--orders 1000] [--mode reject|allow]``
Set DATABASE_URL to run on PostgreSQL.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import print_table, setup_django  # noqa: E402

PAGE = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--mode", choices=("reject", "allow"), default="reject")
    parser.add_argument("--overlap", type=int, default=5,
                        help="poll_overlap_seconds (the platform's default is 600)")
    args = parser.parse_args()
    # Both simulators serve on loopback, which the hub refuses unless the operator allows it.
    os.environ.setdefault("DROPSTREAM_ALLOWED_STORE_HOSTS", "127.0.0.1,::1")
    os.environ.setdefault("DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS", "127.0.0.1,::1")
    setup_django("extensiv")

    from django.utils import timezone

    from dropstream.connections import actions
    from dropstream.orders.models import Order
    from dropstream.sandbox.brightsites.control import SandboxControl
    from dropstream.sandbox.brightsites.server import BrightSitesSandbox
    from dropstream.sandbox.extensiv.model import STATUS_OPEN
    from dropstream.sandbox.extensiv.server import ExtensivSandbox
    from dropstream.sync.runner import run_channel

    store_token = "bench-" + secrets.token_hex(12)
    shop = BrightSitesSandbox(port=0).start()
    shop.add_store("bench", read_write_token=store_token, read_only_token=store_token + "-ro")
    control = SandboxControl(shop.control_url("bench"))
    wms = ExtensivSandbox(port=0, seed=3, settings={"duplicate_reference": args.mode}).start()
    secret = secrets.token_urlsafe(18)
    tenant = wms.add_tenant("bench", client_id="bench", client_secret=secret,
                            user_login="hub-integration")
    tenant.add_customer(143, "Bench Co")
    tenant.add_facility(10, "LAX-1")
    for sku in dict.fromkeys(r["final_sku"] for r in control.inventories()):
        tenant.add_sku(143, sku, stock={10: 100_000})

    merchant = actions.create_merchant("Bench Merchant")
    store = actions.create_store(merchant, name="Bench", platform="brightsites", adapter={
        "subdomain": "bench", "api_token": store_token, "api_url": shop.api_url("bench")},
        import_since="2000-01-01T00:00:00Z")
    warehouse = actions.create_warehouse(merchant, platform="extensiv", adapter={
        "base_url": wms.base_url, "client_id": "bench", "client_secret": secret,
        "user_login": "hub-integration", "wms_customer_id": 143, "facility_id": 10,
        "duplicate_reference": args.mode, "poll_overlap_seconds": args.overlap})
    connection = actions.create_connection(name="Bench", customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    for start in range(0, args.orders, 500):
        control.create_orders(min(500, args.orders - start), status="paid")

    def run(channel: str) -> float:
        started = time.perf_counter()
        result = run_channel(connection.pk, channel)
        if not result.ok:
            raise SystemExit(f"{channel} run failed: {result.error}")
        return time.perf_counter() - started

    rows = []
    wms.meter.reset()
    sales_s = run("sales_order")
    sent = Order.objects.filter(status="open").count()
    sales = wms.meter.snapshot()["by_endpoint"]
    rows.append(("sales_order", sent, sales_s, sales))

    with tenant.lock:
        open_ids = [o.order_id for o in tenant.orders.values() if o.status == STATUS_OPEN]
    for order_id in open_ids:
        tenant.ship(order_id)
    wms.meter.reset()
    ship_s = run("shipment")
    rows.append(("shipment", len(open_ids), ship_s, wms.meter.snapshot()["by_endpoint"]))
    wms.meter.reset()
    quiet_s = run("shipment")
    rows.append(("quiet tick 1", 0, quiet_s, wms.meter.snapshot()["by_endpoint"]))
    time.sleep(args.overlap + 1)  # the overlap window passes in hub time
    for label in ("quiet tick 2", "quiet tick 3"):
        wms.meter.reset()
        seconds = run("shipment")
        rows.append((label, 0, seconds, wms.meter.snapshot()["by_endpoint"]))

    table = []
    for phase, orders, seconds, endpoints in rows:
        total = sum(endpoints.values())
        bound = (sent + 1 if phase == "sales_order" else math.ceil(orders / PAGE) + 1)
        detail = ", ".join(f"{k} {v}" for k, v in sorted(endpoints.items()))
        table.append((phase, orders, total, f"{total / max(orders, 1):.3f}",
                      f"{total / bound:.2f}", f"{seconds:.1f}",
                      f"{orders / seconds:.0f}" if orders else "-", detail))
    print_table(f"Extensiv warehouse requests, {args.orders} orders, duplicate mode "
                f"{args.mode} (bound: sales = 1 create per order + 1 token; shipments = "
                f"ceil(changed / {PAGE}) + 1)",
                ("phase", "orders", "requests", "per order", "÷ bound", "seconds", "orders/s",
                 "by endpoint"), table)
    total_s = sales_s + ship_s
    print(f"\nimport → create → shipments back: {sent} orders in {total_s:.1f}s "
          f"({sent / total_s:.0f} orders/s)")
    wms.stop()
    shop.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

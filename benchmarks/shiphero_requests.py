"""ShipHero: GraphQL requests and credits per order sent, and the cost of an idle
reconciliation tick, measured on the ShipHero simulator over loopback HTTP (adapter level, no
database).

Rows:

- ``send``       ShipHeroWarehouse.submit of N orders of 2 lines (order_create each, plus the
                 token refresh);
- ``recover``    submitted() for the same N orders (one partner_order_id look-up each), what a
                 run pays after a crash before re-sending;
- ``idle tick``  fetch_shipments with nothing new (shipments + canceled orders since the cursor).

Run: ``.venv/bin/python benchmarks/shiphero_requests.py [--orders 1000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dropstream.platforms.base import (  # noqa: E402
    AdapterContext,
    Address,
    WarehouseOrder,
    WarehouseOrderLine,
)
from dropstream.platforms.shiphero.adapter import ShipHeroWarehouse  # noqa: E402
from dropstream.platforms.shiphero.client import forget_tokens  # noqa: E402
from dropstream.sandbox.shiphero import ShipHeroSandbox, SimClock  # noqa: E402

SKUS = ("BENCH-A", "BENCH-B")


def orders(count: int) -> list[WarehouseOrder]:
    now = datetime.now(UTC)
    ship_to = Address(name="Jane Buyer", street1="12 Harbor Street", city="Portland",
                      state="OR", postal_code="97209", country="US", email="jane@example.com")
    return [WarehouseOrder(order_number=f"B{n:05d}", ordered_at=now, ship_to=ship_to,
                           bill_to=None, ship_method="UPS Ground",
                           lines=(WarehouseOrderLine(1, SKUS[0], 1, Decimal("10.00")),
                                  WarehouseOrderLine(2, SKUS[1], 2, Decimal("4.50"))))
            for n in range(1, count + 1)]


def measure(sim: ShipHeroSandbox, action) -> tuple[int, int, float]:
    sim.reset_meter()
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    meter = sim.meter_snapshot()
    return meter["requests"]["total"], meter["credits"]["charged"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    forget_tokens()
    with ShipHeroSandbox(seed=1, clock=SimClock()) as sim:
        # Credits are not the limit here (the default bucket would make 1,000 orders wait for
        # about three minutes of restore, which measures the clock, not the adapter).
        sim.configure(credits_max=10**9, credits_max_per_operation=10**9)
        brand = sim.add_account("Bench", refresh_token="bench-refresh-token-0001")
        warehouse = sim.add_warehouse(brand, "Primary")
        for sku in SKUS:
            sim.add_product(brand, sku, stock={warehouse: 10**7})
        settings = {"api_url": sim.url, "refresh_token": "bench-refresh-token-0001",
                    "shop_name": "bench"}
        batch = orders(args.orders)
        adapter = ShipHeroWarehouse(settings, AdapterContext())
        try:
            rows = [("send", *measure(sim, lambda: adapter.submit(batch, key="bench")),
                     len(batch)),
                    ("recover", *measure(sim, lambda: adapter.submitted("bench", batch)),
                     len(batch)),
                    ("idle tick", *measure(sim, lambda: list(adapter.fetch_shipments())), 1)]
        finally:
            adapter.close()
    print(f"ShipHero GraphQL cost, {args.orders} orders of 2 lines (simulator, loopback)")
    print(f"{'phase':<10} {'requests':>9} {'credits':>9} {'req/order':>10} "
          f"{'credits/order':>14} {'seconds':>8}")
    for name, requests, credits, seconds, per in rows:
        print(f"{name:<10} {requests:>9} {credits:>9} {requests / per:>10.3f} "
              f"{credits / per:>14.2f} {seconds:>8.2f}")


if __name__ == "__main__":
    main()

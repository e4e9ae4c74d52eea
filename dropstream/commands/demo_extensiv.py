"""The demo's Extensiv warehouse: the Extensiv 3PL Warehouse Manager simulator on a free
loopback port, its tenant stocked with the demo store's SKUs, and a warehouse crew that ships
each new order a few seconds after it arrives (now and then in two packages, rarely short)."""

from __future__ import annotations

import random
import secrets
import threading
from pathlib import Path

from dropstream.commands.demo import DemoWarehouse
from dropstream.sandbox.brightsites.store.state import Store
from dropstream.sandbox.brightsites.wire import Clock
from dropstream.sandbox.extensiv.model import STATUS_OPEN
from dropstream.sandbox.extensiv.server import DEMO_CUSTOMER, ExtensivSandbox, seed_demo
from dropstream.sandbox.extensiv.warehouse import ControlError, Tenant

CLIENT_ID = "dropstream-demo"
SHIP_AFTER_SECONDS = 5.0
# The demo store is the Bright Sites sandbox's store "demo" with its default seed and size
# (commands/demo.py): the same catalog, so every SKU it sells exists in the warehouse.
STORE_SEED, STORE_PRODUCTS = 1, 40


def _store_skus() -> list[str]:
    store = Store("demo", seed=STORE_SEED, clock=Clock(), products=STORE_PRODUCTS)
    return list(dict.fromkeys(r["final_sku"] for r in store.raw_inventories()))


def _ship_due(tenant: Tenant, rng: random.Random, seen: dict[int, float], now: float) -> None:
    """Ship every open order that has waited long enough."""
    with tenant.lock:
        open_ids = [o.order_id for o in tenant.orders.values() if o.status == STATUS_OPEN]
    for order_id in open_ids:
        first_seen = seen.setdefault(order_id, now)
        if now - first_seen < SHIP_AFTER_SECONDS:
            continue
        with tenant.lock:
            order = tenant.orders[order_id]
            items = [(line.item.sku, int(line.qty)) for line in order.items]
        packages = None
        if len(items) > 1 and rng.random() < 0.3:
            packages = [{"contents": [{"sku": sku, "qty": qty}]} for sku, qty in items]
        elif rng.random() < 0.05 and items[0][1] > 1:
            packages = [{"contents": [{"sku": items[0][0], "qty": items[0][1] - 1}]}]
        try:
            tenant.ship(order_id, packages)
        except ControlError:
            tenant.cancel(order_id)  # not enough stock: the warehouse cancels it


def start(home: Path, hub_url: str) -> DemoWarehouse:
    sandbox = ExtensivSandbox(port=0, seed=1).start()
    secret = secrets.token_urlsafe(18)
    tenant = seed_demo(sandbox, CLIENT_ID, secret)
    known = {item.sku for item in tenant.items.values()}
    for sku in _store_skus():
        if sku not in known:
            tenant.add_sku(DEMO_CUSTOMER[0], sku, stock={10: 300, 11: 40})
    stop = threading.Event()
    rng = random.Random(7)

    def crew() -> None:
        seen: dict[int, float] = {}
        clock = 0.0
        while not stop.wait(1.0):
            clock += 1.0
            _ship_due(tenant, rng, seen, clock)

    worker = threading.Thread(target=crew, name="demo-extensiv-crew", daemon=True)
    worker.start()

    def stop_all() -> None:
        stop.set()
        worker.join(timeout=5)
        sandbox.stop()

    return DemoWarehouse(
        platform="extensiv", description="Demo Extensiv warehouse (simulator)",
        adapter={"base_url": sandbox.base_url, "client_id": CLIENT_ID, "client_secret": secret,
                 "user_login": "hub-integration", "wms_customer_id": DEMO_CUSTOMER[0],
                 "facility_id": 10, "inventory_facility_ids": "10, 11",
                 "poll_overlap_seconds": 60},
        lines=[f"Extensiv sandbox: {sandbox.base_url} (control: {sandbox.control_url}), "
               f"client id {CLIENT_ID}, customer {DEMO_CUSTOMER[0]}, facilities 10 and 11"],
        stop=stop_all)

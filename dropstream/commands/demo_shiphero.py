"""The demo's ShipHero warehouse: the ShipHero simulator on a loopback port, with a small
fulfilment robot that stocks whatever SKUs the demo store sells, ships each order a few seconds
after it arrives (now and then in two packages) and lets the webhooks tell the hub."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path

from dropstream.commands.demo import DemoWarehouse
from dropstream.sandbox.shiphero import ShipHeroSandbox
from dropstream.sandbox.shiphero import stock as sim_stock

SHIP_AFTER_SECONDS = 5.0
HOOKS = ("Shipment Update", "Order Canceled", "Inventory Update")
SHOP = "dropstream-demo"
logger = logging.getLogger("dropstream.demo")


class Robot:
    """Registers the hub's webhooks once its warehouse exists, then ships what arrives."""

    def __init__(self, sim: ShipHeroSandbox, account, warehouse, hub_url: str) -> None:
        self.sim, self.account, self.warehouse, self.hub_url = sim, account, warehouse, hub_url
        self.registered = False
        self.stop_event = threading.Event()
        self.shipped: set[int] = set()
        self.count = 0

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            try:
                if not self.registered:
                    self.register()
                self.ship_due()
            except Exception:  # noqa: BLE001 — the demo keeps going; the log says what failed
                logger.exception("ShipHero demo robot step failed")

    def register(self) -> None:
        from dropstream.connections import actions
        from dropstream.connections.models import Warehouse

        hub = Warehouse.objects.filter(platform="shiphero").order_by("-id").first()
        if hub is None:
            return
        url = f"{self.hub_url}/hooks/shiphero/{hub.hook_secret}"
        secret = ""
        for name in HOOKS:
            made = self.sim.register_webhook(self.account, name, url, shop_name=SHOP)
            hook = self.sim._webhook(made["id"])  # noqa: SLF001 — one secret for the three
            secret = secret or made["shared_signature_secret"]
            hook.shared_signature_secret = secret
        actions.update_adapter_settings(hub, {"webhook_secret": secret})
        self.registered = True

    def ship_due(self) -> None:
        now = time.time()
        due = []
        with self.sim.state.lock:
            owner = self.sim.state.account(self.account.legacy_id)
            for order in owner.orders:
                if order.legacy_id in self.shipped or order.canceled or \
                        now - order.created_at.timestamp() < SHIP_AFTER_SECONDS:
                    continue
                self._stock_lines(owner, order)
                due.append(order)
        for order in due:
            self.shipped.add(order.legacy_id)
            self.count += 1
            lines = [line for line in order.line_items if line.quantity_allocated > 0]
            if self.count % 3 == 0 and len(lines) > 1:  # now and then, two packages
                half = len(lines) // 2
                packages = [{"lines": {ln.partner_line_item_id: ln.quantity_allocated
                                       for ln in part}} for part in (lines[:half], lines[half:])]
            else:
                packages = None
            self.sim.ship_order(order.legacy_id, packages, force=True)

    def _stock_lines(self, owner, order) -> None:
        """Give a SKU the demo store sells, and ShipHero does not know yet, a product and
        stock, and allocate the order again (the simulator accepted it backordered)."""
        missing = [line for line in order.line_items if line.product is None]
        for line in missing:
            product = owner.products.get(line.sku) or self.sim.state.add_product(
                owner, line.sku, name=line.product_name or line.sku, price=str(line.price))
            row = self.sim.state.stock_row(
                product, self.sim.state.warehouse(owner, self.warehouse.legacy_id))
            if row.on_hand < 500:
                row.on_hand = 500
            line.product = product
        if missing:
            sim_stock.allocate_order(self.sim.state, order)


def start(home: Path, hub_url: str) -> DemoWarehouse:
    sim = ShipHeroSandbox(port=0).start()
    sim.configure(unknown_sku="backorder", address_validation=False,
                  webhook_retry_delay_seconds=1.0)
    refresh_token = "demo-rt-" + secrets.token_hex(12)
    account = sim.add_account("Demo Brand", refresh_token=refresh_token)
    warehouse = sim.add_warehouse(account, "Primary")
    robot = Robot(sim, account, warehouse, hub_url)
    thread = threading.Thread(target=robot.run, name="shiphero-demo-robot", daemon=True)
    thread.start()

    def stop() -> None:
        robot.stop_event.set()
        thread.join(timeout=5)
        sim.stop()

    return DemoWarehouse(
        platform="shiphero", description="Demo ShipHero account (simulator)",
        adapter={"api_url": sim.url, "refresh_token": refresh_token, "shop_name": SHOP},
        lines=[f"ShipHero simulator: {sim.graphql_url} (control: {sim.control_url})",
               "Orders ship about 5 s after they reach ShipHero; webhooks bring the tracking."],
        stop=stop)

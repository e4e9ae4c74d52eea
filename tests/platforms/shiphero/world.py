"""A whole connection against the ShipHero simulator: a Bright Sites sandbox store, the hub,
and a ``ShipHeroSandbox`` on loopback (real clock, so its credits restore and its dates agree
with the hub's). Fixtures (``*_fixture``, registered under the name without the suffix) are imported by
the test modules that use them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.utils import timezone

from dropstream.connections import actions
from dropstream.connections.models import Connection
from dropstream.platforms.shiphero.client import forget_tokens
from dropstream.sandbox.shiphero import AccountInfo, ShipHeroSandbox, SimClock, WarehouseInfo
from tests.fixtures.secret_leaks import make_secret

SHOP = "acme-hub"


@dataclass
class ShipHero:
    sim: ShipHeroSandbox
    brand: AccountInfo
    primary: WarehouseInfo
    skus: list[str]

    def orders(self) -> list[dict]:
        return self.sim.orders(self.brand)

    def orders_per_reference(self) -> Counter[str]:
        return Counter(o["partner_order_id"] for o in self.orders())

    def creates(self) -> int:
        """order_create requests that reached the simulator (any outcome)."""
        return int(self.sim.meter_snapshot()["requests"]["by_operation"].get("order_create", 0))


@pytest.fixture(name="bs_skus")
def bs_skus_fixture(bs_store) -> list[str]:
    records = [r for r in bs_store.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    return [record["final_sku"] for record in records[:3]]


@pytest.fixture(name="shiphero")
def shiphero_fixture(bs_skus) -> Iterator[ShipHero]:
    forget_tokens()
    sim = ShipHeroSandbox(seed=3, clock=SimClock())
    sim.configure(webhook_retry_delay_seconds=0.05, webhook_timeout_seconds=5.0,
                  address_validation=False)
    sim.start()
    brand = sim.add_account("Acme Outdoor", refresh_token=make_secret("shrt"))
    primary = sim.add_warehouse(brand, "Primary")
    for sku in bs_skus[:2]:
        sim.add_product(brand, sku, name=f"Product {sku}", price="10.00",
                        stock={primary: 100_000})
    try:
        yield ShipHero(sim, brand, primary, bs_skus)
    finally:
        sim.stop()
        forget_tokens()


def make_connection(bs_store, shiphero: ShipHero, **adapter) -> Connection:
    merchant = actions.create_merchant("Acme Outdoor")
    store = actions.create_store(merchant, name="Acme", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url}, import_since="2000-01-01T00:00:00Z")
    settings = {"api_url": shiphero.sim.url, "refresh_token": shiphero.brand.refresh_token,
                "shop_name": SHOP, **adapter}
    warehouse = actions.create_warehouse(merchant, platform="shiphero", description="ShipHero",
                                         adapter=settings)
    made = actions.create_connection(name="Acme ShipHero", customer=merchant, store=store,
                                     warehouse=warehouse)
    actions.set_connection_enabled(made, timezone.now())
    return made


@pytest.fixture(name="connection")
def connection_fixture(bs_store, shiphero) -> Connection:
    return make_connection(bs_store, shiphero)


def register_hooks(shiphero: ShipHero, connection: Connection, base_url: str,
                   names: tuple[str, ...] = ("Shipment Update", "Order Canceled",
                                             "Inventory Update")) -> str:
    """Register the hub's hook URL for ``names`` and save the signature secret; returns it.
    (The simulator gives each webhook its own secret; the hub keeps one, so every webhook
    after the first is registered and then given the first one's secret.)"""
    url = f"{base_url}/hooks/shiphero/{connection.warehouse.hook_secret}"
    secret = ""
    for name in names:
        made = shiphero.sim.register_webhook(shiphero.brand, name, url, shop_name=SHOP)
        hook = shiphero.sim._webhook(made["id"])  # noqa: SLF001 — one secret for all three
        secret = secret or made["shared_signature_secret"]
        hook.shared_signature_secret = secret
    actions.update_adapter_settings(connection.warehouse, {"webhook_secret": secret})
    connection.warehouse.refresh_from_db()
    return secret

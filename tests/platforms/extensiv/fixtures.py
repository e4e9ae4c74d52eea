"""An Extensiv simulator on loopback and a hub connection (Bright Sites sandbox → hub →
Extensiv) wired to it, for the platform's tests and its end-to-end tests.

The tenant ``acme`` has customer 143 (the connection's), customer 144 (someone else's) and
facilities 10 (orders go here) and 11; every SKU of the Bright Sites store exists for 143 with
stock in both facilities.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.utils import timezone

from dropstream.connections import actions
from dropstream.connections.models import Connection
from dropstream.platforms.extensiv.client import TOKENS
from dropstream.sandbox.extensiv.server import ExtensivSandbox
from dropstream.sandbox.extensiv.warehouse import Tenant
from tests.fixtures.secret_leaks import make_secret

CUSTOMER, FACILITY, OTHER_FACILITY = 143, 10, 11


@dataclass
class Wms:
    sandbox: ExtensivSandbox
    tenant: Tenant
    client_id: str
    client_secret: str
    skus: list[str]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.sandbox.control_url}/{path}", json=body,
                                 timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def settings(self, **changes: Any) -> None:
        self.sandbox.settings.update(**changes)

    def order_by_reference(self, reference: str) -> list[Any]:
        with self.tenant.lock:
            return [o for o in self.tenant.orders.values()
                    if o.reference_num.lower() == reference.lower()]

    def references(self) -> list[str]:
        with self.tenant.lock:
            return [o.reference_num for o in self.tenant.orders.values()]

    def drive(self, order_id: int, step: str, body: Any = None) -> Any:
        return self.control("POST", f"tenants/acme/orders/{order_id}/{step}", body or {})


@pytest.fixture(name="extensiv")
def extensiv_wms(bs_store) -> Iterator[Wms]:
    TOKENS.clear()  # tokens live in process memory: every test starts without one
    sandbox = ExtensivSandbox(seed=7).start()
    try:
        secret = make_secret("exs")
        tenant = sandbox.add_tenant("acme", client_id="hub-acme", client_secret=secret,
                                    user_login="hub-integration", user_login_id=412)
        tenant.add_customer(CUSTOMER, "Acme Outdoor Co")
        tenant.add_customer(144, "Other Brand")
        tenant.add_facility(FACILITY, "LAX-1")
        tenant.add_facility(OTHER_FACILITY, "NJ-2")
        skus = [r["final_sku"] for r in bs_store.control.inventories()]
        for index, sku in enumerate(dict.fromkeys(skus)):
            tenant.add_sku(CUSTOMER, sku, stock={FACILITY: 500 + index, OTHER_FACILITY: 7})
        yield Wms(sandbox, tenant, "hub-acme", secret, list(dict.fromkeys(skus)))
    finally:
        sandbox.stop()
        TOKENS.clear()


def warehouse_settings(wms: Wms, **overrides: Any) -> dict[str, Any]:
    return {"base_url": wms.sandbox.base_url, "client_id": wms.client_id,
            "client_secret": wms.client_secret, "user_login": "hub-integration",
            "wms_customer_id": CUSTOMER, "facility_id": FACILITY, **overrides}


def connect(bs_store, wms: Wms, **overrides: Any) -> Connection:
    merchant = actions.create_merchant("Acme Outdoor")
    store = actions.create_store(merchant, name="Acme", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url}, import_since="2000-01-01T00:00:00Z")
    warehouse = actions.create_warehouse(merchant, platform="extensiv", description="LAX-1",
                                         adapter=warehouse_settings(wms, **overrides))
    connection = actions.create_connection(name="Acme → Extensiv", customer=merchant,
                                           store=store, warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    return connection


def stockable(bs_store) -> list[str]:
    """Store SKUs whose stock the hub manages (not vendor-managed, tracked)."""
    return [r["final_sku"] for r in bs_store.control.inventories()
            if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]

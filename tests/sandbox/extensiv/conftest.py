"""A running Extensiv simulator with one tenant, and HTTP clients for it.

The tenant ``acme`` (seed 7, clock frozen at 2026-03-05T14:00:00Z) has customers 143 and 144,
facilities 10 (LAX-1) and 11 (NJ-2), both with ``timeZoneName`` UTC so dates read plainly, and:

* 143 TENT-4P-GRN (item 1001): 14 in facility 10, 5 in facility 11
* 143 STOVE-01 (item 1002): 3 in facility 10
* 144 OTHER-1 (item 2001): 9 in facility 10
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from dropstream.sandbox.extensiv.server import ExtensivSandbox
from dropstream.sandbox.extensiv.warehouse import Tenant
from dropstream.sandbox.extensiv.wire import Clock
from tests.fixtures.secret_leaks import make_secret

START = datetime(2026, 3, 5, 14, 0, 0, tzinfo=UTC)
HAL = "application/hal+json"
TPL = "{4A000ABE-1111-2222-3333-444455556666}"
ITEM_REL = "http://api.3plCentral.com/rels/orders/item"
ORDER_REL = "http://api.3plCentral.com/rels/orders/order"


def plain_client(base_url: str, **options: Any) -> httpx.Client:
    """An httpx client for plain http on loopback (no TLS context: faster to build)."""
    return httpx.Client(base_url=base_url, verify=False, timeout=10, **options)  # noqa: S501


@dataclass
class Wms:
    """The sandbox, its tenant and the tenant's credential."""

    sandbox: ExtensivSandbox
    tenant: Tenant
    client_id: str
    client_secret: str

    def token(self, **body: Any) -> str:
        with plain_client(self.sandbox.base_url) as client:
            response = client.post("/AuthServer/api/Token", auth=(self.client_id,
                                                                  self.client_secret),
                                   json={"grant_type": "client_credentials",
                                         "user_login": "hub-integration", **body})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def client(self, *, hal: bool = True, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        headers["Accept"] = HAL if hal else "application/json"
        return plain_client(self.sandbox.base_url, headers=headers)

    def create(self, api: httpx.Client, reference: str, **overrides: Any) -> dict[str, Any]:
        response = api.post("/orders", json=order_body(reference, **overrides))
        assert response.status_code == 201, response.text
        return dict(response.json())


def order_body(reference: str, *, customer: int = 143, facility: int = 10,
               items: list[tuple[str, float]] | None = None, **extra: Any) -> dict[str, Any]:
    """A create body in the spec's §5.2 shape."""
    lines = items if items is not None else [("TENT-4P-GRN", 2), ("STOVE-01", 1)]
    return {
        "customerIdentifier": {"id": customer}, "facilityIdentifier": {"id": facility},
        "referenceNum": reference, "poNum": "PO-77812", "externalId": "hub-2f9c1e",
        "routingInfo": {"carrier": "UPS", "mode": "03"},
        "shipTo": {"companyName": "", "name": "Jane Buyer", "address1": "12 Harbor Street",
                   "city": "Portland", "state": "OR", "zip": "97209", "country": "US"},
        "orderItems": [{"itemIdentifier": {"sku": sku}, "qty": qty, "externalId": f"li-{n}"}
                       for n, (sku, qty) in enumerate(lines, start=1)],
        **extra,
    }


@pytest.fixture
def wms() -> Iterator[Wms]:
    sandbox = ExtensivSandbox(seed=7, clock=Clock(START, frozen=True)).start()
    try:
        secret = make_secret("cs")
        tenant = sandbox.add_tenant("acme", client_id="hub-acme", client_secret=secret,
                                    user_login="hub-integration", user_login_id=412, tpl=TPL)
        tenant.add_customer(143, "Acme Outdoor Co")
        tenant.add_customer(144, "Other Brand", external_id="OB-1")
        tenant.add_facility(10, "LAX-1")
        tenant.add_facility(11, "NJ-2")
        tenant.add_sku(143, "TENT-4P-GRN", item_id=1001, stock={10: 14, 11: 5})
        tenant.add_sku(143, "STOVE-01", item_id=1002, stock={10: 3})
        tenant.add_sku(144, "OTHER-1", item_id=2001, stock={10: 9})
        yield Wms(sandbox, tenant, "hub-acme", secret)
    finally:
        sandbox.stop()


@pytest.fixture
def api(wms: Wms) -> Iterator[httpx.Client]:
    """HAL client with a fresh bearer token."""
    with wms.client() as client:
        yield client


@pytest.fixture
def control(wms: Wms) -> Iterator[httpx.Client]:
    with plain_client(wms.sandbox.control_url + "/") as client:
        yield client

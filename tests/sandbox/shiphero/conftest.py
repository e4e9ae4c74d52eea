"""A running ShipHero simulator per test (frozen clock, seed 1) with one brand account, two
warehouses and three SKUs, plus an httpx client and a tiny webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from dropstream.sandbox.shiphero import AccountInfo, ShipHeroSandbox, SimClock, WarehouseInfo
from tests.fixtures.secret_leaks import make_secret

START = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
ADDRESS = {"first_name": "Jane", "last_name": "Buyer", "company": "",
           "address1": "12 Harbor Street", "address2": "Apt 4B", "city": "Portland",
           "state": "Oregon", "state_code": "OR", "zip": "97209", "country": "United States",
           "country_code": "US", "phone": "5035550142", "email": "jane@example.com"}

CREATE = """
mutation CreateOrder($data: CreateOrderInput!) {
  order_create(data: $data) {
    request_id
    complexity
    order {
      id legacy_id order_number partner_order_id shop_name fulfillment_status
      line_items(first: 50) { edges { node {
        id sku partner_line_item_id quantity quantity_allocated backorder_quantity } } }
    }
  }
}"""


def order_input(key: str, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    """CreateOrderInput variables for partner_order_id ``key`` with (sku, quantity) lines."""
    return {"order_number": f"BS-{key}", "partner_order_id": key, "shop_name": "brightsites-hub",
            "fulfillment_status": "pending", "order_date": "2026-03-05T14:32:10+00:00",
            "email": "jane@example.com", "currency": "USD", "total_tax": "4.10",
            "shipping_lines": {"title": "UPS Ground", "price": "9.95", "carrier": "UPS",
                               "method": "Ground"},
            "shipping_address": dict(ADDRESS),
            "line_items": [{"sku": sku, "partner_line_item_id": f"{key}-{n}", "quantity": qty,
                            "price": "10.00"} for n, (sku, qty) in enumerate(lines, start=1)],
            **extra}


@dataclass
class World:
    sim: ShipHeroSandbox
    brand: AccountInfo
    primary: WarehouseInfo
    east: WarehouseInfo
    http: httpx.Client
    _token: str | None = None

    def refresh(self, refresh_token: str | None = None) -> httpx.Response:
        return self.http.post(self.sim.auth_url,
                              json={"refresh_token": refresh_token or self.brand.refresh_token})

    def token(self) -> str:
        if self._token is None:
            response = self.refresh()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def post(self, query: str, variables: dict[str, Any] | None = None, *,
             token: str | None = None, operation_name: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return self.http.post(self.sim.graphql_url, json=body,
                              headers={"Authorization": f"Bearer {token or self.token()}"})

    def gql(self, query: str, variables: dict[str, Any] | None = None,
            **kwargs: Any) -> dict[str, Any]:
        """POST and return the JSON body, asserting HTTP 200."""
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def create(self, key: str, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
        """order_create; returns the order (asserting no errors)."""
        body = self.gql(CREATE, {"data": order_input(key, lines, **extra)})
        assert "errors" not in body, body
        return body["data"]["order_create"]["order"]  # type: ignore[no-any-return]

    def control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, self.sim.control_url + path, json=body)


@pytest.fixture
def sim() -> Iterator[ShipHeroSandbox]:
    sandbox = ShipHeroSandbox(seed=1, clock=SimClock(START, frozen=True))
    sandbox.configure(webhook_retry_delay_seconds=0.01, webhook_timeout_seconds=2.0)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def world(sim: ShipHeroSandbox) -> Iterator[World]:
    brand = sim.add_account("Acme Outdoor", refresh_token=make_secret("rt"))
    primary = sim.add_warehouse(brand, "Primary")
    east = sim.add_warehouse(brand, "East")
    sim.add_product(brand, "TENT-4P-GRN", name="Tent 4P green", price="129.00",
                    stock={primary: 10, east: 0})
    sim.add_product(brand, "STOVE-01", name="Camp stove", price="49.00", stock={primary: 3})
    sim.add_product(brand, "LAMP-LED", name="LED lamp", stock={primary: 0, east: 5})
    with httpx.Client(timeout=5, verify=False) as client:  # noqa: S501 - plain http on loopback
        yield World(sim, brand, primary, east, client)


@dataclass
class Received:
    raw: bytes
    headers: dict[str, str]

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Receiver:
    """A loopback HTTP server that records webhook POSTs and answers ``replies`` in turn
    (then ``default``)."""

    server: ThreadingHTTPServer
    url: str
    received: list[Received] = field(default_factory=list)
    replies: list[tuple[int, bytes]] = field(default_factory=list)
    default: tuple[int, bytes] = (200, b'{"code": "200", "Status": "Success"}')

    def of_type(self, webhook_type: str) -> list[Received]:
        return [r for r in self.received if r.body.get("webhook_type") == webhook_type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:  # noqa: N802
            box = holder[0]
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            box.received.append(Received(raw, {k.lower(): v for k, v in self.headers.items()}))
            status, reply = box.replies.pop(0) if box.replies else box.default
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box = Receiver(server, f"http://127.0.0.1:{server.server_address[1]}/hooks/shiphero")
    holder.append(box)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()

"""API fixtures: a JSON client per role, a second merchant's full data set, and the leak check.

Every response any ``api_as`` client receives is recorded; after each test none may contain a
test secret (``make_secret``'s marker), so a token leaking into an answer fails the test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from dropstream.api.auth import issue_token
from dropstream.connections import actions
from dropstream.orders.models import Order, OrderActivity, OrderLine
from dropstream.shipments.models import Shipment, ShipmentLine
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret


class ApiClient:
    """Django's test client speaking JSON with a bearer token; ``.json`` of the last answer."""

    def __init__(self, token: str | None, record: list[bytes]) -> None:
        self.client = Client()
        self.token = token
        self.record = record

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        result = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        for name, value in (headers or {}).items():
            result["HTTP_" + name.upper().replace("-", "_")] = value
        return result

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None,
                content_type: str = "application/json", headers: dict[str, str] | None = None,
                params: dict[str, Any] | None = None):
        call = getattr(self.client, method.lower())
        kwargs: dict[str, Any] = self._headers(headers)
        if params is not None:
            kwargs["query_params"] = params
        if method.upper() in ("GET", "HEAD"):
            response = call(path, **kwargs)
        else:
            data = raw if raw is not None else (json.dumps(body) if body is not None else "")
            response = call(path, data=data, content_type=content_type, **kwargs)
        if not response.streaming:  # only the docs page's static files stream
            self.record.append(response.content)
        return response

    def get(self, path: str, params: dict[str, Any] | None = None, **kw):
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, body: Any = None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, body: Any = None, **kw):
        return self.request("DELETE", path, body, **kw)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 costs ~0.3 s per user; these tests are about the API, not the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def responses_seen() -> list[bytes]:
    return []


@pytest.fixture(autouse=True)
def no_secret_in_any_response(responses_seen: list[bytes]):
    yield
    leaked = [body[:300] for body in responses_seen if SECRET_MARKER.encode() in body]
    assert not leaked, f"a test secret appeared in {len(leaked)} API response(s): {leaked[:3]}"


@pytest.fixture
def api_as(db, responses_seen) -> Callable[[Any], ApiClient]:
    """``api_as(user)`` → a client with a fresh token for ``user``; ``api_as(None)`` → no token."""

    def make(user: Any) -> ApiClient:
        token = issue_token(user)[0] if user is not None else None
        return ApiClient(token, responses_seen)

    return make


@pytest.fixture
def admin_api(api_as, admin_user) -> ApiClient:
    return api_as(admin_user)


@pytest.fixture
def staff_api(api_as, staff_user) -> ApiClient:
    return api_as(staff_user)


@pytest.fixture
def merchant_api(api_as, merchant_user) -> ApiClient:
    return api_as(merchant_user)


@pytest.fixture
def scoped_staff_user(merchant):
    """A staff user limited to ``merchant``."""
    from dropstream.accounts.models import User

    user = User.objects.create_user("scoped@example.com", "pw-scoped-1", role="staff")
    user.merchants.add(merchant)
    return user


# ------------------------------------------------------------------------ domain data ----

def make_order(connection, external_id: str, *, ordered_at: datetime, status: str = "open",
               created_at: datetime | None = None, display_id: str | None = None) -> Order:
    order = Order.objects.create(
        connection=connection, store=connection.store, external_id=external_id,
        external_display_id=display_id or f"R{external_id}", ordered_at=ordered_at,
        created_at=created_at or ordered_at, status=status, customer_email="buyer@example.com",
        shipping_amount=Decimal("5.00"), total_amount=Decimal("25.00"), ship_name="Ann Buyer",
        ship_street1="1 Main St", ship_city="Denver", ship_state="CO", ship_postal_code="80202",
        ship_country="US")
    OrderLine.objects.create(order=order, external_line_id=f"{external_id}-1", line_number=1,
                             store_sku="TEE-S", warehouse_sku="TEE-S", name="Tee",
                             quantity_ordered=2, unit_price=Decimal("10.00"))
    OrderActivity.objects.create(order=order, event="imported", message="Imported from the store")
    return order


def make_shipment(order: Order, tracking: str, *, ship_date: date) -> Shipment:
    shipment = Shipment.objects.create(
        connection=order.connection, warehouse=order.connection.warehouse, order=order,
        key=f"{order.external_id}:{tracking}", order_number=order.external_id,
        tracking_number=tracking, carrier="UPS", service="Ground", ship_date=ship_date,
        weight=Decimal("1.50"), state="completed")
    line = order.lines.first()
    ShipmentLine.objects.create(shipment=shipment, order_line=line, line_number=1, sku="TEE-S",
                                quantity=2)
    return shipment


def make_run(channel):
    """A finished run of ``channel``, as the scheduler records it."""
    from dropstream.scheduling.models import Run

    return Run.objects.create(connection=channel.connection, channel=channel,
                              channel_type=channel.type, trigger="manual", state="succeeded",
                              counts={"imported": 1}, requests_used=2)


@pytest.fixture
def other_store_token() -> str:
    return make_secret("bs")


@pytest.fixture
def other_world(other_merchant, other_store_token, tmp_path):
    """The second merchant's store, warehouse, connection, order, shipment and product."""
    from dropstream.catalog.models import Product

    root = tmp_path / "other-warehouse"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    store = actions.create_store(
        other_merchant, name="Other Store", platform="brightsites",
        adapter={"subdomain": "other", "api_token": other_store_token,
                 "api_url": "http://127.0.0.1:9/other/api/v2.6.1"})
    warehouse = actions.create_warehouse(
        other_merchant, description="Other DC", platform="dropstream",
        adapter={"connection_string": f"file://{root}"})
    connection = actions.create_connection(name="Other", customer=other_merchant, store=store,
                                           warehouse=warehouse)
    order = make_order(connection, "9001", ordered_at=datetime(2025, 1, 5, tzinfo=UTC))
    shipment = make_shipment(order, "1ZOTHER", ship_date=date(2025, 1, 6))
    product = Product.objects.create(customer=other_merchant, sku="OTHER-1")
    channel = connection.channels.first()
    return {"customer": other_merchant, "store": store, "warehouse": warehouse,
            "connection": connection, "channel": channel, "order": order,
            "shipment": shipment, "product": product, "run": make_run(channel)}


@pytest.fixture
def world(merchant, store, warehouse, connection):
    """The first merchant's objects: two orders (one shipped) and a product."""
    from dropstream.catalog.models import Product

    first = make_order(connection, "1001", ordered_at=datetime(2025, 1, 1, 12, tzinfo=UTC))
    second = make_order(connection, "1002", ordered_at=datetime(2025, 1, 3, 12, tzinfo=UTC),
                        status="shipped")
    shipment = make_shipment(second, "1ZACME", ship_date=date(2025, 1, 4))
    product = Product.objects.create(customer=merchant, sku="TEE-S")
    channel = connection.channels.first()
    return {"customer": merchant, "store": store, "warehouse": warehouse,
            "connection": connection, "channel": channel, "orders": [first, second],
            "shipment": shipment, "product": product, "run": make_run(channel)}


# Shared by the schemathesis tests (test_schema.py, test_stateful.py), which call the WSGI app.
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@pytest.fixture
def loopback_only(monkeypatch):
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: not resolvable in tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def keep_test_connection():
    """Django closes the database connection after each WSGI request; inside a test's
    transaction that would drop the test data (Django's test Client disconnects it too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)

"""Web fixtures: logged-in clients for each role, and a few orders, alerts and shipments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections import actions
from dropstream.orders.models import Order, OrderActivity, OrderLine, OrderStatus
from dropstream.shipments.models import Shipment
from tests.fixtures.secret_leaks import make_secret


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user) -> Client:
    return login(admin_user)


@pytest.fixture
def staff_client(staff_user) -> Client:
    return login(staff_user)


@pytest.fixture
def merchant_client(merchant_user) -> Client:
    return login(merchant_user)


@pytest.fixture
def order(connection) -> Order:
    order = Order.objects.create(
        connection=connection, store=connection.store, external_id="5001",
        external_display_id="R5001", ordered_at=timezone.now() - timedelta(hours=2),
        customer_email="pat@example.com", status=OrderStatus.ERROR,
        error_message="SKU TEE-RED-M is not known to the warehouse",
        ship_name="Pat Doe", ship_street1="1 Main St", ship_city="Denver", ship_state="CO",
        ship_postal_code="80202", ship_country="US", total_amount="42.00")
    OrderLine.objects.create(order=order, store_sku="TEE-RED-M", name="Tee red M",
                             quantity_ordered=2, unit_price="21.00")
    OrderActivity.objects.create(order=order, event="imported", message="from BrightStores")
    return order


@pytest.fixture
def alert(connection, order):
    return raise_alert(AlertKind.ORDER_ERROR, "Order R5001: SKU TEE-RED-M unknown",
                       connection=connection, related=order)


@pytest.fixture
def shipment(connection, order):
    return Shipment.objects.create(connection=connection, warehouse=connection.warehouse,
                                   order=order, key="R5001/1", order_number="R5001",
                                   tracking_number="1Z999", carrier="UPS", service="Ground")


@pytest.fixture
def other_connection(other_merchant, tmp_path):
    store = actions.create_store(other_merchant, name="Other Store", platform="brightsites",
                                 adapter={"subdomain": "other", "api_token": make_secret("bs")})
    (tmp_path / "other").mkdir()
    warehouse = actions.create_warehouse(other_merchant, platform="dropstream",
                                         adapter={"connection_string":
                                                  f"file://{tmp_path / 'other'}"})
    return actions.create_connection(name="Other", customer=other_merchant, store=store,
                                     warehouse=warehouse)


@pytest.fixture
def other_order(other_connection) -> Order:
    return Order.objects.create(connection=other_connection, store=other_connection.store,
                                external_id="9001", external_display_id="OTHER-9001",
                                status=OrderStatus.ERROR, error_message="other brand")


@pytest.fixture
def other_alert(other_connection):
    return raise_alert(AlertKind.IMPORT_FAILED, "Other brand import failed",
                       connection=other_connection)

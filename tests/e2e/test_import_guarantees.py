"""The import never loses an order (issue 11 #7, #13): the cursor never passes an order the hub
could not record, and a backfill's list is handled in bounded chunks (no IN list that a SQLite
build limited to 999 parameters refuses)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from django.db import connection as db_connection

from dropstream.alerts.models import Alert, AlertKind
from dropstream.connections.models import Store
from dropstream.orders.models import Order, OrderStatus
from tests.fixtures.refusals import refused_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_the_cursor_never_passes_an_order_the_hub_failed_to_record(hub):
    [lost] = hub.control.create_orders(1, status="paid")
    hub.control.clock(advance_seconds=600)  # the next order is ten minutes newer
    [later] = hub.control.create_orders(1, status="paid")
    lost_updated = datetime.fromisoformat(
        hub.control.get_order(lost)["updated_at"].replace("Z", "+00:00"))

    with refused_rows("orders_order", "external_id", str(lost)):
        first = hub.run("sales_order")

    assert first.counts["unrecorded"] == 1 and first.counts["imported"] == 1
    assert not Order.objects.filter(external_id=str(lost)).exists()
    cursor = Store.objects.get(pk=hub.connection.store_id).order_cursor
    assert cursor <= lost_updated
    assert Alert.objects.filter(kind=AlertKind.IMPORT_FAILED,
                                message__contains="could not be recorded").exists()

    second = hub.run("sales_order")

    assert second.counts["imported"] == 1
    assert Order.objects.get(external_id=str(lost)).status == S.OPEN
    assert Order.objects.get(external_id=str(later)).status == S.OPEN


@pytest.mark.skipif(db_connection.vendor != "sqlite", reason="a SQLite build's parameter limit")
def test_a_backfill_imports_on_a_sqlite_build_limited_to_999_parameters(hub):
    made = hub.control.create_orders(1200, status="paid")
    db_connection.ensure_connection()
    db_connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    try:
        result = hub.run("sales_order")
    finally:
        db_connection.close()  # the next test gets a connection without the limit

    assert result.counts["listed"] == 1200 and result.counts["imported"] == 1200
    assert Order.objects.count() == len(made)
    assert Store.objects.get(pk=hub.connection.store_id).order_cursor is not None

"""Every branch of ``apply_store_cancellation``: what a cancellation in the store does to the
hub's order, in each state it can find it (issue 11 #6; the flows' end-to-end cases are in
tests/e2e/test_cancellations.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dropstream.alerts.models import Alert, AlertKind
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.dsfx.adapter import DsfxAdapter
from dropstream.platforms.errors import RemoteServerError
from dropstream.sync.store_cancellations import apply_store_cancellation
from dropstream.sync.store_orders import upsert_store_order
from tests.fixtures.orders import store_order

pytestmark = pytest.mark.django_db
S = OrderStatus


def order_in(connection, status: str, **fields) -> Order:
    order, _ = upsert_store_order(connection, store_order("1001"))
    Order.objects.filter(pk=order.pk).update(status=status, warehouse_order_number="1001",
                                             **fields)
    return Order.objects.get(pk=order.pk)


def dsfx_cancel(warehouse_root):
    """The DSFX warehouse's own cancel: it has no cancel record (NotSupported)."""
    adapter = DsfxAdapter({"connection_string": f"file://{warehouse_root}"})
    return adapter.cancel_order


def test_before_export_it_closes_the_order_without_asking_the_warehouse(connection):
    order = order_in(connection, S.QUEUED)
    asked: list[str] = []

    assert apply_store_cancellation(order, warehouse_cancel=asked.append) == "closed"

    order.refresh_from_db()
    assert order.status == S.CLOSED and order.canceled_in_store_at is not None
    assert asked == []


def test_in_a_batch_not_yet_confirmed_it_closes_and_takes_it_out(connection):
    order = order_in(connection, S.QUEUED, export_reference="ord_1001_261201000000.csv")

    assert apply_store_cancellation(order, warehouse_cancel=lambda _: None) == "closed"

    order.refresh_from_db()
    assert (order.status, order.export_reference) == (S.CLOSED, "")
    assert "before the warehouse confirmed ord_1001_261201000000.csv" in \
        order.activity.get(event="canceled_in_store").message


def test_after_export_where_the_warehouse_cannot_cancel_it_alerts_and_stays_open(
        connection, warehouse_root):
    order = order_in(connection, S.OPEN, exported_at=timezone.now(),
                     export_reference="ord_1001_261201000000.csv")

    assert apply_store_cancellation(order, warehouse_cancel=dsfx_cancel(warehouse_root)) \
        == "alerted"

    order.refresh_from_db()
    assert order.status == S.OPEN and order.canceled_in_store_at is not None
    alert = Alert.objects.get(kind=AlertKind.CANCEL_AT_WAREHOUSE)
    assert "DSFX has no cancel record: cancel order 1001 in the warehouse's own system" in \
        alert.message


def test_after_export_a_failing_warehouse_cancel_alerts(connection):
    order = order_in(connection, S.OPEN, exported_at=timezone.now())

    def down(number: str) -> None:
        raise RemoteServerError("the warehouse answered 503")

    assert apply_store_cancellation(order, warehouse_cancel=down) == "alerted"
    assert "asking the warehouse to cancel failed: the warehouse answered 503" in \
        Alert.objects.get(kind=AlertKind.CANCEL_AT_WAREHOUSE).message


def test_after_export_a_warehouse_that_cancels_is_asked_and_it_is_recorded(connection):
    order = order_in(connection, S.OPEN, exported_at=timezone.now())
    asked: list[str] = []

    assert apply_store_cancellation(order, warehouse_cancel=asked.append) \
        == "warehouse_canceled"

    assert asked == ["1001"]
    assert order.activity.filter(event="cancel_at_warehouse").count() == 1
    assert not Alert.objects.filter(kind=AlertKind.CANCEL_AT_WAREHOUSE).exists()


@pytest.mark.parametrize("status", [S.SHIPPED, S.CLOSED, S.ARCHIVED, S.SKIPPED])
def test_an_order_that_ended_is_only_recorded(connection, status):
    order = order_in(connection, status)

    assert apply_store_cancellation(order, warehouse_cancel=lambda _: None) == "recorded"

    order.refresh_from_db()
    assert order.status == status
    assert order.activity.filter(event="canceled_in_store").count() == 1


def test_a_second_cancellation_changes_nothing(connection):
    order = order_in(connection, S.QUEUED)
    apply_store_cancellation(order, warehouse_cancel=lambda _: None)
    activity = order.activity.count()

    assert apply_store_cancellation(order, warehouse_cancel=lambda _: None) == "already"
    assert order.activity.count() == activity


def test_a_part_whose_cancel_fails_unexpectedly_is_alerted_and_the_other_parts_canceled(
        connection):
    """A store order split in three, all sent. Asking the warehouse to cancel one part fails
    with an error no platform maps (a bug, an undecryptable setting): that part is alerted,
    and the parts after it are still canceled. (Before, the error left the loop: the import
    counted the order failed, moved its cursor on, and the later parts were never canceled,
    nor anyone told.)"""
    order = order_in(connection, S.OPEN, exported_at=timezone.now())
    parts = []
    for number in (2, 3):
        part, _ = upsert_store_order(connection, store_order(f"1001~part{number}"))
        Order.objects.filter(pk=part.pk).update(
            parent=order, status=S.OPEN, exported_at=timezone.now(),
            warehouse_order_number=f"1001-{number}")
        parts.append(Order.objects.get(pk=part.pk))
    asked: list[str] = []

    def cancel(number: str) -> None:
        if number == "1001-2":
            raise ValueError("the warehouse's password cannot be decrypted")
        asked.append(number)

    assert apply_store_cancellation(order, warehouse_cancel=cancel) == "warehouse_canceled"

    assert asked == ["1001", "1001-3"]
    failed, canceled = (Order.objects.get(pk=part.pk) for part in parts)
    assert failed.canceled_in_store_at is not None and canceled.canceled_in_store_at is not None
    alert = Alert.objects.get(kind=AlertKind.CANCEL_AT_WAREHOUSE)
    assert alert.object_id == str(failed.pk)
    assert "cannot be decrypted" in alert.message
    assert canceled.activity.filter(event="cancel_at_warehouse").count() == 1

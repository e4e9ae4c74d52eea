"""Housekeeping that runs with the shipment channel: abandoning orders that never shipped."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from dropstream.connections.models import Connection
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderStatus


def abandon_stale_orders(connection: Connection, *, now: datetime | None = None) -> int:
    """Open orders with no shipment N days after export → Closed (N: the merchant's setting)."""
    now = now or timezone.now()
    days = connection.customer.abandon_after_days
    stale = Order.objects.filter(connection=connection, status=OrderStatus.OPEN,
                                 exported_at__lt=now - timedelta(days=days),
                                 shipments__isnull=True)
    count = 0
    for order in stale:
        order_status.transition(order, OrderStatus.CLOSED, event="abandoned",
                                message=f"No shipment {days} days after it was sent to the "
                                        "warehouse; closed as abandoned. Reprocess it to reopen.")
        count += 1
    return count

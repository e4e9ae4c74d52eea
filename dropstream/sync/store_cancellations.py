"""An order canceled in the store: closed if the warehouse never got it, otherwise the
warehouse is asked to cancel, and a person is alerted where it cannot."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection
from dropstream.metering.meter import DbMeter
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.errors import NotSupported, PlatformError
from dropstream.sync import adapters

logger = logging.getLogger(__name__)
S = OrderStatus

# Statuses of an order the warehouse has not confirmed receiving.
UNSENT = frozenset({S.NEW, S.PENDING, S.QUEUED, S.DELAYED, S.ERROR})


def warehouse_canceller(connection: Connection) -> Callable[[str], None]:
    """Ask the connection's warehouse to cancel an order, opening its adapter only if needed
    (a cancellation before export never talks to the warehouse)."""

    def cancel(order_number: str) -> None:
        meter = DbMeter(connection=connection, channel="sales_order", billed=False)
        memory = adapters.Memory(connection.warehouse)
        warehouse = adapters.build(connection.warehouse, meter=meter, memory=memory)
        try:
            warehouse.cancel_order(order_number)
        finally:
            warehouse.close()
            memory.save()
            meter.close()

    return cancel


def apply_store_cancellation(order: Order, *, warehouse_cancel: Callable[[str], object],
                             connection_id: int | None = None) -> str:
    """The store order ``order`` canceled: it and each of its parts (rules may have routed them
    to other warehouses) are canceled where they are. ``warehouse_cancel`` asks the warehouse
    of connection ``connection_id`` (None: of every order here); an order at another
    connection's warehouse is canceled through that connection. Returns what was done to the
    store order itself (see ``_cancel_one``)."""
    outcome = _cancel_one(order, _canceller(order, warehouse_cancel, connection_id))
    for part in Order.objects.filter(parent_id=order.pk).select_related("connection__warehouse"):
        _cancel_one(part, _canceller(part, warehouse_cancel, connection_id))
    return outcome


def _canceller(order: Order, given: Callable[[str], object],
               connection_id: int | None) -> Callable[[str], object]:
    if connection_id is None or order.connection_id == connection_id:
        return given
    return warehouse_canceller(Connection.objects.select_related("warehouse")
                               .get(pk=order.connection_id))


def _cancel_one(order: Order, warehouse_cancel: Callable[[str], object]) -> str:
    """Handle an order canceled in the store. Returns what was done: "already", "recorded"
    (it had ended anyway), "closed", "warehouse_canceled" or "alerted".

    Until the warehouse confirmed the order's file, the order is Closed and taken out of the
    batch waiting to be sent (a warehouse outage, a crash before confirmation): it will not be
    sent. Should that file turn out to have reached the warehouse already, the export reopens
    the order and alerts (``export_orders._settle_canceled``). After export, the warehouse is
    asked to cancel (``warehouse_cancel``; DSFX raises NotSupported): where it cannot, a person
    is alerted, and the order stays open so a later shipment still flows back.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.canceled_in_store_at is not None:
            return "already"
        order.canceled_in_store_at = timezone.now()
        order.save(update_fields=["canceled_in_store_at", "updated_at"])
        if order.status in order_status.FINAL:
            order_status.record(order, "canceled_in_store", "Canceled in the store.")
            return "recorded"
        if order.status in UNSENT and order.exported_at is None:
            batch, order.export_reference = order.export_reference, ""
            message = ("Canceled in the store before it was sent to the warehouse; it will not "
                       "be sent." if not batch else
                       f"Canceled in the store before the warehouse confirmed {batch}; taken out "
                       "of that batch, it will not be sent (should the file have reached the "
                       "warehouse already, the order reopens with an alert).")
            order_status.transition(order, S.CLOSED, event="canceled_in_store", message=message,
                                    fields=("export_reference",))
            return "closed"
    try:
        warehouse_cancel(order.warehouse_order_number or str(order))
    except NotSupported as exc:
        order_status.record(order, "cancel_at_warehouse",
                            f"Canceled in the store after it was sent to the warehouse. {exc}")
        raise_alert(AlertKind.CANCEL_AT_WAREHOUSE,
                    f"Order {order} was canceled in the store after it reached the warehouse: "
                    f"{exc}. Shipments it still gets will be passed to the store.",
                    connection=order.connection, channel="sales_order", related=order)
        return "alerted"
    except Exception as exc:  # noqa: BLE001 — the order is marked canceled already: say so
        # Anything else too (a bug, a setting that cannot be decrypted): raised, it left the
        # loop over the store order's parts, so the parts after this one (at other
        # warehouses) were never canceled, and the import moved its cursor past the order.
        if not isinstance(exc, PlatformError):
            logger.exception("asking the warehouse to cancel order %s failed", order.pk,
                             extra={"connection_id": order.connection_id,
                                    "channel": "sales_order"})
        raise_alert(AlertKind.CANCEL_AT_WAREHOUSE,
                    f"Order {order}: asking the warehouse to cancel failed: {exc}",
                    connection=order.connection, channel="sales_order", related=order)
        return "alerted"
    order_status.record(order, "cancel_at_warehouse", "The warehouse was asked to cancel it.")
    return "warehouse_canceled"

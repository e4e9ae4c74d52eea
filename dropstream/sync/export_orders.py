"""Send Queued orders to the warehouse, exactly once.

Each batch is recorded as an Intent keyed by its deterministic warehouse-side name *before* the
upload, and confirmed after. A run that died in between is completed by the next one: it asks
the warehouse whether the batch arrived (for DSFX: is the file in /in or /in/processed?) and
sends it only if not (DESIGN.md invariant 1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.platforms.base import Address, WarehouseAdapter, WarehouseOrder, WarehouseOrderLine
from dropstream.platforms.errors import (
    CredentialsRejected,
    HostKeyMismatch,
    PlatformError,
    RemoteNotFound,
    TransientError,
)
from dropstream.shipments.matching import follow_shipments
from dropstream.sync.models import Intent, IntentState

logger = logging.getLogger(__name__)
S = OrderStatus
MAX_EXPORT_ATTEMPTS = 5
# Failures of the warehouse connection as a whole, not of the orders being sent.
CONNECTION_LEVEL = (CredentialsRejected, HostKeyMismatch, RemoteNotFound)
EXPORT = "export"


@dataclass
class ExportReport:
    exported: int = 0
    batches: int = 0
    recovered: int = 0
    errors: int = 0


def _address(order: Order, prefix: str) -> Address:
    return Address(**{part: getattr(order, f"{prefix}_{part}") for part in (
        "name", "company", "street1", "street2", "city", "state", "postal_code", "country",
        "phone", "email")})


def build_warehouse_orders(orders: list[Order], *, source_code: str = "",
                           facility: str = "") -> list[WarehouseOrder]:
    """The warehouse's view of ``orders`` (physical lines only, by line number)."""
    lines_by_order: dict[int, list[OrderLine]] = {}
    for line in (OrderLine.objects.filter(order__in=orders, line_number__isnull=False,
                                          canceled=False).order_by("order_id", "line_number")):
        lines_by_order.setdefault(line.order_id, []).append(line)
    result = []
    for order in orders:
        bill = _address(order, "bill")
        result.append(WarehouseOrder(
            order_number=order.warehouse_order_number,
            ordered_at=order.ordered_at or order.created_at,
            ship_to=_address(order, "ship"),
            bill_to=bill if bill.name or bill.street1 else None,
            ship_method=order.shipping_warehouse_code,
            lines=tuple(WarehouseOrderLine(line_number=line.line_number, sku=line.warehouse_sku,
                                           quantity=line.quantity_ordered,
                                           unit_price=line.unit_price, name=line.name)
                        for line in lines_by_order.get(order.pk, [])),
            customer_email=order.customer_email,
            customer_notes=order.notes,
            gift_message=order.gift_message,
            source_code=source_code,
            facility=facility,
        ))
    return result


def _intent_key(connection: Connection, reference: str) -> str:
    return f"{EXPORT}:{connection.pk}:{reference}"


def _claim_batch(connection: Connection, orders: list[Order], adapter: WarehouseAdapter,
                 now: datetime, options: dict) -> tuple[Intent, list[Order]] | None:
    """Record the intent and mark the orders as part of it; None when nothing was claimed."""
    warehouse_orders = build_warehouse_orders(orders, **options)
    for shift in range(60):
        reference = adapter.submission_reference(warehouse_orders, now + timedelta(seconds=shift))
        try:
            with transaction.atomic():
                intent = Intent.objects.create(
                    key=_intent_key(connection, reference), kind=EXPORT, connection=connection,
                    reference=reference, payload={"order_ids": [o.pk for o in orders]})
                # Conditional update: a concurrent exporter that claimed some of these first
                # keeps them.
                Order.objects.filter(pk__in=[o.pk for o in orders], status=S.QUEUED,
                                     export_reference="").update(export_reference=reference)
            claimed = list(Order.objects.filter(connection=connection, export_reference=reference,
                                                status=S.QUEUED).order_by("id"))
            if not claimed:
                intent.state = IntentState.ABANDONED
                intent.save(update_fields=["state"])
                return None
            return intent, claimed
        except IntegrityError:
            continue  # the same name already exists: try the next second
    raise RuntimeError("could not find a free file name for the export batch")


def _send(connection: Connection, adapter: WarehouseAdapter, intent: Intent,
          orders: list[Order], options: dict, *, check_first: bool) -> bool:
    """Upload the batch unless the warehouse has it; confirm. Returns True when confirmed."""
    intent.attempts += 1
    intent.save(update_fields=["attempts"])
    if not (check_first and adapter.submission_exists(intent.reference)):
        adapter.submit_orders(build_warehouse_orders(orders, **options), reference=intent.reference)
    now = timezone.now()
    with transaction.atomic():
        moved = order_status.transition_many(
            [o.pk for o in orders], S.QUEUED, S.OPEN, event="exported",
            message=f"Sent to the warehouse in {intent.reference}.", exported_at=now)
        intent.state = IntentState.DONE
        intent.done_at = now
        intent.save(update_fields=["state", "done_at"])
    if check_first:
        # A recovered batch: the warehouse may have shipped from it before the hub knew it had
        # it (those orders are Open already); any other order's status follows its shipments.
        follow_shipments([o.pk for o in orders])
    logger.info("exported %s order(s) in %s", moved, intent.reference,
                extra={"connection_id": connection.pk, "channel": "sales_order"})
    return True


def _fail_batch(connection: Connection, intent: Intent, orders: list[Order],
                error: PlatformError, report: ExportReport) -> None:
    report.errors += 1
    if isinstance(error, CONNECTION_LEVEL):
        # The warehouse itself is unreachable as configured (login, host key, folders): the
        # run's alert says so once; the orders wait, queued, and go when it is fixed.
        for order in orders:
            order_status.record(order, "export_waiting",
                                f"The warehouse cannot be reached as configured ({error}); the "
                                "order waits and is sent once that is fixed.")
        return
    if isinstance(error, TransientError) and intent.attempts < MAX_EXPORT_ATTEMPTS:
        for order in orders:
            order_status.record(order, "export_delayed",
                                f"Sending to the warehouse failed ({error}); the next run retries.")
        return
    raise_alert(AlertKind.EXPORT_FAILED,
                f"Sending {len(orders)} order(s) to the warehouse failed: {error}",
                connection=connection, channel="sales_order")
    for order in orders:
        order_status.transition(order, S.ERROR, event="export_failed",
                                message=f"Sending to the warehouse failed: {error}. Fix the "
                                        "warehouse connection, then Reprocess.")


def recover_pending_exports(connection: Connection, adapter: WarehouseAdapter, options: dict,
                            report: ExportReport) -> None:
    """Finish batches a previous run recorded but did not confirm."""
    for intent in Intent.objects.filter(connection=connection, kind=EXPORT,
                                        state=IntentState.PENDING).order_by("id"):
        orders = list(Order.objects.filter(connection=connection, export_reference=intent.reference,
                                           status=S.QUEUED).order_by("id"))
        if not orders:
            intent.state = IntentState.DONE if adapter.submission_exists(intent.reference) \
                else IntentState.ABANDONED
            intent.save(update_fields=["state"])
            continue
        try:
            _send(connection, adapter, intent, orders, options, check_first=True)
            report.recovered += len(orders)
            report.exported += len(orders)
        except PlatformError as exc:
            _fail_batch(connection, intent, orders, exc, report)
            raise


def export_orders(connection: Connection, adapter: WarehouseAdapter, *,
                  batch_size: int = 500, options: dict | None = None,
                  now: datetime | None = None) -> ExportReport:
    """Send every Queued order of the connection. Raises the adapter's PlatformError when a
    batch fails (after recording it), so the run fails and retries later."""
    options = options or {}
    report = ExportReport()
    recover_pending_exports(connection, adapter, options, report)
    while True:
        batch = list(Order.objects.filter(connection=connection, status=S.QUEUED,
                                          export_reference="").order_by("id")[:batch_size])
        if not batch:
            return report
        claimed = _claim_batch(connection, batch, adapter, now or timezone.now(), options)
        if claimed is None:
            continue
        intent, orders = claimed
        try:
            _send(connection, adapter, intent, orders, options, check_first=False)
        except PlatformError as exc:
            _fail_batch(connection, intent, orders, exc, report)
            raise
        report.batches += 1
        report.exported += len(orders)

"""Send Queued orders to the warehouse, exactly once.

Each batch is recorded as an Intent keyed by its deterministic warehouse-side name *before* the
upload, and confirmed after. A run that died in between is completed by the next one: it asks
the warehouse which of the batch's orders it holds (for DSFX: is the file in /in or
/in/processed?) and sends only the others (DESIGN.md invariant 1).

Two things may change a batch between its claim and its confirmation:

* a cancellation in the store closes an order and takes it out of the batch
  (``store_cancellations.apply_store_cancellation``). If the batch then turns out to have reached the
  warehouse with it (the upload was under way, or done before a crash), the order is at the
  warehouse after all: it goes to Open with an alert to cancel it there (``_settle_canceled``);
* an order the warehouse format refuses (data, not the connection) is put in Error on its own
  and the others are sent without it (``_split_out``): one bad order never holds a batch.
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
from dropstream.intents.models import Intent, IntentState
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderStatus
from dropstream.orders.warehouse_view import warehouse_orders
from dropstream.platforms.base import WarehouseAdapter
from dropstream.platforms.errors import (
    AccountNotFound,
    CredentialsRejected,
    HostKeyMismatch,
    NotSupported,
    OrderDataError,
    PlatformError,
    RemoteNotFound,
    TransientError,
)
from dropstream.shipments.matching import follow_shipments

logger = logging.getLogger(__name__)
S = OrderStatus
MAX_EXPORT_ATTEMPTS = 5
# Failures of the warehouse connection as a whole, not of the orders being sent.
CONNECTION_LEVEL = (CredentialsRejected, HostKeyMismatch, RemoteNotFound, AccountNotFound)
EXPORT = "export"


@dataclass
class ExportReport:
    exported: int = 0
    batches: int = 0
    recovered: int = 0
    errors: int = 0
    refused: int = 0  # orders the warehouse format refused, each now in Error on its own


def _intent_key(connection: Connection, reference: str) -> str:
    return f"{EXPORT}:{connection.pk}:{reference}"


def _claim_batch(connection: Connection, orders: list[Order], adapter: WarehouseAdapter,
                 now: datetime) -> tuple[Intent, list[Order]] | None:
    """Record the intent and mark the orders as part of it; None when nothing was claimed.

    The intent's payload keeps the ids claimed: after a crash they say what the batch held.
    """
    view = warehouse_orders(orders)
    for shift in range(60):
        reference = adapter.submission_key(view, now + timedelta(seconds=shift))
        try:
            with transaction.atomic():
                intent = Intent.objects.create(
                    key=_intent_key(connection, reference), kind=EXPORT, connection=connection,
                    reference=reference, payload={"order_ids": [o.pk for o in orders]})
                # Conditional update: a concurrent exporter that claimed some of these first
                # keeps them. The rows are locked in id order first, the order in which a
                # store update (another connection's run) locks a store order and then its
                # parts, so the two never wait on each other in a cycle.
                free = Order.objects.filter(pk__in=[o.pk for o in orders], status=S.QUEUED,
                                            export_reference="")
                list(free.select_for_update().order_by("pk").values_list("pk", flat=True))
                free.update(export_reference=reference)
                claimed = list(Order.objects.filter(connection=connection,
                                                    export_reference=reference,
                                                    status=S.QUEUED).order_by("id"))
                intent.payload = {"order_ids": [o.pk for o in claimed]}
                intent.state = IntentState.PENDING if claimed else IntentState.ABANDONED
                intent.save(update_fields=["payload", "state"])
            return (intent, claimed) if claimed else None
        except IntegrityError:
            continue  # the same key already exists: try the next second
    raise RuntimeError("could not find a free key for the export batch")


def _in_batch(connection: Connection, intent: Intent) -> list[Order]:
    return list(Order.objects.filter(connection=connection, export_reference=intent.reference,
                                     status=S.QUEUED).order_by("id"))


def _send(connection: Connection, adapter: WarehouseAdapter, intent: Intent,
          report: ExportReport, *, check_first: bool) -> int:
    """Send the batch's orders the warehouse does not hold yet; confirm. Returns how many
    orders it confirmed. Raises the adapter's PlatformError (nothing confirmed then)."""
    # Counted before anything is asked of the warehouse: an outage uses up attempts too.
    intent.attempts += 1
    intent.save(update_fields=["attempts"])
    # Read just before sending: an order canceled since the claim is no longer in it.
    orders = _in_batch(connection, intent)
    if not orders:
        _close_empty(connection, adapter, intent)
        return 0
    view = warehouse_orders(orders)
    there = adapter.submitted(intent.reference, view) if check_first else frozenset()
    missing = [order for order in view if order.order_number not in there]
    refused: dict[str, str] = {}
    if missing:
        # What this attempt sends, recorded first: a recovery asks about exactly these.
        intent.payload = {**intent.payload,
                          "sent_ids": [o.pk for o in orders if o.warehouse_order_number
                                       not in there]}
        intent.save(update_fields=["payload"])
        refused = adapter.submit(missing, key=intent.reference).refused
    now = timezone.now()
    accepted = [o.pk for o in orders if o.warehouse_order_number not in refused]
    with transaction.atomic():
        moved = order_status.transition_many(
            accepted, S.QUEUED, S.OPEN, event="exported",
            message=f"Sent to the warehouse in {intent.reference}.", exported_at=now)
        intent.state = IntentState.DONE
        intent.done_at = now
        intent.save(update_fields=["state", "done_at"])
    _refuse(connection, [o for o in orders if o.warehouse_order_number in refused], refused,
            report)
    _settle_canceled(connection, adapter, intent, _sent_ids(intent))
    if check_first:
        # A recovered batch: the warehouse may have shipped from it before the hub knew it had
        # it (those orders are Open already); any other order's status follows its shipments.
        follow_shipments(accepted)
    logger.info("exported %s order(s) in %s", moved, intent.reference,
                extra={"connection_id": connection.pk, "channel": "sales_order"})
    return moved


def _refuse(connection: Connection, orders: list[Order], reasons: dict[str, str],
            report: ExportReport) -> None:
    """Orders the warehouse refused one by one (a REST warehouse's 400): Error, each with the
    warehouse's reason, out of the batch, so Reprocess sends them again once fixed."""
    for order in orders:
        reason = reasons[order.warehouse_order_number]
        with transaction.atomic():
            order.export_reference = ""
            order_status.transition(
                order, S.ERROR, event="export_refused", fields=("export_reference",),
                message=f"The warehouse refused this order: {reason}. Fix what it names (edit "
                        "the order, a listing or the warehouse's settings), then Reprocess.")
        raise_alert(AlertKind.ORDER_ERROR, f"Order {order}: the warehouse refused it: {reason}",
                    connection=connection, channel="sales_order", related=order)
        report.refused += 1


def _close_empty(connection: Connection, adapter: WarehouseAdapter, intent: Intent) -> None:
    """A batch whose orders all left it (canceled, shipped, refused): done if the warehouse has
    any of them (then its canceled orders may be there too), abandoned if not."""
    sent = list(Order.objects.filter(pk__in=_sent_ids(intent)))
    there = adapter.submitted(intent.reference, warehouse_orders(sent)) if sent else frozenset()
    intent.state = IntentState.DONE if there else IntentState.ABANDONED
    intent.done_at = timezone.now() if there else None
    intent.save(update_fields=["state", "done_at"])
    if there:
        _settle_canceled(connection, adapter, intent, _sent_ids(intent))


def _sent_ids(intent: Intent) -> list[int]:
    """The orders the batch's last attempt sent (older intents: the ones claimed)."""
    return list(intent.payload.get("sent_ids") or intent.payload.get("order_ids") or [])


def _settle_canceled(connection: Connection, adapter: WarehouseAdapter, intent: Intent,
                     sent_ids: list[int]) -> int:
    """Orders canceled in the store while ``intent``'s batch was on its way, that reached the
    warehouse after all: Open again (shipments may still come), the warehouse asked to cancel,
    and a person alerted where it cannot. Returns how many."""
    canceled = list(Order.objects.filter(pk__in=sent_ids, status=S.CLOSED,
                                         canceled_in_store_at__isnull=False, exported_at=None))
    if not canceled:
        return 0
    there = adapter.submitted(intent.reference, warehouse_orders(canceled))
    canceled = [order for order in canceled if order.warehouse_order_number in there]
    for order in canceled:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.status != S.CLOSED or order.exported_at is not None:
                continue
            order.export_reference, order.exported_at = intent.reference, timezone.now()
            order_status.transition(
                order, S.OPEN, event="cancel_at_warehouse", fields=("export_reference",
                                                                    "exported_at"),
                message=f"Canceled in the store while {intent.reference} was on its way; it "
                        "reached the warehouse with it, so it is open again.")
        try:
            adapter.cancel_order(order.warehouse_order_number or str(order))
        except PlatformError as exc:
            reason = str(exc) if isinstance(exc, NotSupported) else \
                f"asking the warehouse to cancel failed: {exc}"
            raise_alert(AlertKind.CANCEL_AT_WAREHOUSE,
                        f"Order {order} was canceled in the store while its file was on its "
                        f"way, and the file reached the warehouse: {reason}. Shipments it "
                        "still gets will be passed to the store.",
                        connection=connection, channel="sales_order", related=order)
        else:
            order_status.record(order, "cancel_at_warehouse",
                                "The warehouse was asked to cancel it.")
    return len(canceled)


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


def _split_out(connection: Connection, adapter: WarehouseAdapter, intent: Intent,
               error: OrderDataError, report: ExportReport) -> int:
    """The warehouse format refused one order of the batch (nothing was sent: the writer checks
    before it writes): that order goes to Error with the reason, the others leave the batch and
    are claimed again without it. When the error names no order of the batch, the batch size
    to use next is halved, until the bad order is alone. Returns the batch size to use next
    (0: unchanged)."""
    orders = _in_batch(connection, intent)
    if adapter.submitted(intent.reference, warehouse_orders(orders)):
        raise error  # something reached the warehouse after all: keep the intent for recovery
    bad = [o for o in orders if error.external_id and
           error.external_id in (o.warehouse_order_number, o.external_display_id)]
    if len(bad) != 1:  # none named, or the name fits several (e.g. two written the same)
        bad = orders if len(orders) == 1 else []
    with transaction.atomic():
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(export_reference="")
        intent.state = IntentState.ABANDONED
        intent.save(update_fields=["state"])
        for order in bad:
            order.export_reference = ""
            order_status.transition(
                order, S.ERROR, event="export_refused", fields=("export_reference",),
                message=f"The warehouse format cannot carry this order: {error}. Edit the "
                        "order, then Reprocess.")
    for order in bad:
        raise_alert(AlertKind.ORDER_ERROR, f"Order {order}: {error}", connection=connection,
                    channel="sales_order", related=order)
    report.refused += len(bad)
    return 0 if bad else max(1, len(orders) // 2)


def recover_pending_exports(connection: Connection, adapter: WarehouseAdapter,
                            report: ExportReport) -> None:
    """Finish batches a previous run recorded but did not confirm."""
    for intent in Intent.objects.filter(connection=connection, kind=EXPORT,
                                        state=IntentState.PENDING).order_by("id"):
        try:
            confirmed = _send(connection, adapter, intent, report, check_first=True)
        except PlatformError as exc:
            _fail_batch(connection, intent, _in_batch(connection, intent), exc, report)
            raise
        report.recovered += confirmed
        report.exported += confirmed


def export_orders(connection: Connection, adapter: WarehouseAdapter, *,
                  batch_size: int = 500, now: datetime | None = None) -> ExportReport:
    """Send every Queued order of the connection. Raises the adapter's PlatformError when a
    batch fails for the connection's or a transient reason (after recording it), so the run
    fails and retries later; an order the format refuses is set aside on its own."""
    report = ExportReport()
    recover_pending_exports(connection, adapter, report)
    size = batch_size
    while True:
        batch = list(Order.objects.filter(connection=connection, status=S.QUEUED,
                                          export_reference="").order_by("id")[:size])
        if not batch:
            return report
        claimed = _claim_batch(connection, batch, adapter, now or timezone.now())
        if claimed is None:
            continue
        intent, orders = claimed
        try:
            confirmed = _send(connection, adapter, intent, report, check_first=False)
        except OrderDataError as exc:
            size = _split_out(connection, adapter, intent, exc, report) or size
            continue
        except PlatformError as exc:
            _fail_batch(connection, intent, orders, exc, report)
            raise
        report.batches += 1
        report.exported += confirmed
        size = batch_size

"""Orders the warehouse refused after the hub sent them: back to Error, with what to fix.

The warehouse adapter reports each refusal (``fetch_rejections``): an order with an SKU the
warehouse does not know, or a whole order file it could not read. For each, the flow:

1. finds the order: the connection's order with that warehouse order number *in that file*
   (``export_reference``); a file the hub never wrote (no export Intent under that name) falls
   back to the newest order with that number that the warehouse may hold;
2. moves it to Error through the status machine with a message saying what to fix, and clears
   ``export_reference`` and ``exported_at``, so Reprocess prepares it again (a new listing is
   picked up) and the next sales run sends it in a new file;
3. raises an EXPORT_FAILED alert about the order;
4. acknowledges the report, so the warehouse side remembers it was applied.

Idempotent: an order already taken out of the file is not found again, and an applied report is
acknowledged; a run that died between 2 and 4 finds nothing left to change and acknowledges.
A report about a file that another connection on the same warehouse sent is left for that
connection's run.

Receipts (``fetch_receipts``: the warehouse confirming it got a submission, possibly with
remarks, or that confirmation being overdue) are recorded on the submission's orders as an
activity entry; an overdue one also raises an ACKNOWLEDGMENT_OVERDUE alert. Their reports are
set aside like refusal reports, after both kinds from the same report are applied. A refusal the hub cannot match to an order raises a FILE_REJECTED alert
instead of vanishing (DESIGN.md invariant 5).
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import transaction

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection
from dropstream.intents.models import Intent
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.base import WarehouseAdapter, WarehouseReceipt, WarehouseRejection

logger = logging.getLogger(__name__)
S = OrderStatus
EXPORT = "export"  # the Intent kind of export_orders
# Statuses in which a refusal still changes something: the order is on its way or waiting.
REFUSABLE = frozenset({S.QUEUED, S.OPEN, S.ERROR, S.DELAYED})


def refusal_message(rejection: WarehouseRejection) -> str:
    """The order's error message: what the warehouse said, and what the merchant should do."""
    reason = rejection.reason.rstrip(". ")
    if rejection.whole_submission:
        return (f"The warehouse refused the whole file {rejection.reference}: {reason}. Fix "
                "what it names (edit the order, or the warehouse connection's settings), then "
                "Reprocess.")
    if "sku" in reason.lower():
        return (f"The warehouse refused this order: {reason}. Add a listing (the connection's Settings → "
                "Listings) or edit the line, then Reprocess.")
    return (f"The warehouse refused this order: {reason}. Fix what it names (edit the order), "
            "then Reprocess.")


def _intent(connection: Connection, reference: str) -> Intent | None:
    return Intent.objects.filter(key=f"{EXPORT}:{connection.pk}:{reference}").first()


def _sent_by_another_connection(connection: Connection, reference: str) -> bool:
    """Whether another connection on this warehouse wrote ``reference`` (its run applies it)."""
    return (Intent.objects.filter(kind=EXPORT, reference=reference,
                                  connection__warehouse_id=connection.warehouse_id)
            .exclude(connection=connection).exists())


def _orders_for(connection: Connection, rejection: WarehouseRejection,
                intent: Intent | None) -> list[Order]:
    """The orders a refusal is about that are still in the refused file; [] when none are."""
    in_file = Order.objects.filter(connection=connection, export_reference=rejection.reference)
    if rejection.whole_submission:
        if intent is not None and intent.payload.get("order_ids"):
            in_file = in_file.filter(pk__in=intent.payload["order_ids"])
        return list(in_file.order_by("id"))
    exact = in_file.filter(warehouse_order_number=rejection.order_number).order_by("-id").first()
    if exact is not None:
        return [exact]
    if intent is not None:
        # The hub wrote this file and the order is no longer in it: already applied (or
        # re-sent since); touching the newest order with that number would undo a re-send.
        return []
    newest = (Order.objects.filter(connection=connection,
                                   warehouse_order_number=rejection.order_number)
              .exclude(export_reference="").order_by("-id").first())
    return [newest] if newest is not None else []


def _refuse(order: Order, rejection: WarehouseRejection) -> bool:
    """Move one order to Error and take it out of its file; True when it changed."""
    message = refusal_message(rejection)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.export_reference == "":
            return False  # a concurrent run got here first
        if order.status not in REFUSABLE:
            # Shipped, closed or archived meanwhile: keep the status, keep the record.
            order_status.record(order, "warehouse_rejected",
                                f"{message} (The order is {S(order.status).label}: its status "
                                "was left as it is.)")
            order.export_reference = ""
            order.save(update_fields=["export_reference", "updated_at"])
        else:
            sent_in = order.export_reference
            order.export_reference, order.exported_at = "", None
            order_status.transition(order, S.ERROR, event="warehouse_rejected",
                                    message=f"{message} (Refused in {sent_in}.)",
                                    error_message=message,
                                    fields=("export_reference", "exported_at"))
        raise_alert(AlertKind.EXPORT_FAILED, f"Order {order}: {message}",
                    connection=order.connection, channel="sales_order", related=order)
    return True


def _unmatched(connection: Connection, rejection: WarehouseRejection) -> None:
    if not rejection.order_number and not rejection.whole_submission:
        raise_alert(AlertKind.FILE_REJECTED,
                    f"The warehouse's report {rejection.source} about {rejection.reference} "
                    f"holds a line the hub cannot read ({rejection.reason}): check with the "
                    "warehouse which order it refused, fix it, then Reprocess it.",
                    connection=connection, channel="sales_order")
        return
    what = f"order {rejection.order_number}" if rejection.order_number else "the whole file"
    raise_alert(AlertKind.FILE_REJECTED,
                f"The warehouse refused {what} in {rejection.reference} "
                f"({rejection.reason}), but the hub has no matching order waiting for it: "
                f"check the warehouse's report {rejection.source}.",
                connection=connection, channel="sales_order")


def _orders_in(connection: Connection, receipt: WarehouseReceipt) -> list[Order]:
    orders = Order.objects.filter(connection=connection, export_reference=receipt.reference)
    if receipt.order_numbers:
        orders = orders.filter(warehouse_order_number__in=receipt.order_numbers)
    return list(orders.order_by("id"))


def _apply_receipt(connection: Connection, receipt: WarehouseReceipt) -> None:
    """Record the receipt on its orders; an overdue one alerts once (its report is set aside
    after this, so the adapter does not report it again)."""
    orders = _orders_in(connection, receipt)
    event = "warehouse_receipt_overdue" if receipt.overdue else "warehouse_receipt"
    with transaction.atomic():
        order_status.record_many(orders, event, receipt.message)
        if receipt.overdue:
            raise_alert(AlertKind.ACKNOWLEDGMENT_OVERDUE,
                        f"{receipt.message} ({len(orders)} order(s) in {receipt.reference}.)",
                        connection=connection, channel="sales_order")


def apply_warehouse_rejections(connection: Connection, adapter: WarehouseAdapter) -> int:
    """Apply every refusal and receipt the warehouse reported; return how many orders moved to
    Error.

    Each report is acknowledged once all its lines are applied; a report about another
    connection's file is left alone. Raises PlatformError from the adapter (nothing is lost:
    an unacknowledged report is read again by the next run, and finds its orders done).
    """
    by_source: dict[str, list[WarehouseRejection]] = defaultdict(list)
    receipts: dict[str, list[WarehouseReceipt]] = defaultdict(list)
    for rejection in adapter.fetch_rejections():
        by_source[rejection.source].append(rejection)
    for receipt in getattr(adapter, "fetch_receipts", list)():
        receipts[receipt.source].append(receipt)
        by_source.setdefault(receipt.source, [])
    refused = 0
    for source, rejections in by_source.items():
        reference = (rejections or receipts[source])[0].reference
        intent = _intent(connection, reference)
        if intent is None and _sent_by_another_connection(connection, reference):
            continue
        for receipt in receipts.get(source, ()):
            _apply_receipt(connection, receipt)
        for rejection in rejections:
            if not rejection.order_number and not rejection.whole_submission:
                _unmatched(connection, rejection)  # an unreadable report line
                continue
            orders = _orders_for(connection, rejection, intent)
            if not orders and intent is None:
                _unmatched(connection, rejection)
            # No orders but a known file: applied by an earlier run that died before the
            # acknowledgement, or re-sent since; nothing more to change.
            for order in orders:
                if _refuse(order, rejection):
                    refused += 1
                    logger.info("order %s refused by the warehouse in %s", order, reference,
                                extra={"connection_id": connection.pk, "channel": "sales_order"})
        adapter.acknowledge_rejections(source)
    return refused

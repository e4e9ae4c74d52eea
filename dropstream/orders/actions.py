"""What a person can do to an order (specs/dropstream-reference.md §5): Reprocess, Edit, Reset,
Archive, Delete and Release, one at a time or in bulk. The API, the pages and the CLI call these;
each checks the order's state, changes it through the status machine and records who did it.
None of them talks to a store or warehouse: the next run of the channel does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from dropstream.alerts.actions import resolve_alerts_for
from dropstream.intents.models import Intent, IntentState
from dropstream.orders import status as order_status
from dropstream.orders.errors import OrderActionError
from dropstream.orders.models import ADDRESS_PARTS, Order, OrderLine, OrderStatus
from dropstream.orders.prepare import load_catalog, prepare_order

S = OrderStatus
EDITABLE_FIELDS = frozenset(
    {f"{prefix}_{part}" for prefix in ("ship", "bill") for part in ADDRESS_PARTS}
    | {"customer_email", "shipping_warehouse_code", "shipping_carrier_name",
       "shipping_carrier_service_level", "notes", "gift_message"})

__all__ = ["OrderActionError", "archive", "bulk", "delete", "edit", "release", "reprocess",
           "reset"]


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _prepare_now(order: Order, actor: str) -> None:
    prepare_order(order, load_catalog(order.connection), actor=actor)


def _export_intent(order: Order) -> Intent | None:
    if not order.export_reference:
        return None
    return Intent.objects.filter(key=f"export:{order.connection_id}:{order.export_reference}").first()


def _status_from_shipments(order: Order) -> str:
    physical = order.lines.filter(line_number__isnull=False, canceled=False)
    shipped = [line.quantity_shipped for line in physical]
    if physical and all(line.quantity_shipped >= line.quantity_ordered for line in physical):
        return S.SHIPPED
    return S.PARTIALLY_SHIPPED if any(shipped) else S.OPEN


def reprocess(order: Order, *, actor: str) -> Order:
    """Retry the most recent processing step of a stalled order.

    Error/Delayed before export → prepared again now (or re-read from the store when its detail
    never arrived); a failed export → queued again (the warehouse is asked first whether it has
    the file); Archived/Closed → back where processing stood (an abandoned order reopens with a
    new window). Raises OrderActionError for an order that is not stalled.
    """
    with transaction.atomic():
        order = _locked(order)
        if order.status not in (S.ERROR, S.DELAYED, S.ARCHIVED, S.CLOSED, S.SKIPPED):
            raise OrderActionError(f"order {order} is {S(order.status).label}; only orders in "
                                   "Error, Delayed, Archived, Skipped or Closed can be reprocessed")
        if order.detail_pending:
            order.retry_count, order.retry_at = 0, timezone.now()
            order_status.transition(order, S.DELAYED, event="reprocess", actor=actor,
                                    message="Reprocess: the next import reads it again.",
                                    fields=("retry_count", "retry_at"))
        elif order.export_reference or order.exported_at:
            intent = _export_intent(order)
            if order.exported_at or (intent and intent.state == IntentState.DONE):
                if order.status == S.CLOSED:
                    order.exported_at = timezone.now()
                target = _status_from_shipments(order)
                order_status.transition(order, target, event="reprocess", actor=actor,
                                        message="Reprocess: back to the warehouse flow.",
                                        fields=("exported_at",))
            else:
                if intent is None or intent.state != IntentState.PENDING:
                    order.export_reference = ""
                order_status.transition(order, S.QUEUED, event="reprocess", actor=actor,
                                        message="Reprocess: queued for the warehouse again.",
                                        fields=("export_reference",))
        else:
            order_status.transition(order, S.NEW, event="reprocess", actor=actor,
                                    message="Reprocess: preparing the order again.")
        resolve_alerts_for(order)
    if order.status == S.NEW:
        _prepare_now(order, actor)
        order.refresh_from_db()
    return order


def release(order: Order, *, actor: str) -> Order:
    """Schedule Process: release an order held in Pending."""
    with transaction.atomic():
        order = _locked(order)
        if order.status != S.PENDING:
            raise OrderActionError(f"order {order} is not Pending")
        return order_status.transition(order, S.QUEUED, event="released", actor=actor,
                                       message="Released for processing.")


def edit(order: Order, *, actor: str, changes: dict[str, Any],
         lines: Iterable[dict[str, Any]] = ()) -> Order:
    """Change addresses, carrier code, notes or lines before the order reaches the warehouse.

    ``lines``: dicts with ``id`` and any of ``quantity`` (0 cancels the line) and ``store_sku``.
    Raises OrderActionError for unknown fields or an order already sent.
    """
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise OrderActionError(f"these fields cannot be edited: {', '.join(unknown)}")
    with transaction.atomic():
        order = _locked(order)
        if order.export_reference or order.status not in (S.NEW, S.PENDING, S.QUEUED, S.ERROR,
                                                          S.DELAYED):
            raise OrderActionError(f"order {order} was already sent to the warehouse; edit it "
                                   "there, or archive it")
        for name, value in changes.items():
            setattr(order, name, "" if value is None else str(value)[:255])
        for change in lines:
            line = OrderLine.objects.filter(order=order, parent__isnull=True,
                                            pk=change.get("id")).first()
            if line is None:
                raise OrderActionError(f"order {order} has no line {change.get('id')}")
            if "quantity" in change:
                quantity = int(change["quantity"])
                if quantity < 0:
                    raise OrderActionError("a line quantity cannot be negative")
                line.canceled = quantity == 0
                line.quantity_ordered = quantity or line.quantity_ordered
            if change.get("store_sku"):
                line.store_sku = str(change["store_sku"])[:100]
            line.save()
        order.edited = True
        order.save()
        target = S.NEW if order.status in (S.QUEUED, S.ERROR, S.DELAYED) else order.status
        order_status.transition(order, target, event="edited", actor=actor,
                                message="Edited: " + ", ".join(sorted(changes) or ["lines"]))
    if order.status == S.NEW:
        _prepare_now(order, actor)
        order.refresh_from_db()
    return order


def reset(order: Order, *, actor: str) -> Order:
    """Undo all processing, including edits, and start again as if just imported.

    Not allowed once the order has a shipment. An edited order is read again from the store.
    """
    with transaction.atomic():
        order = _locked(order)
        if order.shipments.exists():
            raise OrderActionError(f"order {order} has shipments: the warehouse has worked it, "
                                   "so it cannot be reset (archive it instead)")
        order.lines.filter(parent__isnull=False).delete()
        order.lines.update(line_number=None, quantity_shipped=0)
        order.export_reference, order.exported_at = "", None
        order.shipping_warehouse_code = ""
        order.retry_count = 0
        fields = ("export_reference", "exported_at", "shipping_warehouse_code", "retry_count",
                  "edited", "detail_pending", "retry_at")
        if order.edited:
            order.edited, order.detail_pending, order.retry_at = False, True, timezone.now()
            order_status.transition(order, S.DELAYED, event="reset", actor=actor, fields=fields,
                                    message="Reset: the store's copy is read again.")
        else:
            order_status.transition(order, S.NEW, event="reset", actor=actor, fields=fields,
                                    message="Reset: processing starts again.")
        resolve_alerts_for(order)
    if order.status == S.NEW:
        _prepare_now(order, actor)
        order.refresh_from_db()
    return order


def archive(order: Order, *, actor: str) -> Order:
    """Stop all further processing; the order is kept and never re-imported."""
    with transaction.atomic():
        order = _locked(order)
        if order.status == S.ARCHIVED:
            raise OrderActionError(f"order {order} is already archived")
        order_status.transition(order, S.ARCHIVED, event="archived", actor=actor,
                                message="Archived: no further processing.")
        resolve_alerts_for(order)
        return order


def delete(order: Order, *, actor: str, force: bool = False) -> None:
    """Remove the order from the hub (the store keeps it; a later import may bring it back).

    Refused once it was sent to the warehouse unless ``force`` (administrators only: the caller
    checks the role).
    """
    with transaction.atomic():
        order = _locked(order)
        if (order.export_reference or order.exported_at) and not force:
            raise OrderActionError(f"order {order} was sent to the warehouse: archive it "
                                   "instead (an administrator can force the delete)")
        resolve_alerts_for(order)
        order.delete()


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


ACTIONS: dict[str, Callable[..., Any]] = {
    "reprocess": reprocess, "reset": reset, "archive": archive, "delete": delete,
    "release": release,
}


def bulk(action: str, orders: Iterable[Order], *, actor: str, **options: Any) -> BulkResult:
    """Apply one action to many orders; each succeeds or fails on its own."""
    if action not in ACTIONS:
        raise OrderActionError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    result = BulkResult()
    for order in orders:
        try:
            ACTIONS[action](order, actor=actor, **options)
            result.done.append(order.pk)
        except OrderActionError as exc:
            result.failed[order.pk] = exc.message
    return result

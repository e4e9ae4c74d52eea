"""What a person can do to an order (specs/dropstream-reference.md §5): Reprocess, Edit, Reset,
Archive, Delete and Release, one at a time or in bulk. The API, the pages and the CLI call these;
each checks the order's state, changes it through the status machine and records who did it.
None of them talks to a store or warehouse: the next run of the channel does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from dropstream.alerts.actions import resolve_alerts_for
from dropstream.intents.models import Intent, IntentState
from dropstream.orders import status as order_status
from dropstream.orders.errors import OrderActionError
from dropstream.orders.models import ADDRESS_PARTS, Order, OrderLine, OrderStatus
from dropstream.orders.prepare import prepare_orders
from dropstream.rules.apply import RELEASED, undo_rules

S = OrderStatus
EDITABLE_FIELDS = frozenset(
    {f"{prefix}_{part}" for prefix in ("ship", "bill") for part in ADDRESS_PARTS}
    | {"customer_email", "shipping_warehouse_code", "shipping_carrier_name",
       "shipping_carrier_service_level", "notes", "gift_message"})

__all__ = ["OrderAction", "OrderActionError", "archive", "availability", "bulk", "delete",
           "edit", "perform", "refusal", "release", "reprocess", "reset"]


class OrderAction(StrEnum):
    """Everything a person can do to one order; the menu, the bulk form and the API use these."""

    RELEASE = "release"
    REPROCESS = "reprocess"
    EDIT = "edit"
    RESET = "reset"
    ARCHIVE = "archive"
    DELETE = "delete"
    FORCE_DELETE = "force_delete"


A = OrderAction
REPROCESSABLE = (S.ERROR, S.DELAYED, S.ARCHIVED, S.CLOSED, S.SKIPPED)
EDITABLE = (S.NEW, S.PENDING, S.QUEUED, S.ERROR, S.DELAYED)


def _sent(order: Order) -> bool:
    """Whether the warehouse has, or may have, the order: it is in a batch or was confirmed."""
    return bool(order.export_reference or order.exported_at)


def refusal(order: Order, action: OrderAction) -> str:
    """Why ``action`` is not possible for the order as it stands; "" when it is. The actions
    below raise exactly this, and the menu shows it, so they cannot disagree."""
    if action == A.RELEASE and order.status != S.PENDING:
        return f"order {order} is not Pending"
    if action == A.REPROCESS and order.status not in REPROCESSABLE:
        return (f"order {order} is {S(order.status).label}; only orders in Error, Delayed, "
                "Archived, Skipped or Closed can be reprocessed")
    if action == A.EDIT and (order.export_reference or order.status not in EDITABLE):
        return (f"order {order} was already sent to the warehouse; edit it there, or "
                "archive it")
    if action == A.RESET and order.shipments.exists():
        return (f"order {order} has shipments: the warehouse has worked it, so it cannot be "
                "reset (archive it instead)")
    if action == A.RESET and order.parent_id:
        return (f"order {order} is a part a rule split off order {order.parent}: reset that "
                "order to run its rules again")
    if action == A.RESET and any(_sent(part) for part in order.parts.all()):
        return (f"a part of order {order} was sent to another warehouse: it cannot be reset "
                "(archive it instead)")
    if action == A.ARCHIVE and order.status == S.ARCHIVED:
        return f"order {order} is already archived"
    if action == A.DELETE and _sent(order):
        return (f"order {order} was sent to the warehouse: archive it instead (an "
                "administrator can force the delete)")
    if action == A.FORCE_DELETE and not _sent(order):
        return f"order {order} was never sent to the warehouse: a plain delete will do"
    return ""


@dataclass(frozen=True)
class Availability:
    action: OrderAction
    refusal: str  # "" when the action is possible

    @property
    def allowed(self) -> bool:
        return not self.refusal


def availability(order: Order, user: Any) -> list[Availability]:
    """The actions ``user`` may take on ``order``, each with why it is not possible now.
    Merchant users change nothing; force delete is for administrators, and only shown when a
    plain delete is refused."""
    if not getattr(user, "can_change_orders", False):
        return []
    shown = [a for a in OrderAction if a != A.FORCE_DELETE]
    if order.status != S.PENDING:
        shown.remove(A.RELEASE)
    if user.is_administrator and _sent(order):
        shown.append(A.FORCE_DELETE)
    return [Availability(action, refusal(order, action)) for action in shown]


def _refuse_unless_possible(order: Order, action: OrderAction) -> None:
    reason = refusal(order, action)
    if reason:
        raise OrderActionError(reason)


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _prepare_now(order: Order, actor: str) -> None:
    # Through prepare_orders: an order whose rules have not run (rejected, failed) has them
    # applied again first.
    prepare_orders(order.connection, [order])


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
        _refuse_unless_possible(order, A.REPROCESS)
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
        _refuse_unless_possible(order, A.RELEASE)
        fields: tuple[str, ...] = ()
        if "hold" in (order.rule_fields or {}):
            # A rule's hold ends with the release: a later reprocess does not hold it again.
            order.rule_fields = {**order.rule_fields, "hold": RELEASED}
            order.held_until = None
            fields = ("rule_fields", "held_until")
        return order_status.transition(order, S.QUEUED, event="released", actor=actor,
                                       message="Released for processing.", fields=fields)


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
        _refuse_unless_possible(order, A.EDIT)
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
        # Its parts too, before "was a part sent?" is asked: another connection's run may be
        # claiming one for its warehouse right now (see rules.apply.reset_parts).
        list(order.parts.select_for_update())
        _refuse_unless_possible(order, A.RESET)
        undo_rules(order)
        order.lines.filter(parent__isnull=False).delete()
        order.lines.update(line_number=None, quantity_shipped=0)
        order.export_reference, order.exported_at = "", None
        order.shipping_warehouse_code = ""
        order.retry_count = 0
        fields = ("export_reference", "exported_at", "shipping_warehouse_code", "retry_count",
                  "edited", "detail_pending", "retry_at", "connection", "rules_applied_at",
                  "rule_fields", "held_until")
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
        _refuse_unless_possible(order, A.ARCHIVE)
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
        if not force:
            _refuse_unless_possible(order, A.DELETE)
        resolve_alerts_for(order)
        order.delete()


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


ACTIONS: dict[OrderAction, Callable[..., Any]] = {
    A.REPROCESS: reprocess, A.RESET: reset, A.ARCHIVE: archive, A.DELETE: delete,
    A.RELEASE: release, A.FORCE_DELETE: lambda order, *, actor: delete(order, actor=actor,
                                                                       force=True),
}
# Edit takes its changes from a form or body, so it is called on its own, never by name.


def perform(action: OrderAction | str, order: Order, *, user: Any) -> Order | None:
    """Do ``action`` to ``order`` as ``user``; returns the changed order (None once deleted).
    Raises OrderActionError with the reason when the order's state or the user's role does not
    allow it."""
    try:
        action = OrderAction(action)
    except ValueError:
        raise OrderActionError(f"unknown action {action!r}; use one of "
                               f"{', '.join(a.value for a in ACTIONS)}") from None
    if action not in ACTIONS:
        raise OrderActionError(f"{action} cannot be done by name")
    if not getattr(user, "can_change_orders", False):
        raise OrderActionError("merchant users have read-only access")
    if action == A.FORCE_DELETE and not user.is_administrator:
        raise OrderActionError("only administrators can force-delete orders")
    changed = ACTIONS[action](order, actor=user.email)
    return None if action in (A.DELETE, A.FORCE_DELETE) else changed


def bulk(action: OrderAction | str, orders: Iterable[Order], *, user: Any) -> BulkResult:
    """Apply one action to many orders; each succeeds or fails on its own."""
    result = BulkResult()
    for order in orders:
        try:
            perform(action, order, user=user)
            result.done.append(order.pk)
        except OrderActionError as exc:
            result.failed[order.pk] = exc.message
    return result

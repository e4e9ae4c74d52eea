"""What a person can do to a shipment: Reprocess and Archive, one at a time or in bulk.

The API, the pages and the CLI call these. None of them talks to a store or warehouse: the
connection's next shipment run posts what Reprocess made ready (a retry looks in the store
first, so a shipment the store already has is never posted twice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from dropstream.alerts.actions import resolve_alerts_for
from dropstream.orders import status as order_status
from dropstream.orders.models import Order
from dropstream.platforms.base import WarehouseShipmentLine
from dropstream.shipments.errors import ShipmentActionError
from dropstream.shipments.matching import NOT_POSTED_FOR, attach_to_order, order_for
from dropstream.shipments.models import Shipment, ShipmentState

__all__ = ["ShipmentActionError", "archive", "bulk", "reprocess"]


def _locked(shipment: Shipment) -> Shipment:
    return (Shipment.objects.select_for_update(of=("self",)).select_related("order")
            .get(pk=shipment.pk))


def _rematch(shipment: Shipment, actor: str) -> None:
    """Match a shipment kept for review again (the order may have been sent since, a listing
    or line fixed). Raises ShipmentActionError, leaving it in Error, when it still fails."""
    order, why = order_for(shipment.warehouse_id, shipment.order_number)
    if order is None:
        raise ShipmentActionError(why)
    order = Order.objects.select_for_update().get(pk=order.pk)
    sent = [WarehouseShipmentLine(line_number=line.line_number, sku=line.sku,
                                  quantity=line.quantity) for line in shipment.lines.all()]
    shipment.lines.all().delete()
    shipment.order, shipment.connection_id = order, order.connection_id
    shipment.save(update_fields=["order", "connection"])
    problem = attach_to_order(shipment, order, sent)
    if problem:
        raise ShipmentActionError(problem)
    order_status.record(order, "shipment_reprocessed",
                        f"Shipment {shipment} matched again by {actor}.", actor=actor)


def reprocess(shipment: Shipment, *, actor: str) -> Shipment:
    """Make a shipment in Error (or Archived) ready to post again.

    One the store refused, or that failed on a per-shipment problem, goes back to New for the
    next run; one kept because it matched no order or line is matched again first. Raises
    ShipmentActionError when the shipment is not stopped, its order is Closed or Archived
    (reprocess the order first), or it still cannot be matched (the reason says why).
    """
    with transaction.atomic():
        shipment = _locked(shipment)
        if shipment.state not in (ShipmentState.ERROR, ShipmentState.ARCHIVED):
            raise ShipmentActionError(
                f"shipment {shipment} is {ShipmentState(shipment.state).label}; only shipments "
                "in Error or Archived can be reprocessed")
        if shipment.order_id is None or not shipment.lines.filter(
                order_line__isnull=False).exists():
            _rematch(shipment, actor)
        elif shipment.order.status in NOT_POSTED_FOR:
            raise ShipmentActionError(
                f"order {shipment.order} is {shipment.order.get_status_display()}: reprocess "
                "the order first, then the shipment")
        Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.NEW,
                                                       error_message="")
        if shipment.order_id is not None:
            order_status.record(shipment.order, "shipment_reprocess",
                                f"Shipment {shipment}: Reprocess; the next shipment run posts "
                                "it.", actor=actor)
        resolve_alerts_for(shipment)
    shipment.refresh_from_db()
    return shipment


def archive(shipment: Shipment, *, actor: str) -> Shipment:
    """Stop a shipment for good: it is kept, never posted."""
    with transaction.atomic():
        shipment = _locked(shipment)
        if shipment.state in (ShipmentState.ARCHIVED, ShipmentState.COMPLETED):
            raise ShipmentActionError(
                f"shipment {shipment} is {ShipmentState(shipment.state).label}; it cannot be "
                "archived")
        Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.ARCHIVED)
        if shipment.order_id is not None:
            order_status.record(shipment.order, "shipment_archived",
                                f"Shipment {shipment} archived: it will not be posted.",
                                actor=actor)
        resolve_alerts_for(shipment)
    shipment.refresh_from_db()
    return shipment


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


ACTIONS: dict[str, Callable[..., Any]] = {"reprocess": reprocess, "archive": archive}


def bulk(action: str, shipments: Iterable[Shipment], *, user: Any) -> BulkResult:
    """Apply one action to many shipments as ``user``; each succeeds or fails on its own."""
    if action not in ACTIONS:
        raise ShipmentActionError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if not getattr(user, "can_change_orders", False):
        raise ShipmentActionError("merchant users have read-only access")
    result = BulkResult()
    for shipment in shipments:
        try:
            ACTIONS[action](shipment, actor=user.email)
            result.done.append(shipment.pk)
        except ShipmentActionError as exc:
            result.failed[shipment.pk] = exc.message
    return result

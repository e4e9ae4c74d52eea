"""Matching a warehouse shipment to the order the hub sent, and what it does to the order.

A shipment belongs to the order the hub wrote under its order number to that warehouse, on any
connection using the warehouse (several stores may share one). Its lines are matched to the
order's warehouse lines by line number or SKU; a shipment that cannot be matched, or that would
ship more than was ordered, is kept in Error with its lines as sent and an alert — never dropped
— and ``shipments.actions.reprocess`` tries again after a fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.bulk import insert_rows
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderActivity, OrderLine, OrderStatus
from dropstream.platforms.base import WarehouseShipment, WarehouseShipmentLine
from dropstream.shipments.models import Shipment, ShipmentLine, ShipmentState

S = OrderStatus
# Orders whose shipments are kept but not posted until the order is reprocessed.
NOT_POSTED_FOR = (S.CLOSED, S.ARCHIVED)


def _match_lines(order: Order, incoming: WarehouseShipment,
                 physical: list[OrderLine]) -> tuple[list, list[str]]:
    """Pair each shipped line with one of the order's ``physical`` (numbered) lines; return
    (pairs, problems)."""
    by_number = {line.line_number: line for line in physical}
    pairs: list[tuple[OrderLine, int, str]] = []
    problems: list[str] = []
    pending: dict[int, int] = defaultdict(int)
    for shipped in incoming.lines:
        line = by_number.get(shipped.line_number) if shipped.line_number else None
        if line is None and shipped.sku:
            line = next((candidate for candidate in physical
                         if candidate.warehouse_sku == shipped.sku
                         and candidate.quantity_shipped + pending[candidate.pk]
                         < candidate.quantity_ordered), None)
            line = line or next((c for c in physical if c.warehouse_sku == shipped.sku), None)
        if line is None:
            problems.append(f"order {incoming.order_number} has no line "
                            f"{shipped.line_number or ''} {shipped.sku}".replace("  ", " "))
            continue
        if line.quantity_shipped + pending[line.pk] + shipped.quantity > line.quantity_ordered:
            problems.append(
                f"line {line.line_number} ({line.warehouse_sku}) of order "
                f"{incoming.order_number} would ship {line.quantity_shipped + pending[line.pk] + shipped.quantity}"
                f" of {line.quantity_ordered} ordered")
        pending[line.pk] += shipped.quantity
        pairs.append((line, shipped.quantity, shipped.sku or line.warehouse_sku))
    return pairs, problems


def _refresh_bundle_parents(order: Order, physical: list[OrderLine]) -> None:
    if not any(line.parent_id for line in physical):
        return  # no bundle in this order: nothing to recompute
    for parent in order.lines.filter(components__isnull=False).distinct():
        complete = min((c.quantity_shipped * parent.quantity_ordered) // c.quantity_ordered
                       for c in parent.components.all())
        if complete != parent.quantity_shipped:
            parent.quantity_shipped = complete
            parent.save(update_fields=["quantity_shipped"])


# Statuses of an order whose file the warehouse may hold without the hub knowing it yet: the
# upload's confirmation was lost (a crash, "database is locked") or its export is retrying.
UNCONFIRMED = (S.QUEUED, S.DELAYED, S.ERROR)


def shipped_status(physical: list[OrderLine]) -> str | None:
    """Shipped or Partially Shipped from the quantities of an order's ``physical`` lines; None
    when every line is canceled."""
    live = [line for line in physical if not line.canceled]
    if not live:
        return None
    done = all(line.quantity_shipped >= line.quantity_ordered for line in live)
    return S.SHIPPED if done else S.PARTIALLY_SHIPPED


def _update_order_status(order: Order, physical: list[OrderLine]) -> None:
    """Move the order to Shipped or Partially Shipped from its ``physical`` lines' quantities.

    A shipment proves the warehouse has the order: one that is still Queued (its file's
    confirmation was lost) first becomes Open, so its status follows its shipments.
    """
    target = shipped_status(physical)
    if target is None or order.status == target:
        return
    done = target == S.SHIPPED
    if order.status in NOT_POSTED_FOR:
        order_status.record(order, "late_shipment",
                            "A shipment arrived for this order after it was "
                            f"{S(order.status).label.lower()}; Reprocess it to pass the "
                            "shipment to the store.")
        return
    if order.status in UNCONFIRMED and order.export_reference:
        order.exported_at = order.exported_at or timezone.now()
        order_status.transition(order, S.OPEN, event="exported", fields=("exported_at",),
                                message=f"The warehouse shipped it, so it received "
                                        f"{order.export_reference}.")
    if target in order_status.ALLOWED.get(order.status, frozenset()):
        order_status.transition(order, target, event="shipped",
                                message="Every line has shipped." if done else
                                "Some lines have shipped.")


def follow_shipments(order_ids: list[int]) -> int:
    """Set the status of orders that already have shipments from them (after a recovered
    export confirms a batch the warehouse had shipped from). Returns how many were looked at."""
    shipped = list(Order.objects.filter(pk__in=order_ids, shipments__isnull=False).distinct())
    for order in shipped:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            _update_order_status(order, list(order.lines.filter(line_number__isnull=False)))
    return len(shipped)


def order_for(warehouse_id: int, order_number: str) -> tuple[Order | None, str]:
    """The order the hub sent under ``order_number`` to this warehouse, on any connection that
    uses the warehouse (several stores may share one): (order, "") or (None, why not)."""
    return orders_for(warehouse_id, [order_number])[order_number]


# What matching many shipments at once reads of an order (``orders_for``): the row is wide.
MATCH_FIELDS = ("id", "connection_id", "warehouse_order_number", "external_id",
                "external_display_id", "status", "error_message", "retry_at", "updated_at")
# ... and of an order line.
LINE_FIELDS = ("id", "order_id", "parent_id", "line_number", "warehouse_sku", "store_sku",
               "quantity_ordered", "quantity_shipped", "canceled")


def orders_for(warehouse_id: int, order_numbers: Iterable[str], *, lean: bool = False
               ) -> dict[str, tuple[Order | None, str]]:
    """``order_for`` of many order numbers in one query (the order rows are locked, as there):
    number → (order, "") or (None, why not). ``lean`` reads only ``MATCH_FIELDS`` (any other
    field is read when first used)."""
    numbers = set(order_numbers)
    sent: dict[str, list[Order]] = defaultdict(list)
    found = (Order.objects.select_for_update(of=("self",))
             .filter(connection__warehouse_id=warehouse_id, warehouse_order_number__in=numbers)
             .exclude(export_reference="").order_by("-id"))
    found = found.only(*MATCH_FIELDS) if lean else found.select_related("connection")
    for order in found:
        sent[order.warehouse_order_number].append(order)
    return {number: _sent_order(number, sent.get(number, [])) for number in numbers}


def _sent_order(order_number: str, candidates: list[Order]) -> tuple[Order | None, str]:
    """The newest of the orders sent under one number, newest first, or why none is taken."""
    if not candidates:
        return None, (f"No order {order_number} was sent to this warehouse by any of its "
                      "connections; the shipment is kept for review.")
    if len({order.connection_id for order in candidates}) > 1:
        names = ", ".join(sorted({str(order.connection) for order in candidates}))
        return None, (f"Order number {order_number} was sent to this warehouse by several "
                      f"connections ({names}); the shipment is kept for review.")
    return candidates[0], ""  # the newest send of that number wins


def attach_to_order(shipment: Shipment, order: Order,
                    lines: tuple[WarehouseShipmentLine, ...] | list[WarehouseShipmentLine]
                    ) -> str:
    """Match the shipment's lines to the order's, add the shipped quantities and move the
    order's status. Returns "" when attached, else the problem (the shipment is then kept in
    Error). The caller holds the order row (select_for_update in its transaction)."""
    incoming = WarehouseShipment(key=shipment.key, order_number=shipment.order_number,
                                 carrier=shipment.carrier, service=shipment.service,
                                 tracking_number=shipment.tracking_number,
                                 ship_date=shipment.ship_date, lines=tuple(lines))
    physical = list(order.lines.filter(line_number__isnull=False))
    pairs, problems = _match_lines(order, incoming, physical)
    if problems:
        message = "; ".join(problems)
        keep_in_error(shipment, incoming.lines, message)
        order_status.record(order, "shipment_rejected", f"Shipment {shipment}: {message}")
        return message
    insert_rows([
        ShipmentLine(shipment=shipment, order_line=line, line_number=line.line_number,
                     sku=sku, quantity=quantity) for line, quantity, sku in pairs])
    for line, quantity, _ in pairs:
        line.quantity_shipped += quantity
    # The order row is locked (select_for_update above), so writing the sums is safe.
    order_status.update_rows(list({line.pk: line for line, _, _ in pairs}.values()),
                             ("quantity_shipped",))
    _refresh_bundle_parents(order, physical)
    order_status.record(order, "shipment_received",
                        f"{shipment.carrier} {shipment.service} {shipment.tracking_number}"
                        .strip())
    _update_order_status(order, physical)
    if order.status in NOT_POSTED_FOR:
        raise_alert(AlertKind.SHIPMENT_UNMATCHED,
                    f"Order {order} is {S(order.status).label}; its late shipment "
                    f"{shipment} waits for Reprocess.", connection=order.connection,
                    channel="shipment", related=order)
    return ""


def keep_in_error(shipment: Shipment, lines, message: str) -> None:
    """Keep the shipment, its lines as the warehouse sent them and the reason, for review."""
    if not shipment.lines.exists():
        ShipmentLine.objects.bulk_create([
            ShipmentLine(shipment=shipment, line_number=line.line_number, sku=line.sku,
                         quantity=line.quantity) for line in lines])
    shipment.state = ShipmentState.ERROR
    shipment.error_message = message
    shipment.save(update_fields=["state", "error_message"])
    raise_alert(AlertKind.SHIPMENT_UNMATCHED, f"Shipment {shipment}: {message}",
                connection=shipment.connection, channel="shipment", related=shipment)


@dataclass
class Attachment:
    """A stored shipment whose lines ``match_plainly`` paired with its order's lines."""

    shipment: Shipment
    order: Order
    physical: list[OrderLine]
    pairs: list[tuple[OrderLine, int, str]]


def match_plainly(order: Order, incoming: WarehouseShipment,
                  physical: list[OrderLine]) -> list[tuple[OrderLine, int, str]] | None:
    """The (line, quantity, sku) pairs of a shipment that ``attach_many`` can attach with the
    others of its chunk, or None when it needs ``attach_to_order`` one by one: a line that does
    not match or ships too much (kept in Error), a bundle (its parent's count is recomputed),
    or an order that is closed or not confirmed at the warehouse (an activity or alert of its
    own)."""
    if order.status in NOT_POSTED_FOR or order.status in UNCONFIRMED:
        return None
    if any(line.parent_id for line in physical):
        return None
    pairs, problems = _match_lines(order, incoming, physical)
    return None if problems else pairs


def attach_many(attachments: list[Attachment]) -> None:
    """``attach_to_order`` for shipments of distinct orders that ``match_plainly`` accepted: the
    lines, shipped quantities, activities and status moves each in one statement (or one per
    target status). The caller holds the order rows in its transaction."""
    if not attachments:
        return
    insert_rows([
        ShipmentLine(shipment=item.shipment, order_line=line, line_number=line.line_number,
                     sku=sku, quantity=quantity)
        for item in attachments for line, quantity, sku in item.pairs])
    changed: dict[int, OrderLine] = {}
    for item in attachments:
        for line, quantity, _ in item.pairs:
            line.quantity_shipped += quantity
            changed[line.pk] = line
    order_status.update_rows(list(changed.values()), ("quantity_shipped",))
    insert_rows([
        OrderActivity(order_id=item.order.pk, event="shipment_received",
                      message=f"{item.shipment.carrier} {item.shipment.service} "
                              f"{item.shipment.tracking_number}".strip()[:4000])
        for item in attachments])
    moving: dict[str, list[Order]] = defaultdict(list)
    for item in attachments:
        target = shipped_status(item.physical)
        if (target is not None and target != item.order.status
                and target in order_status.ALLOWED.get(item.order.status, frozenset())):
            moving[target].append(item.order)
    for target, orders in moving.items():
        order_status.transition_each(
            orders, target, event="shipped",
            message="Every line has shipped." if target == S.SHIPPED else "Some lines have shipped.")

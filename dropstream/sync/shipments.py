"""Shipments: read them from the warehouse, match them to orders, post them to the store once.

A shipment is upserted on (warehouse, key), so a re-delivered file changes nothing. Posting is
recorded as an Intent first; a retry after a crash asks the store whether it already has the
shipment before creating it (DESIGN.md invariant 1). A shipment that cannot be matched, or that
ships more than was ordered, is kept in Error with an alert — never dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.platforms.base import (
    RowError,
    StoreAdapter,
    StoreShipment,
    StoreShipmentLine,
    WarehouseAdapter,
    WarehouseShipment,
)
from dropstream.platforms.errors import PlatformError, RemoteValidationError, TransientError
from dropstream.shipments.models import Shipment, ShipmentLine, ShipmentState
from dropstream.sync.adapters import remember_document
from dropstream.sync.models import Intent, IntentState

logger = logging.getLogger(__name__)
S = OrderStatus
POST = "shipment_post"
MARK_SHIPPED = "order_shipped"
# Orders that take shipments: sent to the warehouse (or perhaps sent: a batch whose confirmation
# was lost), or already closed/archived (kept, alerted, posted after Reprocess).
NOT_POSTED_FOR = (S.CLOSED, S.ARCHIVED)


@dataclass
class ShipmentReport:
    files: int = 0
    imported: int = 0
    duplicates: int = 0
    unmatched: int = 0
    posted: int = 0
    orders_marked: int = 0
    errors: int = 0


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


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


def _update_order_status(order: Order, physical: list[OrderLine]) -> None:
    """Move the order to Shipped or Partially Shipped from its ``physical`` lines' quantities."""
    physical = [line for line in physical if not line.canceled]
    if not physical:
        return
    done = all(line.quantity_shipped >= line.quantity_ordered for line in physical)
    target = S.SHIPPED if done else S.PARTIALLY_SHIPPED
    if order.status == target:
        return
    if order.status in NOT_POSTED_FOR:
        order_status.record(order, "late_shipment",
                            "A shipment arrived for this order after it was "
                            f"{S(order.status).label.lower()}; Reprocess it to pass the "
                            "shipment to the store.")
        return
    if target in order_status.ALLOWED.get(order.status, frozenset()):
        order_status.transition(order, target, event="shipped",
                                message="Every line has shipped." if done else
                                "Some lines have shipped.")


def store_warehouse_shipment(connection: Connection, incoming: WarehouseShipment,
                             source: str) -> tuple[str, list[RowError]]:
    """Upsert one warehouse shipment; returns (outcome, row errors for the file's report)."""
    with transaction.atomic():
        if Shipment.objects.filter(warehouse_id=connection.warehouse_id,
                                   key=incoming.key).exists():
            return "duplicate", []
        order = (Order.objects.select_for_update()
                 .filter(connection=connection, warehouse_order_number=incoming.order_number)
                 .exclude(export_reference="").order_by("-id").first())
        shipment = Shipment.objects.create(
            connection=connection, warehouse_id=connection.warehouse_id, order=order,
            key=incoming.key, order_number=incoming.order_number,
            tracking_number=incoming.tracking_number, carrier=incoming.carrier,
            service=incoming.service, ship_date=incoming.ship_date, weight=incoming.weight,
            cost=incoming.cost, warehouse_shipment_id=incoming.warehouse_shipment_id,
            source_file=source)
        rows = incoming.source_rows or (0,)
        if order is None:
            message = (f"No order {incoming.order_number} was sent to the warehouse on this "
                       "connection; the shipment is kept for review.")
            _keep_in_error(shipment, incoming, message)
            return "unmatched", [RowError(row, message) for row in rows]
        physical = list(order.lines.filter(line_number__isnull=False))
        pairs, problems = _match_lines(order, incoming, physical)
        if problems:
            message = "; ".join(problems)
            _keep_in_error(shipment, incoming, message)
            order_status.record(order, "shipment_rejected", f"Shipment {shipment}: {message}")
            return "unmatched", [RowError(row, message) for row in rows]
        ShipmentLine.objects.bulk_create([
            ShipmentLine(shipment=shipment, order_line=line, line_number=line.line_number,
                         sku=sku, quantity=quantity) for line, quantity, sku in pairs])
        for line, quantity, _ in pairs:
            line.quantity_shipped += quantity
        # The order row is locked (select_for_update above), so writing the sums is safe.
        order_status.update_rows(list({line.pk: line for line, _, _ in pairs}.values()),
                                 ("quantity_shipped",))
        _refresh_bundle_parents(order, physical)
        order_status.record(order, "shipment_received",
                            f"{incoming.carrier} {incoming.service} {incoming.tracking_number}"
                            .strip())
        _update_order_status(order, physical)
        if order.status in NOT_POSTED_FOR:
            raise_alert(AlertKind.SHIPMENT_UNMATCHED,
                        f"Order {order} is {S(order.status).label}; its late shipment "
                        f"{shipment} waits for Reprocess.", connection=connection,
                        channel="shipment", related=order)
        return "imported", []


def _keep_in_error(shipment: Shipment, incoming: WarehouseShipment, message: str) -> None:
    ShipmentLine.objects.bulk_create([
        ShipmentLine(shipment=shipment, line_number=line.line_number, sku=line.sku,
                     quantity=line.quantity) for line in incoming.lines])
    shipment.state = ShipmentState.ERROR
    shipment.error_message = message
    shipment.save(update_fields=["state", "error_message"])
    raise_alert(AlertKind.SHIPMENT_UNMATCHED, f"Shipment {shipment}: {message}",
                connection=shipment.connection, channel="shipment", related=shipment)


def import_shipments(connection: Connection, adapter: WarehouseAdapter,
                     report: ShipmentReport) -> None:
    """Read every new shipment document; store its shipments; acknowledge it."""
    for document in adapter.fetch_shipments():
        report.files += 1
        errors = list(document.errors)
        if not document.duplicate:
            for incoming in document.shipments:
                try:
                    outcome, row_errors = store_warehouse_shipment(connection, incoming,
                                                                   document.name)
                except Exception as exc:  # noqa: BLE001 — one bad shipment never stops the file
                    logger.exception("storing shipment %s failed", incoming.key,
                                     extra={"connection_id": connection.pk, "channel": "shipment"})
                    outcome, row_errors = "error", [RowError(r, str(exc))
                                                    for r in incoming.source_rows or (0,)]
                    report.errors += 1
                errors.extend(row_errors)
                if outcome == "imported":
                    report.imported += 1
                elif outcome == "duplicate":
                    report.duplicates += 1
                elif outcome == "unmatched":
                    report.unmatched += 1
        if document.errors:
            raise_alert(AlertKind.FILE_REJECTED,
                        f"{document.name}: {len(document.errors)} row(s) could not be read: "
                        + "; ".join(f"line {e.line_number}: {e.reason}"
                                    for e in document.errors[:5]),
                        connection=connection, channel="shipment")
        adapter.acknowledge(document, errors)
        remember_document(connection.warehouse, document)


# ---------------------------------------------------------------------------------------------
# Posting to the store
# ---------------------------------------------------------------------------------------------


def _bundles_completed_by(shipment: Shipment, parent_id: int) -> int:
    """Whole bundles this shipment completes: complete bundles counting every package of the
    order up to and including this one, minus those complete before it. A component split over
    several packages completes its bundle in the package that brings the last piece."""
    components = list(OrderLine.objects.filter(parent_id=parent_id))
    parent = OrderLine.objects.get(pk=parent_id)
    shipped = (ShipmentLine.objects.filter(order_line__in=components,
                                           shipment__order_id=shipment.order_id,
                                           shipment_id__lte=shipment.pk)
               .values_list("order_line_id", "shipment_id", "quantity"))
    upto: dict[int, int] = defaultdict(int)
    before: dict[int, int] = defaultdict(int)
    for line_id, shipment_id, quantity in shipped:
        upto[line_id] += quantity
        if shipment_id != shipment.pk:
            before[line_id] += quantity

    def complete(counts: dict[int, int]) -> int:
        return min(counts[c.pk] // max(c.quantity_ordered // max(parent.quantity_ordered, 1), 1)
                   for c in components)

    return complete(upto) - complete(before)


def store_shipment_for(shipment: Shipment) -> StoreShipment:
    """The store's view: quantities per store line (bundle components become whole bundles)."""
    lines: dict[str, int] = defaultdict(int)
    bundle_parts: dict[int, list[tuple[ShipmentLine, OrderLine]]] = defaultdict(list)
    for line in shipment.lines.select_related("order_line", "order_line__parent"):
        order_line = line.order_line
        if order_line is None:
            continue
        if order_line.parent_id:
            bundle_parts[order_line.parent_id].append((line, order_line))
        else:
            lines[order_line.external_line_id] += line.quantity
    for parent_id in bundle_parts:
        added = _bundles_completed_by(shipment, parent_id)
        if added:
            parent = bundle_parts[parent_id][0][1].parent
            lines[parent.external_line_id] += added
    return StoreShipment(
        order_external_id=shipment.order.external_id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
        service=shipment.service,
        ship_date=shipment.ship_date or timezone.now().date(),
        lines=tuple(StoreShipmentLine(external_line_id=k, quantity=v)
                    for k, v in lines.items() if k),
    )


def _post_one(connection: Connection, adapter: StoreAdapter, shipment: Shipment) -> bool:
    outgoing = store_shipment_for(shipment)
    if not outgoing.lines:
        # Only part of a bundle: the store has no line to mark until a package completes one.
        Shipment.objects.filter(pk=shipment.pk).update(
            state=ShipmentState.COMPLETED, posted_at=timezone.now(), error_message="")
        order_status.record(shipment.order, "shipment_not_posted",
                            f"Package {shipment.tracking_number or shipment.key} holds only part "
                            "of a bundle; the store hears of it with the package that completes "
                            "the bundle.")
        return False
    # One commit records the intent (and this attempt) before the request is sent.
    with transaction.atomic():
        intent, created = Intent.objects.get_or_create(
            key=f"{POST}:{shipment.pk}",
            defaults={"kind": POST, "connection": connection, "reference": shipment.key,
                      "attempts": 1})
        if intent.state == IntentState.DONE:
            Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.COMPLETED)
            return False
        Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.OPEN)
        if not created:
            intent.attempts += 1
            intent.save(update_fields=["attempts"])
    store_id = adapter.post_shipment(outgoing,
                                     check_existing=not created or intent.attempts > 1)
    now = timezone.now()
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(
            state=ShipmentState.COMPLETED, store_shipment_id=str(store_id), posted_at=now,
            error_message="")
        intent.state, intent.done_at = IntentState.DONE, now
        intent.save(update_fields=["state", "done_at"])
        order_status.record(shipment.order, "shipment_posted",
                            f"Shipment {shipment.tracking_number or shipment.key} posted to the "
                            "store.")
    return True


def _mark_shipped(connection: Connection, adapter: StoreAdapter, order: Order) -> bool:
    with transaction.atomic():
        intent, created = Intent.objects.get_or_create(
            key=f"{MARK_SHIPPED}:{order.pk}",
            defaults={"kind": MARK_SHIPPED, "connection": connection,
                      "reference": order.external_id, "attempts": 1})
        if intent.state != IntentState.PENDING:
            Order.objects.filter(pk=order.pk).update(store_status_set_at=intent.done_at
                                                     or timezone.now())
            return False
        if not created:
            intent.attempts += 1
            intent.save(update_fields=["attempts"])
    try:
        adapter.set_order_shipped(order.external_id)
    except RemoteValidationError as exc:
        # e.g. the moas_pending lock: tolerated, not retried (specs/brightsites-api.md §8.6).
        intent.state = IntentState.ABANDONED
        intent.save(update_fields=["state"])
        Order.objects.filter(pk=order.pk).update(store_status_set_at=timezone.now())
        order_status.record(order, "store_status_refused", f"The store refused the status: {exc}")
        raise_alert(AlertKind.SHIPMENT_FAILED,
                    f"Order {order}: the store refused to set its shipped status: {exc}",
                    connection=connection, channel="shipment", related=order)
        return False
    with transaction.atomic():
        intent.state, intent.done_at = IntentState.DONE, timezone.now()
        intent.save(update_fields=["state", "done_at"])
        Order.objects.filter(pk=order.pk).update(store_status_set_at=intent.done_at)
        order_status.record(order, "store_status_set", "The store's order status was set.")
    return True


def post_shipments(connection: Connection, adapter: StoreAdapter, report: ShipmentReport) -> None:
    """Post every shipment not yet in the store, then set the status of fully shipped orders."""
    due = (Shipment.objects.filter(connection=connection, order__isnull=False,
                                   state__in=(ShipmentState.NEW, ShipmentState.OPEN))
           .exclude(order__status__in=NOT_POSTED_FOR).select_related("order").order_by("id"))
    for shipment in due:
        try:
            if _post_one(connection, adapter, shipment):
                report.posted += 1
        except TransientError as exc:
            report.errors += 1
            Shipment.objects.filter(pk=shipment.pk).update(error_message=str(exc))
            raise
        except PlatformError as exc:
            report.errors += 1
            Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.ERROR,
                                                           error_message=str(exc))
            order_status.record(shipment.order, "shipment_post_failed", str(exc))
            raise_alert(AlertKind.SHIPMENT_FAILED,
                        f"Shipment {shipment} of order {shipment.order} could not be posted: "
                        f"{exc}", connection=connection, channel="shipment", related=shipment)
    if connection.store.adapter_settings().get("status_on_shipped") == "none":
        return
    shipped = (Order.objects.filter(connection=connection, status=S.SHIPPED,
                                    store_status_set_at__isnull=True)
               .exclude(shipments__state__in=(ShipmentState.NEW, ShipmentState.OPEN,
                                              ShipmentState.ERROR))
               .distinct().order_by("id"))
    for order in shipped:
        try:
            if _mark_shipped(connection, adapter, order):
                report.orders_marked += 1
        except TransientError:
            report.errors += 1
            raise
        except PlatformError as exc:
            report.errors += 1
            raise_alert(AlertKind.SHIPMENT_FAILED, f"Order {order}: {exc}",
                        connection=connection, channel="shipment", related=order)

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

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection
from dropstream.intents.models import Intent, IntentState
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.platforms.base import (
    RowError,
    StoreAdapter,
    StoreShipment,
    StoreShipmentLine,
    WarehouseAdapter,
    WarehouseCancellation,
    WarehouseDocument,
    WarehouseShipment,
)
from dropstream.platforms.errors import PlatformError, RemoteValidationError, is_connection_level
from dropstream.shipments.matching import (
    NOT_POSTED_FOR,
    attach_to_order,
    keep_in_error,
    order_for,
)
from dropstream.shipments.models import Shipment, ShipmentLine, ShipmentState
from dropstream.sync.adapters import remember_document

logger = logging.getLogger(__name__)
S = OrderStatus
POST = "shipment_post"
MARK_SHIPPED = "order_shipped"


@dataclass
class ShipmentReport:
    files: int = 0
    imported: int = 0
    duplicates: int = 0
    unmatched: int = 0
    posted: int = 0
    orders_marked: int = 0
    errors: int = 0
    canceled: int = 0  # orders the warehouse canceled, closed


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


def store_warehouse_shipment(connection: Connection, incoming: WarehouseShipment,
                             source: str) -> tuple[str, list[RowError]]:
    """Upsert one warehouse shipment; returns (outcome, row errors for the file's report).

    The shipment belongs to the connection whose order it ships, which need not be the one
    running: connections sharing a warehouse read the same files. Raises what the database
    raises; an IntegrityError means a concurrent run stored the same shipment.
    """
    with transaction.atomic():
        if Shipment.objects.filter(warehouse_id=connection.warehouse_id,
                                   key=incoming.key).exists():
            return "duplicate", []
        order, unmatched = order_for(connection.warehouse_id, incoming.order_number)
        shipment = Shipment.objects.create(
            connection=order.connection if order is not None else connection,
            warehouse_id=connection.warehouse_id, order=order,
            key=incoming.key, order_number=incoming.order_number,
            tracking_number=incoming.tracking_number, carrier=incoming.carrier,
            service=incoming.service, ship_date=incoming.ship_date, weight=incoming.weight,
            cost=incoming.cost, warehouse_shipment_id=incoming.warehouse_shipment_id,
            source_file=source)
        rows = incoming.source_rows or (0,)
        if order is None:
            keep_in_error(shipment, incoming.lines, unmatched)
            return "unmatched", [RowError(row, unmatched) for row in rows]
        problems = attach_to_order(shipment, order, incoming.lines)
        if problems:
            return "unmatched", [RowError(row, problems) for row in rows]
        return "imported", []


def _store_one(connection: Connection, incoming: WarehouseShipment,
               source: str) -> tuple[str, list[RowError]]:
    try:
        return store_warehouse_shipment(connection, incoming, source)
    except IntegrityError:
        # A run of another connection on this warehouse stored it a moment ago.
        if Shipment.objects.filter(warehouse_id=connection.warehouse_id,
                                   key=incoming.key).exists():
            return "duplicate", []
        raise


def apply_warehouse_cancellation(connection: Connection,
                                 cancellation: WarehouseCancellation) -> str:
    """Close the order the warehouse canceled and tell the merchant; returns what happened
    ("closed", "unmatched", "already <status>"). An order that shipped in full stays Shipped (the
    alert says the warehouse contradicts itself); one already closed is left alone, so a
    repeated report raises nothing twice; one canceled in the store (the hub asked the
    warehouse to cancel it) is closed with no alert."""
    with transaction.atomic():
        order, unmatched = order_for(connection.warehouse_id, cancellation.order_number)
        if order is None:
            logger.warning("warehouse cancellation of %s matched no order: %s",
                           cancellation.order_number, unmatched,
                           extra={"connection_id": connection.pk, "channel": "shipment"})
            return "unmatched"
        if order.status in (OrderStatus.CLOSED, OrderStatus.ARCHIVED, OrderStatus.SHIPPED):
            return f"already {order.status}"
        why = f" ({cancellation.reason})" if cancellation.reason else ""
        shipped = order.status == OrderStatus.PARTIALLY_SHIPPED
        if order.canceled_in_store_at is not None:
            # The hub asked the warehouse to cancel (the store canceled it): this is the
            # warehouse confirming, so the order closes with no alert.
            order_status.transition(order, OrderStatus.CLOSED, event="canceled_at_warehouse",
                                    message=f"canceled by the warehouse, as the store asked{why}")
            return "closed"
        order_status.transition(order, OrderStatus.CLOSED, event="canceled_at_warehouse",
                   message=f"canceled by the warehouse{why}"
                           + ("; the lines shipped so far stay shipped" if shipped else ""))
        raise_alert(AlertKind.WAREHOUSE_CANCELED,
                    f"The warehouse canceled order {order.external_display_id or order.external_id}{why}: "
                    f"{'the rest of it' if shipped else 'it'} will not ship. Refund or re-send "
                    "it in the store.",
                    connection=order.connection, channel="shipment", related=order)
    return "closed"


def store_document(connection: Connection, document: WarehouseDocument,
                   report: ShipmentReport) -> tuple[list[RowError], list[str]]:
    """Store every shipment of one document and apply its cancellations; returns (row errors
    for the warehouse's report, the shipments that failed to be stored, described). A duplicate
    document stores nothing."""
    errors = list(document.errors)
    failed: list[str] = []
    if document.duplicate:
        return errors, failed
    for cancellation in document.cancellations:
        try:
            if apply_warehouse_cancellation(connection, cancellation) == "closed":
                report.canceled += 1
        except Exception as exc:  # noqa: BLE001 — the document's other events still count
            logger.exception("applying the warehouse cancellation of %s failed",
                             cancellation.order_number,
                             extra={"connection_id": connection.pk, "channel": "shipment"})
            failed.append(f"cancellation of {cancellation.order_number}: "
                          f"{type(exc).__name__}: {exc}")
    for incoming in document.shipments:
        try:
            outcome, row_errors = _store_one(connection, incoming, document.name)
        except Exception as exc:  # noqa: BLE001 — one bad shipment never stops the document
            logger.exception("storing shipment %s failed", incoming.key,
                             extra={"connection_id": connection.pk, "channel": "shipment"})
            failed.append(f"{incoming.key}: {type(exc).__name__}: {exc}")
            report.errors += 1
            continue
        errors.extend(row_errors)
        if outcome == "imported":
            report.imported += 1
        elif outcome == "duplicate":
            report.duplicates += 1
        elif outcome == "unmatched":
            report.unmatched += 1
    return errors, failed


def import_shipments(connection: Connection, adapter: WarehouseAdapter,
                     report: ShipmentReport) -> None:
    """Read every new shipment document; store its shipments; acknowledge it.

    A shipment the hub fails to store (the database refused or failed) keeps its document
    unacknowledged, so the next run reads it again (what was stored is recognised by its key),
    and raises an alert naming it: nothing is set aside before it is safely recorded.
    """
    for document in adapter.fetch_shipments():
        report.files += 1
        errors, failed = store_document(connection, document, report)
        if failed:
            raise_alert(AlertKind.SHIPMENT_FAILED,
                        f"{document.name}: {len(failed)} shipment(s) could not be stored, so the "
                        "file stays with the warehouse and is read again on the next run: "
                        + "; ".join(failed[:5]), connection=connection, channel="shipment")
            continue
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
        order_external_id=shipment.order.store_external_id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
        service=shipment.service,
        ship_date=shipment.ship_date or timezone.now().date(),
        lines=tuple(StoreShipmentLine(external_line_id=k, quantity=v)
                    for k, v in lines.items() if k),
    )


def _claimed_elsewhere(shipment: Shipment) -> frozenset[str]:
    """Store shipment ids that other hub shipments of the same order already stand for: a
    retry's look-up must not take one of them for this package (two packages may share a
    tracking number, or have none and the same lines)."""
    return frozenset(Shipment.objects.filter(order_id=shipment.order_id)
                     .exclude(pk=shipment.pk).exclude(store_shipment_id="")
                     .values_list("store_shipment_id", flat=True))


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
    store_id = adapter.post_shipment(outgoing, check_existing=not created or intent.attempts > 1,
                                     claimed=_claimed_elsewhere(shipment))
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


def family_root_if_shipped(order: Order) -> Order | None:
    """The store order ``order`` stands for, when it and every part of it are done shipping
    (each Shipped, or ended without shipping, and at least one Shipped); else None. An order
    without parts is its own root."""
    root = order if order.parent_id is None else Order.objects.get(pk=order.parent_id)
    statuses = [root.status, *Order.objects.filter(parent_id=root.pk)
                .values_list("status", flat=True)]
    if len(statuses) == 1:
        return root
    ended = (S.SHIPPED, S.CLOSED, S.SKIPPED, S.ARCHIVED)
    if all(status in ended for status in statuses) and S.SHIPPED in statuses:
        return root
    return None


def _family_status_set(root: Order, at) -> None:
    Order.objects.filter(Q(pk=root.pk) | Q(parent_id=root.pk)).update(store_status_set_at=at)


def _mark_shipped(connection: Connection, adapter: StoreAdapter, order: Order) -> bool:
    with transaction.atomic():
        intent, created = Intent.objects.get_or_create(
            key=f"{MARK_SHIPPED}:{order.pk}",
            defaults={"kind": MARK_SHIPPED, "connection": connection,
                      "reference": order.external_id, "attempts": 1})
        if intent.state != IntentState.PENDING:
            _family_status_set(order, intent.done_at or timezone.now())
            return False
        if not created:
            intent.attempts += 1
            intent.save(update_fields=["attempts"])
    try:
        adapter.set_order_shipped(order.store_external_id)
    except RemoteValidationError as exc:
        # e.g. the moas_pending lock: tolerated, not retried (specs/brightsites-api.md §8.6).
        intent.state = IntentState.ABANDONED
        intent.save(update_fields=["state"])
        _family_status_set(order, timezone.now())
        order_status.record(order, "store_status_refused", f"The store refused the status: {exc}")
        raise_alert(AlertKind.SHIPMENT_FAILED,
                    f"Order {order}: the store refused to set its shipped status: {exc}",
                    connection=connection, channel="shipment", related=order)
        return False
    with transaction.atomic():
        intent.state, intent.done_at = IntentState.DONE, timezone.now()
        intent.save(update_fields=["state", "done_at"])
        _family_status_set(order, intent.done_at)
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
        except PlatformError as exc:
            report.errors += 1
            if is_connection_level(exc):
                # The store as a whole refused or is away (a rotated token, a wrong
                # subdomain, an outage): this and every later shipment wait for the next run.
                Shipment.objects.filter(pk=shipment.pk).update(
                    error_message=f"Waiting: {exc}"[:4000])
                raise
            Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.ERROR,
                                                           error_message=str(exc))
            order_status.record(shipment.order, "shipment_post_failed", str(exc))
            raise_alert(AlertKind.SHIPMENT_FAILED,
                        f"Shipment {shipment} of order {shipment.order} could not be posted: "
                        f"{exc}. Fix what it names, then Reprocess the shipment.",
                        connection=connection, channel="shipment", related=shipment)
    if not adapter.sets_status_on_shipment:
        return
    shipped = (Order.objects.filter(connection=connection, status=S.SHIPPED,
                                    store_status_set_at__isnull=True)
               .exclude(shipments__state__in=(ShipmentState.NEW, ShipmentState.OPEN,
                                              ShipmentState.ERROR))
               .distinct().order_by("id"))
    for order in shipped:
        root = family_root_if_shipped(order)
        if root is None:
            continue  # another part of the store order is still on its way
        try:
            if _mark_shipped(connection, adapter, root):
                report.orders_marked += 1
        except PlatformError as exc:
            if is_connection_level(exc):
                report.errors += 1
                raise
            report.errors += 1
            raise_alert(AlertKind.SHIPMENT_FAILED, f"Order {order}: {exc}",
                        connection=connection, channel="shipment", related=order)

"""Shipments: read them from the warehouse, match them to orders, post them to the store once.

A shipment is upserted on (warehouse, key), so a re-delivered file changes nothing. Posting is
recorded as an Intent first; a retry after a crash asks the store whether it already has the
shipment before creating it (DESIGN.md invariant 1). A shipment that cannot be matched, or that
ships more than was ordered, is kept in Error with an alert — never dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.bulk import insert_rows
from dropstream.connections.models import Connection
from dropstream.intents.models import Intent, IntentState
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderActivity, OrderLine, OrderStatus
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
from dropstream.rules.apply import notification_verdicts
from dropstream.shipments.matching import (
    LINE_FIELDS,
    NOT_POSTED_FOR,
    Attachment,
    attach_many,
    attach_to_order,
    keep_in_error,
    match_plainly,
    order_for,
    orders_for,
)
from dropstream.shipments.models import Shipment, ShipmentLine, ShipmentState
from dropstream.sync.adapters import remember_document
from dropstream.sync.errors import RunStopped

logger = logging.getLogger(__name__)
S = OrderStatus
POST = "shipment_post"
MARK_SHIPPED = "order_shipped"
# Shipments are stored this many per transaction (bulk inserts); the ones that need more than
# attaching, and any chunk the database refuses, go one by one.
IMPORT_CHUNK = 200
# Shipments (and shipped statuses) are posted this many per round: the round's intents are
# recorded in one commit, what its requests did in another.
POST_CHUNK = 100
# Requests in flight to one store at once, as import_orders.DETAIL_WORKERS: the store's answer
# times overlap; the request count stays the bound (one POST per shipment).
POST_WORKERS = 4
# Shipment states whose package the store has not got (yet).
UNPOSTED = (ShipmentState.NEW, ShipmentState.OPEN, ShipmentState.ERROR)
# A store order split between warehouses is marked shipped by whichever of its connections
# posts the family's last package; should two finish at once, the first to record the status
# intent sends it. Its intent is left to it this long (its run is sending it, or its next run
# retries it: its part stays in its own sweep until the status is set); older, another
# connection takes it over (a status set twice costs a request, never a duplicate).
FAMILY_MARK_HANDOVER = timedelta(minutes=15)
# What posting reads of an order (the row is wide; anything else is read when needed).
ORDER_FIELDS = ("id", "connection_id", "parent_id", "external_id", "external_display_id",
                "status", "store_status_set_at")


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
        shipment = _new_shipment(order.connection_id if order is not None else connection.pk,
                                 connection.warehouse_id, order, incoming, source)
        shipment.save(force_insert=True)
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
    for start in range(0, len(document.shipments), IMPORT_CHUNK):
        chunk = document.shipments[start:start + IMPORT_CHUNK]
        for incoming in _store_chunk(connection, chunk, document.name, report):
            _store_each(connection, incoming, document.name, report, errors, failed)
    return errors, failed


def _store_chunk(connection: Connection, chunk: list[WarehouseShipment] | tuple,
                 source: str, report: ShipmentReport) -> list[WarehouseShipment]:
    """Store, in one transaction, the shipments of ``chunk`` that need nothing but attaching
    (``matching.match_plainly``): a new key, the only one of its order in the chunk. Returns
    the others, in file order, for the one-by-one path (which keeps problems in Error with
    their alerts); all of them when the database refuses the chunk (a concurrent run stored
    one, a row the database rejects), so one bad shipment never stops the rest."""
    warehouse_id = connection.warehouse_id
    rest: list[WarehouseShipment] = []
    try:
        with transaction.atomic():
            known = set(Shipment.objects.filter(warehouse_id=warehouse_id,
                                                key__in=[s.key for s in chunk])
                        .values_list("key", flat=True))
            orders = orders_for(warehouse_id,
                                {s.order_number for s in chunk if s.key not in known}, lean=True)
            physical = _physical_lines([order for order, _ in orders.values() if order])
            plain: list[tuple[WarehouseShipment, Order, list]] = []
            taken: set[int | str] = set()
            duplicates = 0
            for incoming in chunk:
                if incoming.key in known:
                    duplicates += 1
                    continue
                order = orders[incoming.order_number][0]
                pairs = (match_plainly(order, incoming, physical[order.pk])
                         if order is not None and order.pk not in taken
                         and incoming.key not in taken else None)
                if pairs is None:
                    rest.append(incoming)
                    continue
                taken.update((order.pk, incoming.key))
                plain.append((incoming, order, pairs))
            created = Shipment.objects.bulk_create(
                [_new_shipment(order.connection_id, warehouse_id, order, incoming, source)
                 for incoming, order, _ in plain], batch_size=500)
            attach_many([Attachment(shipment, order, physical[order.pk], pairs)
                         for shipment, (_, order, pairs) in zip(created, plain, strict=True)])
    except DatabaseError:
        logger.info("storing %d shipment(s) together failed; storing them one by one",
                    len(chunk), extra={"connection_id": connection.pk, "channel": "shipment"})
        return list(chunk)
    report.imported += len(plain)
    report.duplicates += duplicates
    return rest


def _physical_lines(orders: list[Order]) -> dict[int, list[OrderLine]]:
    """Each order's numbered (warehouse) lines, for all ``orders`` in one query."""
    lines: dict[int, list[OrderLine]] = {order.pk: [] for order in orders}
    for line in OrderLine.objects.filter(order__in=orders, line_number__isnull=False
                                         ).only(*LINE_FIELDS):
        lines[line.order_id].append(line)
    return lines


def _new_shipment(connection_id: int, warehouse_id: int, order: Order | None,
                  incoming: WarehouseShipment, source: str) -> Shipment:
    return Shipment(
        connection_id=connection_id, warehouse_id=warehouse_id, order=order,
        key=incoming.key, order_number=incoming.order_number,
        tracking_number=incoming.tracking_number, carrier=incoming.carrier,
        service=incoming.service, ship_date=incoming.ship_date, weight=incoming.weight,
        cost=incoming.cost, warehouse_shipment_id=incoming.warehouse_shipment_id,
        source_file=source)


def _store_each(connection: Connection, incoming: WarehouseShipment, source: str,
                report: ShipmentReport, errors: list[RowError], failed: list[str]) -> None:
    """Store one shipment on its own, counting it in ``report`` and its problems in
    ``errors`` / ``failed``."""
    try:
        outcome, row_errors = _store_one(connection, incoming, source)
    except Exception as exc:  # noqa: BLE001 — one bad shipment never stops the document
        logger.exception("storing shipment %s failed", incoming.key,
                         extra={"connection_id": connection.pk, "channel": "shipment"})
        failed.append(f"{incoming.key}: {type(exc).__name__}: {exc}")
        report.errors += 1
        return
    errors.extend(row_errors)
    if outcome == "imported":
        report.imported += 1
    elif outcome == "duplicate":
        report.duplicates += 1
    elif outcome == "unmatched":
        report.unmatched += 1


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


def store_shipments_for(shipments: list[Shipment]) -> dict[int, StoreShipment]:
    """The store's view of each shipment, by shipment id: quantities per store line (bundle
    components become whole bundles). The lines of all of them are read in one query."""
    lines_of: dict[int, list[tuple[str, int | None, str, int]]] = defaultdict(list)
    for shipment_id, *line in (
            ShipmentLine.objects.filter(shipment__in=shipments, order_line__isnull=False)
            .values_list("shipment_id", "order_line__external_line_id", "order_line__parent_id",
                         "order_line__parent__external_line_id", "quantity")):
        lines_of[shipment_id].append(tuple(line))
    return {shipment.pk: _store_shipment(shipment, lines_of[shipment.pk])
            for shipment in shipments}


def _store_shipment(shipment: Shipment, shipped: list[tuple[str, int | None, str, int]]
                    ) -> StoreShipment:
    """One shipment in the store's terms, from its (store line id, bundle parent id, the
    parent's store line id, quantity) lines."""
    lines: dict[str, int] = defaultdict(int)
    parents: dict[int, str] = {}
    for external_line_id, parent_id, parent_line_id, quantity in shipped:
        if parent_id:
            parents[parent_id] = parent_line_id
        else:
            lines[external_line_id] += quantity
    for parent_id, parent_line_id in parents.items():
        added = _bundles_completed_by(shipment, parent_id)
        if added:
            lines[parent_line_id] += added
    return StoreShipment(
        order_external_id=shipment.order.store_external_id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
        service=shipment.service,
        ship_date=shipment.ship_date or timezone.now().date(),
        lines=tuple(StoreShipmentLine(external_line_id=k, quantity=v)
                    for k, v in lines.items() if k),
    )


def _claimed_by_order(shipments: list[Shipment]) -> dict[int, dict[int, str]]:
    """Order id → {hub shipment id: store shipment id} for the shipments of these orders that
    the store already has: a retry's look-up must not take one of them for another package
    (two packages may share a tracking number, or have none and the same lines)."""
    claimed: dict[int, dict[int, str]] = defaultdict(dict)
    for order_id, pk, store_id in (Shipment.objects
                                   .filter(order_id__in={s.order_id for s in shipments})
                                   .exclude(store_shipment_id="")
                                   .values_list("order_id", "pk", "store_shipment_id")):
        claimed[order_id][pk] = store_id
    return claimed


@dataclass
class _Effect:
    """One request a round makes on a worker: what it is for, and how it went."""

    key: str  # the intent's key
    fresh: bool  # the intent was created by this round (so it is removed if never started)
    started: bool = False
    error: BaseException | None = None


@dataclass
class _Post(_Effect):
    shipment: Shipment | None = None
    outgoing: StoreShipment | None = None
    # Hub shipment id → store shipment id of the order's packages the store had at the start.
    claimed: dict[int, str] = field(default_factory=dict)
    store_id: str = ""


@dataclass
class _Mark(_Effect):
    order: Order | None = None  # the store order (a part's parent)
    for_order: int | None = None  # the order whose last package brought this about


def _stops_the_run(error: BaseException | None) -> bool:
    """A failure not about the one record: the store as a whole (a rotated token, an outage),
    the run's lease, or a bug. Nothing more is sent; what was done is recorded first."""
    if error is None:
        return False
    return not isinstance(error, PlatformError) or is_connection_level(error)


def family_root_if_shipped(order: Order, *, posting: Iterable[int] = ()) -> Order | None:
    """The store order ``order`` stands for, when it and every part of it are done shipping
    (each Shipped, or ended without shipping, and at least one Shipped) and every package of
    the family is in the store but ``posting`` (shipment ids of ``order`` being posted now);
    else None. An order without parts is its own root."""
    root = order if order.parent_id is None else Order.objects.only(*ORDER_FIELDS).get(
        pk=order.parent_id)
    parts = dict(Order.objects.filter(parent_id=root.pk).values_list("pk", "status"))
    if not parts:
        return root
    statuses = [root.status, *parts.values()]
    ended = (S.SHIPPED, S.CLOSED, S.SKIPPED, S.ARCHIVED)
    if not (all(status in ended for status in statuses) and S.SHIPPED in statuses):
        return None
    # A part at another warehouse may be Shipped with its package still to post (or refused):
    # the store hears "shipped" only after the family's last package.
    unposted = (Shipment.objects.filter(order_id__in=[root.pk, *parts], state__in=UNPOSTED)
                .exclude(pk__in=list(posting)))
    return None if unposted.exists() else root


def _family_status_set(root_ids: list[int], at) -> None:
    """Mark the store status set on these store orders and on every part of them."""
    Order.objects.filter(Q(pk__in=root_ids) | Q(parent_id__in=root_ids)).update(
        store_status_set_at=at)


def _in_window(pool: ThreadPoolExecutor, workers: int, tasks: Iterable[list[_Effect]],
               work: Callable[[list[_Effect]], None]) -> None:
    """Run ``work`` on each task, in order, at most ``workers`` at once; once a finished task
    holds a failure that stops the run, no further task starts (the running ones finish, so
    each effect sent is recorded). ``work`` records its failures on the effects, never raises."""
    todo = iter(tasks)
    running: dict[Future, list[_Effect]] = {}
    halted = False
    while True:
        while not halted and len(running) < workers:
            task = next(todo, None)
            if task is None:
                break
            running[pool.submit(work, task)] = task
        if not running:
            return
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            future.result()
            if any(_stops_the_run(effect.error) for effect in running.pop(future)):
                halted = True


def _record_intents(connection: Connection, kind: str, references: dict[str, str]
                    ) -> tuple[dict[str, Intent], set[str]]:
    """Record one intent per key (key → reference) in the caller's transaction, before any
    request (DESIGN.md invariant 1): new ones with one attempt, pending ones one more. Returns
    (the intents that existed, by key — done ones untouched —, the keys created now)."""
    existing = {intent.key: intent for intent in Intent.objects.select_for_update()
                .filter(key__in=list(references))}
    fresh = [key for key in references if key not in existing]
    insert_rows([Intent(key=key, kind=kind, connection=connection,
                        reference=references[key][:255], attempts=1) for key in fresh])
    Intent.objects.filter(pk__in=[i.pk for i in existing.values()
                                  if i.state == IntentState.PENDING]
                          ).update(attempts=F("attempts") + 1)
    return existing, set(fresh)


def _forget_unsent(effects: list[_Effect], model: type, pks: list[int] | None = None) -> None:
    """Effects a stopped round never started: their fresh intents go (nothing was sent, so the
    next run sends them plainly, with no look-up), pending ones get their attempt back."""
    unsent = [effect for effect in effects if not effect.started]
    Intent.objects.filter(key__in=[e.key for e in unsent if e.fresh]).delete()
    Intent.objects.filter(key__in=[e.key for e in unsent if not e.fresh],
                          state=IntentState.PENDING).update(attempts=F("attempts") - 1)
    if pks:
        model.objects.filter(pk__in=pks).update(state=ShipmentState.NEW)


def _part_of_a_bundle(shipment: Shipment) -> None:
    """A package holding only part of a bundle: the store has no line to mark until a package
    completes one, so it is done here with no request."""
    Shipment.objects.filter(pk=shipment.pk).update(
        state=ShipmentState.COMPLETED, posted_at=timezone.now(), error_message="")
    order_status.record(shipment.order, "shipment_not_posted",
                        f"Package {shipment.tracking_number or shipment.key} holds only part "
                        "of a bundle; the store hears of it with the package that completes "
                        "the bundle.")


def _prepare_posts(connection: Connection, shipments: list[Shipment], *,
                   set_status: bool) -> list[list[_Effect]]:
    """Record the round's intents in one commit and open its shipments; returns the tasks, one
    per order: its packages in id order, then (``set_status``) the shipped status when this
    round brings the store its last package. A shipment whose intent is done is completed
    here, with no request."""
    outgoing = store_shipments_for(shipments)
    for shipment in shipments:
        if not outgoing[shipment.pk].lines:
            _part_of_a_bundle(shipment)
    shipments = [s for s in shipments if outgoing[s.pk].lines]
    claimed = _claimed_by_order(shipments)
    completing = _orders_completed_by(shipments) if set_status else []
    keys = {f"{POST}:{s.pk}": s for s in shipments}
    with transaction.atomic():
        existing, fresh = _record_intents(connection, POST,
                                          {key: s.key for key, s in keys.items()})
        done = {key for key, intent in existing.items() if intent.state == IntentState.DONE}
        Shipment.objects.filter(pk__in=[keys[key].pk for key in done]).update(
            state=ShipmentState.COMPLETED)
        Shipment.objects.filter(pk__in=[s.pk for key, s in keys.items() if key not in done]
                                ).update(state=ShipmentState.OPEN)
        posting: dict[int, set[int]] = defaultdict(set)
        for shipment in shipments:
            posting[shipment.order_id].add(shipment.pk)
        marks = {mark.for_order: mark
                 for mark in _open_marks(connection, completing, posting=posting)}
    by_order: dict[int, list[_Effect]] = defaultdict(list)
    for key, shipment in keys.items():
        if key not in done:
            by_order[shipment.order_id].append(_Post(
                key=key, fresh=key in fresh, shipment=shipment,
                outgoing=outgoing[shipment.pk], claimed=claimed.get(shipment.order_id, {})))
    for order_id, mark in marks.items():
        if order_id in by_order:
            by_order[order_id].append(mark)
        else:  # nothing of it to post after all: its status alone, forgotten if unsent
            by_order[order_id] = [mark]
    return list(by_order.values())


def _orders_completed_by(shipments: list[Shipment]) -> list[Order]:
    """The orders whose last packages to post are in ``shipments``: Shipped, their store status
    not set, and no other package New, Open or in Error."""
    candidates = {s.order_id: s.order for s in shipments
                  if s.order.status == S.SHIPPED and s.order.store_status_set_at is None}
    waiting = set(Shipment.objects.filter(order_id__in=list(candidates),
                                          state__in=UNPOSTED)
                  .exclude(pk__in=[s.pk for s in shipments])
                  .values_list("order_id", flat=True))
    return [order for order_id, order in candidates.items() if order_id not in waiting]


def _post_order(adapter: StoreAdapter, effects: list[_Effect]) -> None:
    """Post one order's packages in turn, then set its status (on a worker: HTTP only, no
    database). Each store id found or made is claimed before the next package, so a retry's
    look-up never takes a sibling's; the status is set only once every package is in the
    store; the first failure that stops the run stops here too."""
    posts = [e for e in effects if isinstance(e, _Post)]
    taken = dict(posts[0].claimed) if posts else {}
    for post in posts:
        post.started = True
        claimed = frozenset(v for k, v in taken.items() if k != post.shipment.pk)
        try:
            post.store_id = str(adapter.post_shipment(
                post.outgoing, check_existing=not post.fresh, claimed=claimed))
        except (Exception, RunStopped) as exc:  # noqa: BLE001 — recorded by the run's thread
            post.error = exc
            if _stops_the_run(exc):
                return
            continue
        taken[post.shipment.pk] = post.store_id
    if all(post.error is None for post in posts):
        _mark_order(adapter, [e for e in effects if isinstance(e, _Mark)])


def _record_round(connection: Connection, effects: list[_Effect],
                  report: ShipmentReport) -> BaseException | None:
    """``_record_posts`` and ``_record_marks`` for a round of both; returns the first failure
    that must stop the run."""
    stop = _record_posts(connection, [e for e in effects if isinstance(e, _Post)], report)
    marked = _record_marks(connection, [e for e in effects if isinstance(e, _Mark)], report)
    return stop or marked


def _record_posts(connection: Connection, posts: list[_Post],
                  report: ShipmentReport) -> BaseException | None:
    """Write what a round did — posted shipments completed and their intents done in one
    commit, unsent ones back to New — and deal with each failure. Returns the failure that
    must stop the run, raised by the caller once all this is written."""
    now = timezone.now()
    posted = [p for p in posts if p.started and p.error is None]
    with transaction.atomic():
        for post in posted:
            shipment = post.shipment
            shipment.state, shipment.store_shipment_id = ShipmentState.COMPLETED, post.store_id
            shipment.posted_at, shipment.error_message = now, ""
        order_status.update_rows([p.shipment for p in posted],
                                 ("state", "store_shipment_id", "posted_at", "error_message"))
        Intent.objects.filter(key__in=[p.key for p in posted]).update(
            state=IntentState.DONE, done_at=now)
        insert_rows([OrderActivity(
            order_id=p.shipment.order_id, event="shipment_posted",
            message=f"Shipment {p.shipment.tracking_number or p.shipment.key} posted to the "
                    "store.") for p in posted])
        _forget_unsent(posts, Shipment, [p.shipment.pk for p in posts
                                         if not p.started and p.fresh])
    report.posted += len(posted)
    stop: BaseException | None = None
    for post in posts:
        if post.error is None:
            continue
        shipment, exc = post.shipment, post.error
        if _stops_the_run(exc):
            if isinstance(exc, PlatformError):
                # The store as a whole refused or is away (a rotated token, a wrong
                # subdomain, an outage): this and every later shipment wait for the next run.
                report.errors += 1
                Shipment.objects.filter(pk=shipment.pk).update(
                    error_message=f"Waiting: {exc}"[:4000])
            stop = stop or exc
            continue
        report.errors += 1
        Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.ERROR,
                                                       error_message=str(exc))
        order_status.record(shipment.order, "shipment_post_failed", str(exc))
        raise_alert(AlertKind.SHIPMENT_FAILED,
                    f"Shipment {shipment} of order {shipment.order} could not be posted: "
                    f"{exc}. Fix what it names, then Reprocess the shipment.",
                    connection=connection, channel="shipment", related=shipment)
    return stop


def _prepare_marks(connection: Connection, orders: list[Order]) -> list[list[_Mark]]:
    """Record the round's status intents in one commit; returns the PUTs to make."""
    with transaction.atomic():
        return [[mark] for mark in _open_marks(connection, orders)]


def _store_orders_done(orders: list[Order], posting: dict[int, set[int]]
                       ) -> tuple[dict[int, Order], set[int]]:
    """(Order id → the store order to mark shipped, for those of ``orders`` whose whole store
    order has shipped; the ids of those store orders that have parts). An order without parts
    is its own (one query for the lot); a part or a parent waits for the rest of its family
    (``family_root_if_shipped``, ``posting``: order id → its shipments being posted now)."""
    with_parts = set(Order.objects.filter(parent_id__in=[o.pk for o in orders
                                                         if o.parent_id is None])
                     .values_list("parent_id", flat=True))
    families = with_parts | {o.parent_id for o in orders if o.parent_id}
    if families:
        # Another connection of the store may complete the same family now: its root's row lock
        # makes the later of two such transactions wait for the first and see what it recorded.
        list(Order.objects.select_for_update().filter(pk__in=families).order_by("pk")
             .values_list("pk", flat=True))
    done: dict[int, Order] = {}
    for order in orders:
        root = (order if order.parent_id is None and order.pk not in with_parts
                else family_root_if_shipped(order, posting=posting.get(order.pk, ())))
        if root is not None:
            done[order.pk] = root
    return done, families


def _sent_elsewhere(connection: Connection, keys: list[str]) -> set[str]:
    """Of these family status keys, those another connection recorded lately and has not
    finished (``FAMILY_MARK_HANDOVER``)."""
    if not keys:
        return set()
    since = timezone.now() - FAMILY_MARK_HANDOVER
    return set(Intent.objects.filter(key__in=keys, state=IntentState.PENDING,
                                     created_at__gte=since)
               .exclude(connection=connection).values_list("key", flat=True))


def _open_marks(connection: Connection, orders: list[Order], *,
                posting: dict[int, set[int]] | None = None) -> list[_Mark]:
    """Record a status intent per store order in the caller's transaction; returns the PUTs to
    make. A store order whose intent is settled already (done, or abandoned after a refusal)
    is marked here, with no request. Parts of one store order make one intent, keyed by it;
    one another connection is sending is left to it."""
    keys: dict[str, Order] = {}
    for_order: dict[str, int] = {}
    done, families = _store_orders_done(orders, posting or {})
    for order_id, root in done.items():
        key = f"{MARK_SHIPPED}:{root.pk}"
        if key not in keys:
            keys[key], for_order[key] = root, order_id
    for key in _sent_elsewhere(connection, [k for k, o in keys.items() if o.pk in families]):
        del keys[key]
    existing, fresh = _record_intents(connection, MARK_SHIPPED,
                                      {key: o.external_id for key, o in keys.items()})
    settled = {key: intent for key, intent in existing.items()
               if intent.state != IntentState.PENDING}
    for key, intent in settled.items():
        _family_status_set([keys[key].pk], intent.done_at or timezone.now())
    return [_Mark(key=key, fresh=key in fresh, order=order, for_order=for_order[key])
            for key, order in keys.items() if key not in settled]


def _mark_order(adapter: StoreAdapter, marks: list[_Mark]) -> None:
    """Set one order's shipped status in the store (on a worker: HTTP only)."""
    for mark in marks:
        mark.started = True
        try:
            adapter.set_order_shipped(mark.order.store_external_id)
        except (Exception, RunStopped) as exc:  # noqa: BLE001 — recorded by the run's thread
            mark.error = exc


def _record_marks(connection: Connection, marks: list[_Mark],
                  report: ShipmentReport) -> BaseException | None:
    """Write what a status round did; returns the failure that must stop the run."""
    now = timezone.now()
    done = [m for m in marks if m.started and m.error is None]
    with transaction.atomic():
        Intent.objects.filter(key__in=[m.key for m in done]).update(
            state=IntentState.DONE, done_at=now)
        _family_status_set([m.order.pk for m in done], now)
        order_status.record_many([m.order for m in done], "store_status_set",
                                 "The store's order status was set.")
        _forget_unsent(marks, Order)
    report.orders_marked += len(done)
    stop: BaseException | None = None
    for mark in marks:
        order, exc = mark.order, mark.error
        if exc is None:
            continue
        if isinstance(exc, RemoteValidationError):
            # e.g. the moas_pending lock: tolerated, not retried (specs/brightsites-api.md §8.6).
            Intent.objects.filter(key=mark.key).update(state=IntentState.ABANDONED)
            _family_status_set([order.pk], timezone.now())
            order_status.record(order, "store_status_refused",
                                f"The store refused the status: {exc}")
            raise_alert(AlertKind.SHIPMENT_FAILED,
                        f"Order {order}: the store refused to set its shipped status: {exc}",
                        connection=connection, channel="shipment", related=order)
            continue
        if isinstance(exc, PlatformError):
            report.errors += 1
        if _stops_the_run(exc):
            stop = stop or exc
            continue
        raise_alert(AlertKind.SHIPMENT_FAILED, f"Order {order}: {exc}",
                    connection=connection, channel="shipment", related=order)
    return stop


def _rounds(queryset, size: int) -> Iterator[list]:
    """The rows of ``queryset`` (ordered by id) ``size`` at a time, read afresh each time, so
    memory stays bounded for any number of rows."""
    after = 0
    while True:
        rows = list(queryset.filter(pk__gt=after)[:size])
        if not rows:
            return
        after = rows[-1].pk
        yield rows


def _due_rounds(connection: Connection) -> Iterator[list[Shipment]]:
    """The connection's shipments to post, ``POST_CHUNK`` at a time, each with its order.

    The shipments and their orders are read in two single-table queries, not one join: right
    after a bulk import PostgreSQL's statistics still say the tables are empty, and the join
    filtered on the order's status was planned as a scan of every order per shipment (seconds
    per round)."""
    due = Shipment.objects.filter(connection=connection, order__isnull=False,
                                  state__in=(ShipmentState.NEW, ShipmentState.OPEN)
                                  ).order_by("id")
    for shipments in _rounds(due, POST_CHUNK):
        orders = Order.objects.only(*ORDER_FIELDS).in_bulk(
            {shipment.order_id for shipment in shipments})
        for shipment in shipments:
            shipment.order = orders[shipment.order_id]
        ready = [s for s in shipments if s.order.status not in NOT_POSTED_FOR]
        ready = _told_by_rules(connection, ready)
        if ready:
            yield ready


def _told_by_rules(connection: Connection, shipments: list[Shipment]) -> list[Shipment]:
    """The shipments the store's shipment-notification rules let through now. Of the others:
    a rejected order's packages are completed without a request (and its status is not set),
    a held one waits (its shipment says until when), a failing rule puts it in Error."""
    verdicts = notification_verdicts(connection.store_id, {s.order_id for s in shipments})
    if not verdicts:
        return shipments
    told = []
    for shipment in shipments:
        verdict = verdicts.get(shipment.order_id)
        if verdict is None or verdict.verdict == "post":
            told.append(shipment)
        elif verdict.verdict == "skip":
            Shipment.objects.filter(pk=shipment.pk).update(
                state=ShipmentState.COMPLETED, error_message="")
            _family_status_set([shipment.order.parent_id or shipment.order_id], timezone.now())
            order_status.record(shipment.order, "shipment_not_posted",
                                f"Package {shipment.tracking_number or shipment.key} was not "
                                f"posted to the store: {verdict.message}.")
        elif verdict.verdict == "wait":
            Shipment.objects.filter(pk=shipment.pk).update(
                error_message=f"Waiting: {verdict.message}"[:4000])
        else:
            Shipment.objects.filter(pk=shipment.pk).update(state=ShipmentState.ERROR,
                                                           error_message=verdict.message)
            order_status.record(shipment.order, "shipment_post_failed", verdict.message)
            raise_alert(AlertKind.SHIPMENT_FAILED,
                        f"Shipment {shipment} of order {shipment.order}: {verdict.message}. "
                        "Fix the rule, then Reprocess the shipment.",
                        connection=connection, channel="shipment", related=shipment)
    return told


def _hand_over_claims(previous: list[list[_Post]], following: list[list[_Post]]) -> None:
    """Give the next round the store ids the round before found or made, not yet written when
    the next round was prepared: a package whose sibling was in that round must not take the
    sibling's store shipment on a retry's look-up."""
    made: dict[int, dict[int, str]] = defaultdict(dict)
    for task in previous:
        for post in task:
            if isinstance(post, _Post) and post.store_id:
                made[post.shipment.order_id][post.shipment.pk] = post.store_id
    for task in following:
        first = task[0]
        extra = made.get(first.shipment.order_id) if isinstance(first, _Post) else None
        if extra:
            first.claimed = {**first.claimed, **extra}


@dataclass
class _Pipeline:
    """Rounds of requests with the database work of one round overlapping the requests of the
    round before: round N+1 is prepared (its intents committed) while round N is in flight; it
    starts once round N has ended without a failure that stops the run, and round N is recorded
    while N+1 is in flight. Requests run on ``pool`` (HTTP only), ``workers`` at once, each
    round's window driven from ``dispatcher``; all database work stays on the calling thread."""

    pool: ThreadPoolExecutor
    dispatcher: ThreadPoolExecutor
    workers: int
    work: Callable[[list], None]
    record: Callable[[list[_Effect]], BaseException | None]
    checkpoint: Callable[[], object] | None = None
    hand_over: Callable[[list, list], None] | None = None

    def run(self, rounds: Iterable[list[list[_Effect]]]) -> None:
        """Send every round (each a list of tasks, prepared lazily); raises the first failure
        that stops the run once everything sent is recorded."""
        flying: tuple[list, Future] | None = None
        for tasks in rounds:
            flying = self._start(tasks) if flying is None else self._land(*flying, tasks)
        if flying is not None:
            self._land(*flying, None)

    def _start(self, tasks: list) -> tuple[list, Future]:
        return tasks, self.dispatcher.submit(_in_window, self.pool, self.workers, tasks,
                                             self.work)

    def _land(self, tasks: list, flight: Future, following: list | None
              ) -> tuple[list, Future] | None:
        flight.result()
        stopped = any(_stops_the_run(e.error) for task in tasks for e in task)
        upcoming = None
        if following is not None and not stopped:
            if self.hand_over is not None:
                self.hand_over(tasks, following)
            upcoming = self._start(following)
        stop = self.record([e for task in tasks for e in task])
        if following is not None and stopped:
            self.record([e for task in following for e in task])  # none started: forgotten
        if self.checkpoint is not None:
            self.checkpoint()
        if stop is not None:
            raise stop
        return upcoming


def post_shipments(connection: Connection, adapter: StoreAdapter, report: ShipmentReport, *,
                   checkpoint: Callable[[], object] | None = None,
                   workers: int = POST_WORKERS) -> None:
    """Post every shipment not yet in the store, then set the status of fully shipped orders.

    Rounds of ``POST_CHUNK`` (``_Pipeline``): a round's intents are recorded in one commit
    before its requests, its requests go out on ``workers`` threads (HTTP only: the database
    stays on this thread, SQLite's one writer), and what they did is recorded in one more
    commit. An order's packages go in turn on one thread. ``checkpoint`` (the meter's flush)
    runs after each round. Raises the first failure that stops the run (the store as a whole
    refused or is away, the lease was lost), after recording everything sent.
    """
    with (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shipment-post") as pool,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipment-window") as dispatcher):
        set_status = adapter.sets_status_on_shipment
        _Pipeline(pool, dispatcher, workers, lambda effects: _post_order(adapter, effects),
                  lambda effects: _record_round(connection, effects, report), checkpoint,
                  _hand_over_claims).run(
            _prepare_posts(connection, shipments, set_status=set_status)
            for shipments in _due_rounds(connection))
        if not set_status:
            return
        # Orders the rounds above did not complete: shipped by packages posted before, or a
        # status whose intent a crash left pending.
        shipped = (Order.objects.filter(connection=connection, status=S.SHIPPED,
                                        store_status_set_at__isnull=True)
                   .exclude(shipments__state__in=UNPOSTED)
                   .distinct().order_by("id"))
        _Pipeline(pool, dispatcher, workers, lambda marks: _mark_order(adapter, marks),
                  lambda marks: _record_marks(connection, marks, report), checkpoint).run(
            _prepare_marks(connection, orders) for orders in _rounds(shipped, POST_CHUNK))

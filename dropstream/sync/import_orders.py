"""Import orders from the store: poll (list, then detail only where needed) or push.

Steps per order (OCA connector-magento importer): skip? → up to date? → lock → map → create or
update → record. The list is read once; each order then gets its own try, so one bad order never
stops the batch (DESIGN.md invariant 5).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection, Store
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.base import OrderSummary, StoreAdapter, StoreOrder
from dropstream.platforms.errors import OrderDataError, PlatformError
from dropstream.sync.store_cancellations import apply_store_cancellation
from dropstream.sync.store_orders import (
    REPLACEABLE,
    create_store_orders,
    record_detail_failure,
    upsert_store_order,
)

logger = logging.getLogger(__name__)

# Orders updated in the same second as the cursor, or committed a little after their updated_at,
# must not be missed: each poll re-reads this much before the cursor. Rows already known with the
# same updated_at cost nothing more than their share of a list page.
CURSOR_OVERLAP = timedelta(minutes=2)
# Detail reads run on this many threads over the adapter's one (thread-safe) HTTP client, so the
# hub's database work overlaps the store's answer times. The request count is unchanged.
DETAIL_WORKERS = 4
# New orders are written this many per transaction (bulk inserts); any conflict or error sends
# the chunk through the one-order path, so one bad order never stops the others.
WRITE_CHUNK = 100
# The meter's owner (this thread) writes the rows the workers reported every this many reads.
CHECKPOINT_EVERY = 10
S = OrderStatus


@dataclass
class ImportReport:
    listed: int = 0
    imported: int = 0
    updated: int = 0
    canceled: int = 0
    errors: int = 0
    unrecorded: int = 0  # orders neither imported nor kept as a stub: listed again next time
    touched: list[int] = field(default_factory=list)
    # The earliest store update time among unrecorded orders: the cursor stops there.
    held_back: datetime | None = None

    def hold_back(self, summary: OrderSummary) -> None:
        self.unrecorded += 1
        if self.held_back is None or summary.updated_at < self.held_back:
            self.held_back = summary.updated_at




# ---------------------------------------------------------------------------------------------
# Polling
# ---------------------------------------------------------------------------------------------


def _needs_detail(known: Order | None, summary: OrderSummary) -> bool:
    if known is None:
        return True
    if known.detail_pending:
        return known.status != S.ERROR
    if known.store_updated_at is None or summary.updated_at > known.store_updated_at:
        return known.status in REPLACEABLE and not known.edited and not known.export_reference
    return False


# The list is handled this many summaries at a time: memory and every IN list stay bounded
# (some SQLite builds refuse more than 999 parameters), whatever the backfill's size.
LIST_CHUNK = 500
# What the import needs of a known order: a few columns, not the whole row.
KNOWN_FIELDS = ("id", "external_id", "status", "detail_pending", "store_updated_at", "edited",
                "export_reference", "canceled_in_store_at", "connection_id", "store_id")


def _chunks(items: Iterable[OrderSummary], size: int) -> Iterator[list[OrderSummary]]:
    chunk: list[OrderSummary] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_orders(connection: Connection, adapter: StoreAdapter, *, warehouse_cancel,
                  now: datetime | None = None, checkpoint: Callable[[], object] | None = None,
                  workers: int = DETAIL_WORKERS) -> ImportReport:
    """Poll the store once: list orders updated since the cursor, read details where needed.

    The list is consumed as it arrives, ``LIST_CHUNK`` summaries at a time. Details are read on
    ``workers`` threads; ``checkpoint`` (the meter's flush) is called from this thread every few
    reads. The cursor moves only after a complete list, and never past an order that could not
    be safely recorded (``ImportReport.held_back``): the next poll lists it again. Raises the
    adapter's PlatformError when the list itself fails (the run fails, the cursor stays).
    """
    store = Store.objects.get(pk=connection.store_id)
    since = store.import_since
    report = ImportReport()
    cursor = store.order_cursor
    # With no cursor the adapter lists only orders at the import status (a first import).
    listing = adapter.list_orders(
        updated_since=(cursor - CURSOR_OVERLAP) if cursor else None, created_since=since)
    newest = cursor
    for chunk in _chunks(listing, LIST_CHUNK):
        report.listed += len(chunk)
        newest = max([s.updated_at for s in chunk] + ([newest] if newest else []))
        wanted = _triage(connection, store, adapter, chunk, report, since=since,
                         warehouse_cancel=warehouse_cancel)
        report.touched.extend(import_details(connection, adapter, wanted, report,
                                             checkpoint=checkpoint, workers=workers))
    report.touched.extend(retry_pending_details(connection, adapter, report,
                                                checkpoint=checkpoint, workers=workers))
    if report.held_back is not None and newest is not None:
        newest = min(newest, report.held_back)
        raise_alert(AlertKind.IMPORT_FAILED,
                    f"{report.unrecorded} order(s) could not be recorded in the hub (the "
                    "database refused or failed); the next run reads them again.",
                    connection=connection, channel="sales_order")
    Store.objects.filter(pk=store.pk).update(
        order_cursor=newest, order_imported_at=now or timezone.now())
    return report


def _triage(connection: Connection, store: Store, adapter: StoreAdapter,
            chunk: list[OrderSummary], report: ImportReport, *, since: datetime | None,
            warehouse_cancel) -> list[OrderSummary]:
    """Decide for each listed summary: nothing to do, a cancellation, a marker, or a detail
    to read (returned, in list order)."""
    known = {o.external_id: o for o in Order.objects.filter(
        store=store, external_id__in=[s.external_id for s in chunk]).only(*KNOWN_FIELDS)}
    wanted: list[OrderSummary] = []
    for summary in chunk:
        order = known.get(summary.external_id)
        if since and summary.created_at and summary.created_at < since and order is None:
            continue
        try:
            if adapter.is_cancellation(summary):
                if order is not None and apply_store_cancellation(
                        order, warehouse_cancel=warehouse_cancel,
                        connection_id=connection.pk) not in ("already", "recorded"):
                    report.canceled += 1
                continue
            if not adapter.wants(summary):
                continue
            if not _needs_detail(order, summary):
                if order is not None and order.store_updated_at \
                        and summary.updated_at > order.store_updated_at:
                    upsert_marker(order, summary)
                continue
            wanted.append(summary)
        except Exception as exc:  # noqa: BLE001 — one order's failure never stops the batch
            _import_failed(connection, summary, exc, report)
    return wanted


def upsert_marker(order: Order, summary: OrderSummary) -> None:
    """A known order changed in the store after processing began: note it, read nothing."""
    Order.objects.filter(pk=order.pk).update(store_updated_at=summary.updated_at,
                                             store_status=summary.status)
    order_status.record(order, "store_update_ignored",
                        "The order changed in the store after processing began; the hub kept "
                        "its copy. Reset the order to take the store's version.")


def _import_failed(connection: Connection, summary: OrderSummary, error: Exception,
                   report: ImportReport) -> int:
    """Log and count an order that could not be imported; keep it as a stub. Returns its id,
    or 0 when not even the stub could be written: then the cursor is held back before it."""
    if not isinstance(error, PlatformError | OrderDataError):
        logger.error("importing order %s failed", summary.external_id, exc_info=error,
                     extra={"connection_id": connection.pk, "channel": "sales_order"})
    report.errors += 1
    try:
        return record_detail_failure(connection, summary, error).pk
    except Exception:  # noqa: BLE001 — the next run lists the order again
        logger.exception("recording the failure of order %s failed", summary.external_id,
                         extra={"connection_id": connection.pk, "channel": "sales_order"})
        report.hold_back(summary)
        return 0


def _read_detail(adapter: StoreAdapter, summary: OrderSummary) -> StoreOrder | Exception:
    """The order's detail, or the exception reading or mapping it raised (runs on a worker)."""
    try:
        return adapter.get_order(summary.external_id)
    except Exception as exc:  # noqa: BLE001 — handed to the writer, which records it
        return exc


def _read_details(adapter: StoreAdapter, summaries: Iterable[OrderSummary], workers: int,
                  checkpoint: Callable[[], object] | None):
    """Yield (summary, detail or exception) in list order, reading ahead on ``workers`` threads.

    At most a few chunks are read ahead, so memory stays bounded for any list length.
    """
    if workers <= 1:
        for number, summary in enumerate(summaries, 1):
            yield summary, _read_detail(adapter, summary)
            if checkpoint is not None and number % CHECKPOINT_EVERY == 0:
                checkpoint()
        return
    ahead = max(WRITE_CHUNK, workers * 4)
    queue: deque[tuple[OrderSummary, Future]] = deque()
    todo = iter(summaries)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="order-detail") as pool:
        try:
            for summary in todo:
                queue.append((summary, pool.submit(_read_detail, adapter, summary)))
                if len(queue) >= ahead:
                    break
            number = 0
            while queue:
                summary, future = queue.popleft()
                result = future.result()
                following = next(todo, None)
                if following is not None:
                    queue.append((following, pool.submit(_read_detail, adapter, following)))
                number += 1
                if checkpoint is not None and number % CHECKPOINT_EVERY == 0:
                    checkpoint()
                yield summary, result
        finally:
            for _, future in queue:
                future.cancel()


def _write_chunk(connection: Connection, chunk: list[tuple[OrderSummary, StoreOrder]],
                 report: ImportReport) -> list[int]:
    """Write a chunk of read details: new orders in bulk, known ones (and any conflict) one by
    one. Returns the touched order ids."""
    ids = [data.external_id for _, data in chunk]
    known = set(Order.objects.filter(store_id=connection.store_id, external_id__in=ids)
                .values_list("external_id", flat=True))
    fresh = [(summary, data) for summary, data in chunk if data.external_id not in known]
    if len({data.external_id for _, data in fresh}) != len(fresh):
        fresh = []  # the same order twice: let the one-order path sort it out
    touched: list[int] = []
    done: set[str] = set()
    if fresh:
        try:
            created = create_store_orders(connection, [data for _, data in fresh])
        except (DatabaseError, ValueError, TypeError, ArithmeticError):
            # A concurrent push, or one order the database refuses: go one by one below.
            logger.info("bulk import of %d order(s) fell back to one by one", len(fresh),
                        extra={"connection_id": connection.pk, "channel": "sales_order"})
        else:
            report.imported += len(created)
            touched.extend(order.pk for order in created)
            done = {order.external_id for order in created}
    for summary, data in chunk:
        if data.external_id in done:
            continue
        try:
            order, outcome = upsert_store_order(connection, data)
        except Exception as exc:  # noqa: BLE001 — one order's failure never stops the batch
            touched.append(_import_failed(connection, summary, exc, report))
            continue
        if outcome == "created":
            report.imported += 1
        elif outcome == "updated":
            report.updated += 1
        touched.append(order.pk)
    return touched


def import_details(connection: Connection, adapter: StoreAdapter,
                   summaries: Iterable[OrderSummary], report: ImportReport, *,
                   checkpoint: Callable[[], object] | None = None,
                   workers: int = DETAIL_WORKERS) -> list[int]:
    """Read each order's detail (one request each) and upsert it. Returns the touched ids.

    A failed read or mapping keeps the order as a stub (Delayed or Error) and the rest go on.
    """
    touched: list[int] = []
    chunk: list[tuple[OrderSummary, StoreOrder]] = []
    for summary, result in _read_details(adapter, summaries, workers, checkpoint):
        if isinstance(result, Exception):
            touched.append(_import_failed(connection, summary, result, report))
            continue
        chunk.append((summary, result))
        if len(chunk) >= WRITE_CHUNK:
            touched.extend(_write_chunk(connection, chunk, report))
            chunk = []
    if chunk:
        touched.extend(_write_chunk(connection, chunk, report))
    if checkpoint is not None:
        checkpoint()
    return [pk for pk in touched if pk]


def retry_pending_details(connection: Connection, adapter: StoreAdapter, report: ImportReport,
                          *, checkpoint: Callable[[], object] | None = None,
                          workers: int = DETAIL_WORKERS) -> list[int]:
    """Re-read stub orders whose retry time has come. A stub this run listed and read again
    is not due any more (read, or given a later retry time)."""
    due = Order.objects.filter(connection=connection, detail_pending=True, status=S.DELAYED,
                               retry_at__lte=timezone.now()).only(*KNOWN_FIELDS, "ordered_at",
                                                                  "store_status")
    summaries = [OrderSummary(external_id=order.external_id, status=order.store_status,
                              updated_at=order.store_updated_at or timezone.now(),
                              created_at=order.ordered_at) for order in due]
    return import_details(connection, adapter, summaries, report, checkpoint=checkpoint,
                          workers=workers)


def import_pushed_order(connection: Connection, adapter: StoreAdapter,
                        payload: Mapping[str, Any]) -> tuple[Order | None, str]:
    """Import an order body pushed by the store (the adapter decides whether to read it again).

    Returns (order, outcome): the upsert's outcome; "canceled" with the hub's order when the
    store says it was canceled (the caller applies it); "ignored" with None when the order is
    not one the hub imports. Raises OrderDataError when the body cannot be mapped.
    """
    data = adapter.order_from_push(payload)
    summary = OrderSummary(external_id=data.external_id, status=data.status,
                           updated_at=data.updated_at, created_at=data.ordered_at,
                           display_id=data.display_id)
    if adapter.is_cancellation(summary):
        order = Order.objects.filter(store_id=connection.store_id,
                                     external_id=data.external_id).first()
        return (order, "canceled") if order is not None else (None, "ignored")
    if not adapter.wants(summary):
        return None, "ignored"
    return upsert_store_order(connection, data, source="push")

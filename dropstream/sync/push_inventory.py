"""Inventory: read warehouse levels, compute each store SKU's quantity, write what changed.

Times: a level is "as of" the time the warehouse states for its snapshot (``WarehouseDocument.
as_of``), not when the hub read it, so units of an order exported between the snapshot and the
read are still reserved (the warehouse's figure does not count them yet), and an older snapshot
delivered late never overwrites a newer level.

Several warehouses (issue 16): a store may have one connection per warehouse. Whichever of them
runs, the quantity written is the store-wide sum over the connections that count toward the
store's stock, each from its warehouse's latest stored levels less the unsent orders routed to
it; the smart-sync baseline (StoreInventory) is the store's, so two connections running back to
back with nothing changed write once. The store's stock lock (inventory/locks.py) keeps two of
them from writing sums computed at once.

Writes: every write to the store is recorded as an Intent before it is sent and marked done
after (DESIGN.md invariant 1). A run that died in between leaves the intent pending; the next
run writes those SKUs again after reading what the store holds (a full sync of them), so a
level the store may or may not have taken is settled by the store's own figure.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection, Store, Warehouse
from dropstream.intents.models import Intent, IntentState
from dropstream.inventory.compute import changed_quantities, store_quantities
from dropstream.inventory.locks import store_stock_lock
from dropstream.inventory.models import InventoryLevel, StoreInventory
from dropstream.orders.models import OrderLine, OrderStatus
from dropstream.orders.prepare import CatalogView, load_catalog
from dropstream.platforms.base import (
    InventoryWriteResult,
    StoreAdapter,
    WarehouseAdapter,
    WarehouseDocument,
)
from dropstream.sync.adapters import fresh_memory, remember_document, save_memory

logger = logging.getLogger(__name__)
S = OrderStatus
UNSENT = (S.NEW, S.PENDING, S.QUEUED, S.DELAYED, S.ERROR)
WRITE = "inventory_write"


@dataclass
class InventoryReport:
    files: int = 0
    levels: int = 0
    computed: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    unchanged: int = 0  # full sync: already right in the store, nothing sent
    recovered: int = 0  # SKUs of an interrupted write, settled against the store this run
    skipped_skus: dict[str, str] = field(default_factory=dict)


def store_levels(warehouse: Warehouse, document: WarehouseDocument) -> int:
    """Upsert the document's levels; an older snapshot never overwrites a newer level."""
    as_of = document.as_of
    existing = {(lvl.sku, lvl.facility): lvl
                for lvl in InventoryLevel.objects.filter(warehouse=warehouse)}
    create, update = [], []
    for level in document.levels:
        row = existing.get((level.sku, level.facility))
        if row is None:
            create.append(InventoryLevel(warehouse=warehouse, sku=level.sku,
                                         facility=level.facility, available=max(level.available, 0),
                                         on_hand=level.on_hand, as_of=as_of,
                                         source_file=document.name))
        elif row.as_of <= as_of:
            row.available, row.on_hand = max(level.available, 0), level.on_hand
            row.as_of, row.source_file = as_of, document.name
            update.append(row)
    with transaction.atomic():
        InventoryLevel.objects.bulk_create(create, batch_size=1000)
        InventoryLevel.objects.bulk_update(update, ["available", "on_hand", "as_of",
                                                    "source_file"], batch_size=1000)
    return len(create) + len(update)


def import_levels(connection: Connection, adapter: WarehouseAdapter,
                  report: InventoryReport) -> None:
    for document in adapter.fetch_inventory():
        report.files += 1
        if not document.duplicate:
            report.levels += store_levels(connection.warehouse, document)
        if document.errors:
            raise_alert(AlertKind.FILE_REJECTED,
                        f"{document.name}: {len(document.errors)} row(s) could not be read",
                        connection=connection, channel="inventory")
        adapter.acknowledge(document, document.errors)
        remember_document(connection.warehouse, document)
    Warehouse.objects.filter(pk=connection.warehouse_id).update(
        inventory_updated_at=timezone.now())


def open_store_lines(connection: Connection, oldest_snapshot: datetime | None):
    """(store sku, quantity, exported_at) of lines whose order the warehouse may not count yet:
    not exported, or exported after the oldest snapshot (each SKU is then compared with its own
    snapshot time)."""
    unsent = Q(order__status__in=UNSENT) & Q(order__exported_at__isnull=True)
    if oldest_snapshot is not None:
        unsent |= Q(order__exported_at__gt=oldest_snapshot)
    return (OrderLine.objects
            .filter(order__connection=connection, parent__isnull=True, canceled=False, ships=True,
                    order__canceled_in_store_at__isnull=True)
            .exclude(order__status__in=(S.SKIPPED, S.CLOSED, S.ARCHIVED))
            .filter(unsent)
            .values_list("store_sku", "order__exported_at")
            .annotate(total=Sum("quantity_ordered")))


def reserved_units(lines, listings: dict[str, str], bundles: dict[str, list[tuple[str, int]]],
                   snapshot_of: dict[str, datetime]) -> dict[str, int]:
    """Units per warehouse SKU the warehouse's snapshot does not count yet: lines of orders not
    exported, or exported after that SKU's snapshot time."""
    reserved: dict[str, int] = {}
    for store_sku, exported_at, quantity in lines:
        warehouse_sku = listings.get(store_sku, store_sku)
        parts = bundles.get(warehouse_sku) or [(warehouse_sku, 1)]
        for sku, per_unit in parts:
            snapshot = snapshot_of.get(sku)
            if exported_at is None or snapshot is None or exported_at > snapshot:
                reserved[sku] = reserved.get(sku, 0) + per_unit * quantity
    return reserved


def connection_levels(connection: Connection, catalog: CatalogView) -> dict[str, int]:
    """Store SKU → what ``connection``'s warehouse can give the store: its levels less the units
    of unsent orders routed to this connection (``Order.connection``), its reserve and its
    zero-out threshold (compute.py). SKUs the warehouse never reported are left out."""
    levels = InventoryLevel.objects.filter(warehouse_id=connection.warehouse_id)
    available: dict[str, int] = {}
    snapshot_of: dict[str, datetime] = {}
    for sku, qty, oldest in (levels.values_list("sku").annotate(a=Sum("available"),
                                                                t=Min("as_of"))):
        available[sku] = qty  # summed over facilities
        snapshot_of[sku] = oldest  # the oldest facility snapshot: reserve conservatively
    if not available:
        return {}
    oldest = levels.aggregate(t=Min("as_of"))["t"]
    reserved = reserved_units(open_store_lines(connection, oldest), catalog.listings,
                              catalog.bundles, snapshot_of)
    return store_quantities(available, listings=catalog.listings, bundles=catalog.bundles,
                            reserved=reserved, reserve=connection.inventory_reserve,
                            zero_out_threshold=connection.zero_out_threshold)


def store_connections(connection: Connection) -> list[Connection]:
    """Every connection of ``connection``'s store and merchant (one per warehouse), itself
    included as given (so the running connection's other settings are the ones it was loaded
    with) but with its switches as stored now: a run loads its connection when it begins, and
    a merchant who switches it off (or disables it) while the run reads its warehouse or waits
    for the store's stock must see its levels leave the store at this run's push already."""
    members = list(Connection.objects.filter(store_id=connection.store_id,
                                             customer_id=connection.customer_id)
                   .select_related("warehouse"))
    running = copy.copy(connection)
    stored = next((m for m in members if m.pk == connection.pk), None)
    if stored is not None:
        running.counts_toward_store_stock = stored.counts_toward_store_stock
        running.enabled_at = stored.enabled_at
    return [running, *(m for m in members if m.pk != connection.pk)]


def counts(connection: Connection) -> bool:
    """Whether the connection's warehouse adds to its store's stock: switched on and enabled
    (a disabled connection's levels are no longer read, and an old connection left disabled
    after a move to another warehouse must not add its last levels to the store's)."""
    return connection.counts_toward_store_stock and connection.enabled_at is not None


@dataclass
class StoreStock:
    """What the store should show: ``quantities`` summed over the warehouses that count, and
    ``withdrawn``, the SKUs stocked only by warehouses that do not (``counts``)."""

    quantities: dict[str, int]
    withdrawn: set[str]


def compute_store_stock(connection: Connection) -> StoreStock:
    """The store-wide stock, whichever of the store's connections runs: per store SKU, the sum
    over the connections that ``count`` of their ``connection_levels``, each from its
    warehouse's latest stored levels (issue 16)."""
    catalog = load_catalog(connection)  # listings are the store's, bundles the merchant's
    quantities: dict[str, int] = {}
    switched_off: set[str] = set()
    for member in store_connections(connection):
        levels = connection_levels(member, catalog)
        if not counts(member):
            switched_off.update(levels)
            continue
        for sku, quantity in levels.items():
            quantities[sku] = quantities.get(sku, 0) + quantity
    return StoreStock(quantities=quantities, withdrawn=switched_off - set(quantities))


def compute_store_levels(connection: Connection) -> dict[str, int]:
    """Store SKU → the quantity the store should show (``compute_store_stock``)."""
    return compute_store_stock(connection).quantities


def _interrupted_writes(connection: Connection) -> tuple[list[Intent], set[str]]:
    """Writes to the store that a run (of any of its connections) recorded but did not finish,
    and their SKUs."""
    pending = list(Intent.objects.filter(connection__store_id=connection.store_id, kind=WRITE,
                                         state=IntentState.PENDING))
    skus = {sku for intent in pending for sku in intent.payload.get("quantities", {})}
    return pending, skus


def write_levels(connection: Connection, adapter: StoreAdapter, *, full: bool,
                 report: InventoryReport) -> None:
    """Write the store-wide stock's changes (all of it when ``full``) under the store's stock
    lock: another connection of the store computes and writes after this one has recorded
    what it wrote, so it finds nothing to write when nothing changed, and never writes a sum
    computed before this one's. The store adapter's memory (its SKU map, with the level last
    written for each SKU) is re-read under the lock and saved before it is released, since
    another connection of the store may have written since this run began."""
    with store_stock_lock(connection.store_id), fresh_memory(adapter):
        _write_store_stock(connection, adapter, full=full, report=report)


def _write_store_stock(connection: Connection, adapter: StoreAdapter, *, full: bool,
                       report: InventoryReport) -> None:
    stock = compute_store_stock(connection)
    computed = stock.quantities
    report.computed = len(computed)
    last = dict(StoreInventory.objects.filter(store_id=connection.store_id)
                .values_list("sku", "quantity"))
    # The hub wrote these from a warehouse that no longer counts: withdraw them (0), rather
    # than leave a figure in the store that nothing backs any more.
    computed.update({sku: 0 for sku in stock.withdrawn if sku in last})
    interrupted, unsettled = _interrupted_writes(connection)
    changes = changed_quantities(computed, last, full=full)
    changes.update({sku: computed[sku] for sku in unsettled if sku in computed})
    report.recovered = len(unsettled & set(changes))
    if not changes:
        _close(interrupted)
        return
    intent = Intent.objects.create(key=f"{WRITE}:{connection.pk}:{uuid.uuid4().hex}",
                                   kind=WRITE, connection=connection, attempts=1,
                                   reference=f"{len(changes)} SKU(s)",
                                   payload={"quantities": changes, "full": full})
    # A full sync, or settling an interrupted write, reads the store's own levels first.
    result = adapter.write_inventory(changes, full=full or bool(report.recovered))
    # The SKU map now holds the levels just written. Save it before the bookkeeping that tells
    # the next run nothing is pending (the intent closed): a run dying between the two would
    # leave a map older than the store, and a level equal to the map's is never sent.
    save_memory(adapter)
    _record(connection, result, report)
    _close([*interrupted, intent])


def _close(intents: list[Intent]) -> None:
    if intents:
        Intent.objects.filter(pk__in=[i.pk for i in intents]).update(
            state=IntentState.DONE, done_at=timezone.now())


def _record(connection: Connection, result: InventoryWriteResult,
            report: InventoryReport) -> None:
    """The store's levels as written (or found already right), and what was skipped."""
    now = timezone.now()
    report.written, report.skipped, report.failed = (len(result.written), len(result.skipped),
                                                     len(result.failed))
    report.unchanged = len(result.unchanged)
    report.skipped_skus = dict(result.skipped)
    settled = {**result.unchanged, **result.written}
    existing = {row.sku: row for row in StoreInventory.objects.filter(
        store_id=connection.store_id, sku__in=list(settled) + list(result.failed))}
    create, update = [], []
    for sku, quantity in settled.items():
        row = existing.get(sku)
        if row is None:
            create.append(StoreInventory(store_id=connection.store_id, sku=sku,
                                         quantity=quantity, written_at=now))
        else:
            row.quantity, row.written_at, row.last_error = quantity, now, ""
            update.append(row)
    for sku, error in result.failed.items():
        if sku in existing:
            existing[sku].last_error = error[:1000]
            update.append(existing[sku])
    with transaction.atomic():
        StoreInventory.objects.bulk_create(create, batch_size=1000)
        StoreInventory.objects.bulk_update(update, ["quantity", "written_at", "last_error"],
                                           batch_size=1000)
    Store.objects.filter(pk=connection.store_id).update(inventory_updated_at=now)
    if result.failed:
        raise_alert(AlertKind.INVENTORY_FAILED,
                    f"{len(result.failed)} SKU(s) could not be written to the store: "
                    + "; ".join(f"{k}: {v}" for k, v in list(result.failed.items())[:5]),
                    connection=connection, channel="inventory")

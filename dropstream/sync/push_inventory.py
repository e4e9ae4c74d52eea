"""Inventory: read warehouse levels, compute each store SKU's quantity, write what changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection, Store, Warehouse
from dropstream.inventory.compute import (
    changed_quantities,
    reserved_by_warehouse_sku,
    store_quantities,
)
from dropstream.inventory.models import InventoryLevel, StoreInventory
from dropstream.orders.models import OrderLine, OrderStatus
from dropstream.platforms.base import StoreAdapter, WarehouseAdapter, WarehouseDocument
from dropstream.sync.adapters import remember_document
from dropstream.sync.prepare import load_catalog

logger = logging.getLogger(__name__)
S = OrderStatus
UNSENT = (S.NEW, S.PENDING, S.QUEUED, S.DELAYED, S.ERROR)


@dataclass
class InventoryReport:
    files: int = 0
    levels: int = 0
    computed: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0


def store_levels(warehouse: Warehouse, document: WarehouseDocument) -> int:
    """Upsert the document's levels; an older file never overwrites a newer level."""
    as_of = document.received_at
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


def open_store_lines(connection: Connection, snapshot_at: datetime | None):
    """(store sku, quantity) of orders the warehouse did not know at ``snapshot_at``."""
    unsent = Q(order__status__in=UNSENT) & Q(order__exported_at__isnull=True)
    if snapshot_at is not None:
        unsent |= Q(order__exported_at__gt=snapshot_at)
    return (OrderLine.objects
            .filter(order__connection=connection, parent__isnull=True, canceled=False, ships=True,
                    order__canceled_in_store_at__isnull=True)
            .exclude(order__status__in=(S.SKIPPED, S.CLOSED, S.ARCHIVED))
            .filter(unsent)
            .values_list("store_sku").annotate(total=Sum("quantity_ordered")))


def compute_store_levels(connection: Connection) -> dict[str, int]:
    levels = InventoryLevel.objects.filter(warehouse_id=connection.warehouse_id)
    available: dict[str, int] = {}
    for sku, qty in levels.values_list("sku", "available"):
        available[sku] = available.get(sku, 0) + qty  # summed over facilities
    snapshot_at = levels.aggregate(t=Max("as_of"))["t"]
    catalog = load_catalog(connection)
    reserved = reserved_by_warehouse_sku(open_store_lines(connection, snapshot_at),
                                         catalog.listings, catalog.bundles)
    return store_quantities(available, listings=catalog.listings, bundles=catalog.bundles,
                            reserved=reserved, reserve=connection.inventory_reserve,
                            zero_out_threshold=connection.zero_out_threshold)


def write_levels(connection: Connection, adapter: StoreAdapter, *, full: bool,
                 report: InventoryReport) -> None:
    computed = compute_store_levels(connection)
    report.computed = len(computed)
    last = dict(StoreInventory.objects.filter(store_id=connection.store_id)
                .values_list("sku", "quantity"))
    changes = changed_quantities(computed, last, full=full)
    if not changes:
        return
    result = adapter.write_inventory(changes)
    now = timezone.now()
    report.written, report.skipped, report.failed = (len(result.written), len(result.skipped),
                                                     len(result.failed))
    existing = {row.sku: row for row in StoreInventory.objects.filter(
        store_id=connection.store_id, sku__in=list(result.written) + list(result.failed))}
    create, update = [], []
    for sku, quantity in result.written.items():
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

"""Run one channel of one connection: the single entry point for the CLI, the queue and the API.

``run_channel`` is what the scheduler's tasks, ``dropstream sync run`` and "Run now" call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection, Warehouse
from dropstream.logs import redact
from dropstream.metering.meter import DbMeter
from dropstream.orders.prepare import prepare_orders
from dropstream.platforms.base import RetryBudget
from dropstream.platforms.errors import (
    CredentialsRejected,
    HostKeyMismatch,
    PlatformError,
    RateLimited,
)
from dropstream.sync import adapters
from dropstream.sync.errors import RunStopped, StopCheck, never_stop
from dropstream.sync.events import pushes_missed
from dropstream.sync.export_orders import export_orders
from dropstream.sync.import_orders import import_orders
from dropstream.sync.maintenance import abandon_stale_orders
from dropstream.sync.push_inventory import InventoryReport, import_levels, write_levels
from dropstream.sync.rejections import apply_warehouse_rejections
from dropstream.sync.shipments import ShipmentReport, import_shipments, post_shipments

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]
CHANNELS = ("sales_order", "shipment", "inventory")


@dataclass
class RunResult:
    """What a run did. ``counts`` keys: imported, exported, errors, shipments_imported,
    shipments_posted, inventory_written …; ``requests`` maps endpoint template → store requests."""

    ok: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    error: str = ""
    # What counts cannot say (e.g. inventory: SKUs skipped and why), kept on the Run.
    details: dict[str, object] = field(default_factory=dict)
    # Seconds the store asked to be left alone (the Retry-After of the 429 that ended the run):
    # a retry through the queue waits at least this long.
    retry_after: float | None = None

    @property
    def requests_used(self) -> int:
        return sum(self.requests.values())


def _say(progress: Progress | None, text: str) -> None:
    if progress is not None:
        progress(text)


def _run_sales(connection: Connection, meter: DbMeter, warehouse_meter: DbMeter,
               result: RunResult, progress: Progress | None, should_stop: StopCheck, *,
               budget: RetryBudget | None = None, import_first: bool = True) -> None:
    errors: list[PlatformError] = []
    with adapters.open_adapters(connection, meter=meter, warehouse_meter=warehouse_meter,
                                should_stop=should_stop, retry_budget=budget) as (store,
                                                                                  warehouse):
        # A connection that only receives routed orders leaves the store to the one that imports.
        if import_first and connection.imports_orders:
            _say(progress, "importing orders from the store")
            try:
                imported = import_orders(connection, store,
                                         warehouse_cancel=warehouse.cancel_order,
                                         checkpoint=meter.flush)
                result.counts.update(listed=imported.listed, imported=imported.imported,
                                     updated=imported.updated, canceled=imported.canceled,
                                     errors=imported.errors, unrecorded=imported.unrecorded)
                if imported.imported and connection.store.push_orders_since is not None:
                    _pushes_missed(connection, imported.imported)
            except PlatformError as exc:
                errors.append(exc)
        _say(progress, "reading orders the warehouse refused")
        try:
            result.counts["refused"] = apply_warehouse_rejections(connection, warehouse)
        except PlatformError as exc:
            # Kept for the end of the run, so the adapter hears of it here (e.g. a changed
            # host key to keep for a person to accept) rather than when it leaves the block.
            adapters.note_failure(warehouse, exc)
            errors.append(exc)
        _say(progress, "preparing orders")
        prepared = prepare_orders(connection)
        result.counts["queued"] = prepared.get("queued", 0)
        result.counts["prepare_errors"] = prepared.get("error", 0)
        _say(progress, "sending orders to the warehouse")
        rules = warehouse.rules(connection.warehouse.adapter_settings())
        exported = export_orders(connection, warehouse, batch_size=rules.batch_size)
        result.counts["exported"] = exported.exported
        result.counts["files"] = exported.batches + (1 if exported.recovered else 0)
    if errors:
        raise errors[0]


def _run_shipments(connection: Connection, meter: DbMeter, warehouse_meter: DbMeter,
                   result: RunResult, progress: Progress | None, should_stop: StopCheck, *,
                   budget: RetryBudget | None = None) -> None:
    report = ShipmentReport()
    try:
        with adapters.open_adapters(connection, meter=meter, warehouse_meter=warehouse_meter,
                                    should_stop=should_stop, retry_budget=budget) as (store,
                                                                                      warehouse):
            _say(progress, "reading shipments from the warehouse")
            import_shipments(connection, warehouse, report)
            Warehouse.objects.filter(pk=connection.warehouse_id).update(
                order_status_imported_at=timezone.now())
            _say(progress, "posting shipments to the store")
            post_shipments(connection, store, report, checkpoint=meter.flush)
            result.counts["abandoned"] = abandon_stale_orders(connection)
    finally:
        result.counts.update({f"shipments_{k}": v for k, v in asdict(report).items()})


def _run_inventory(connection: Connection, meter: DbMeter, warehouse_meter: DbMeter,
                   result: RunResult, progress: Progress | None, should_stop: StopCheck, *,
                   full: bool, budget: RetryBudget | None = None) -> None:
    report = InventoryReport()
    try:
        with adapters.open_adapters(connection, meter=meter, warehouse_meter=warehouse_meter,
                                    should_stop=should_stop, retry_budget=budget) as (store,
                                                                                      warehouse):
            _say(progress, "reading inventory from the warehouse")
            import_levels(connection, warehouse, report)
            _say(progress, f"writing {'all' if full else 'changed'} quantities to the store")
            write_levels(connection, store, full=full, report=report)
    finally:
        counts = asdict(report)
        skipped = counts.pop("skipped_skus")
        result.counts.update({f"inventory_{k}": v for k, v in counts.items()})
        if skipped:
            result.details["skipped"] = skipped


def _pushes_missed(connection: Connection, count: int) -> None:
    """The reconciliation poll found orders no push delivered: poll as before, and say so."""
    pushes_missed.send(sender=Connection, connection=connection, count=count)
    raise_alert(AlertKind.PUSH_REJECTED,
                f"{count} order(s) reached the hub through the reconciliation poll, not Push "
                "Orders: check the Push Orders set-up in the store's admin. Regular polling is "
                "back on until pushes arrive again.", connection=connection,
                channel="sales_order")


def _alert_for(connection: Connection, channel_type: str, error: PlatformError) -> None:
    if isinstance(error, HostKeyMismatch):
        # The adapter kept the presented key for a person to accept (its pending change).
        kind = AlertKind.HOST_KEY_CHANGED
    elif isinstance(error, CredentialsRejected):
        kind = AlertKind.CREDENTIALS
    else:
        kind = {"sales_order": AlertKind.IMPORT_FAILED, "shipment": AlertKind.SHIPMENT_FAILED,
                "inventory": AlertKind.INVENTORY_FAILED}[channel_type]
    related = connection.warehouse if isinstance(error, HostKeyMismatch) else None
    raise_alert(kind, str(error), connection=connection, channel=channel_type, related=related)


def _close_meters(*meters: DbMeter, log_extra: dict) -> None:
    for meter in meters:
        try:
            meter.close()
        except Exception:  # noqa: BLE001 — the journal keeps the rows for recover_journals
            logger.exception("writing the request meter failed; its journal is kept",
                             extra=log_extra)


def run_channel(connection_id: int, channel_type: str, *, mode: str = "default",
                progress: Progress | None = None,
                should_stop: StopCheck = never_stop) -> RunResult:
    """Run ``channel_type`` (sales_order, shipment, inventory) for the connection now.

    ``mode`` is "default", "full" (inventory full sync) or "export" (sales orders: prepare and
    send what is queued without asking the store anything — after a push). Never raises for a
    platform or data failure: those end in ``RunResult(ok=False, error=…)`` and alerts.

    The caller holds the (connection, channel) lock (``scheduling.tasks.execute_run``; the
    command line goes through it too) and passes its lease check as ``should_stop``: it is
    called before every request, and a run that must stop ends with ``ok=False`` before its
    next external effect, leaving pending intents to the worker that holds the run now.

    The run may wait ``RUN_RETRY_SLEEP_SECONDS`` in all on a failing remote (``RetryBudget``,
    shared by its adapters and their threads): past that a request gives up with its transient
    error, so a sick store ends its run quickly and the worker's retry goes through the queue.
    """
    if channel_type not in CHANNELS:
        return RunResult(ok=False, error=f"unknown channel {channel_type!r}; use one of "
                                         + ", ".join(CHANNELS))
    connection = (Connection.objects.select_related("store", "warehouse", "customer")
                  .get(pk=connection_id))
    if connection.enabled_at is None:
        return RunResult(ok=False, error=f"connection {connection} is disabled; enable it first")
    # Rows reach the database ten (warehouse: fifty) at a time; the journal keeps the others
    # through a kill (metering.meter).
    meter = DbMeter(connection=connection, channel=channel_type, buffer_size=10)
    warehouse_meter = DbMeter(connection=connection, channel=channel_type, buffer_size=50,
                              billed=False)
    result = RunResult()
    budget = RetryBudget(settings.RUN_RETRY_SLEEP_SECONDS)
    log_extra = {"connection_id": connection.pk, "channel": channel_type}
    try:
        if channel_type == "sales_order":
            _run_sales(connection, meter, warehouse_meter, result, progress, should_stop,
                       budget=budget, import_first=mode != "export")
        elif channel_type == "shipment":
            _run_shipments(connection, meter, warehouse_meter, result, progress, should_stop,
                           budget=budget)
        else:
            _run_inventory(connection, meter, warehouse_meter, result, progress, should_stop,
                           full=mode == "full", budget=budget)
    except RunStopped as exc:
        # No alert: the run goes on in the worker that holds it now.
        result.ok, result.error = False, redact(str(exc))
        logger.warning("%s", result.error, extra=log_extra)
    except PlatformError as exc:
        result.ok, result.error = False, redact(str(exc))
        if isinstance(exc, RateLimited):
            result.retry_after = exc.retry_after
        logger.warning("run failed: %s", result.error, extra=log_extra)
        _alert_for(connection, channel_type, exc)
    except Exception as exc:  # noqa: BLE001 — a bug must fail the run, not the worker
        result.ok = False
        result.error = redact(f"internal error ({type(exc).__name__}): {exc}")
        logger.exception("run crashed", extra=log_extra)
        raise_alert(AlertKind.IMPORT_FAILED if channel_type == "sales_order" else
                    AlertKind.SHIPMENT_FAILED if channel_type == "shipment" else
                    AlertKind.INVENTORY_FAILED, result.error, connection=connection,
                    channel=channel_type)
    finally:
        _close_meters(meter, warehouse_meter, log_extra=log_extra)
    result.requests = dict(meter.by_endpoint)
    if warehouse_meter.by_endpoint:
        result.counts["warehouse_operations"] = sum(warehouse_meter.by_endpoint.values())
    credits = sum(meter.credits.values()) + sum(warehouse_meter.credits.values())
    if credits:
        result.counts["credits_used"] = round(credits)
    if result.ok:
        result.counts.setdefault("errors", 0)
    return result

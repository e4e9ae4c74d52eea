"""Hook intake: platforms POST events to ``/hooks/<platform>/<secret>`` (a store's Push Orders,
a warehouse's webhooks).

The hub's part is the same for every platform: find the store or warehouse by the URL's secret,
refuse bodies over 1 MB, keep every body as received (refused ones too, a limited number an
hour), answer at once (a platform must never time out on us), drop a repeated event id, and
import from the queue. The platform's part — reading and verifying a body into events — is its
``HookSpec.parse`` (``platforms/hooks.py``), a pure function.

Order events are imported with zero requests to the store (one when the store asks its adapter
to read pushed orders again); what scheduling does about them (send them to the warehouse at
once, poll less) it learns from ``sync.events``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection, HookOwner, Store, Warehouse
from dropstream.metering.meter import DbMeter
from dropstream.orders.prepare import prepare_orders
from dropstream.platforms.base import HookEvent, HookRejected
from dropstream.platforms.errors import OrderDataError, PlatformError
from dropstream.shipments.models import Shipment, ShipmentState
from dropstream.sync import adapters
from dropstream.sync.events import orders_pushed, shipments_arrived
from dropstream.sync.import_orders import import_pushed_order
from dropstream.sync.models import PushDelivery
from dropstream.sync.push_inventory import store_levels
from dropstream.sync.shipments import ShipmentReport, store_document
from dropstream.sync.store_cancellations import apply_store_cancellation, warehouse_canceller

logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
# Refused bodies kept per hook URL per hour: past this the hub answers 429 and keeps nothing, so
# a client hammering the URL with garbage cannot fill the database.
MAX_REFUSED_PER_HOUR = 100
# A Received delivery whose import has not run this long lost its queued task (a queue flushed,
# a worker killed between taking the message and finishing it).
STUCK_AFTER = timedelta(minutes=5)
ORDER_TOPICS = ("order", "order_canceled")

# Kept for callers that named the old error.
PushRejected = HookRejected


def find_owner(platform: str, secret: str) -> HookOwner | None:
    """The store or warehouse whose hook URL this is (platform and secret both match)."""
    store = Store.objects.filter(push_secret=secret, platform=platform).first()
    if store is not None:
        return store
    return Warehouse.objects.filter(secret=secret, platform=platform).first()


def _owner_fields(owner: HookOwner) -> dict:
    key = "store" if isinstance(owner, Store) else "warehouse"
    return {key: owner, "platform": owner.platform}


def _refused_recently(owner: HookOwner) -> int:
    since = timezone.now() - timedelta(hours=1)
    return PushDelivery.objects.filter(**_owner_fields(owner), received_at__gte=since,
                                       state=PushDelivery.State.REJECTED).count()


def receive(owner: HookOwner, body: bytes, headers: dict[str, str] | None = None
            ) -> list[PushDelivery]:
    """Check and keep a delivery, one row per event; queue their import on commit.

    Raises HookRejected: 404 when the platform delivers nothing to a hook, 413 for a body over
    1 MB, 429 once too many refused bodies arrived this hour, and the platform's own refusal
    (400, 401…) — the body is kept with the reason then.
    """
    spec = owner.platform_spec.hooks()
    if spec is None:
        raise HookRejected("not found", status=404)
    if len(body) > MAX_BODY:
        raise HookRejected("the body is larger than 1 MB", status=413)
    headers = {name.lower(): value for name, value in (headers or {}).items()}
    text = stored_text(body)
    try:
        events = spec.parse(body, headers, owner.adapter_settings())
    except HookRejected as exc:
        if _refused_recently(owner) >= MAX_REFUSED_PER_HOUR:
            raise HookRejected("too many refused deliveries this hour; try again later",
                               status=429) from None
        PushDelivery.objects.create(**_owner_fields(owner), body=text,
                                    state=PushDelivery.State.REJECTED,
                                    reason=storable(exc.message, 2000))
        raise
    rows = [_keep(owner, event, text) for event in events]
    for row in rows:
        if row.state == PushDelivery.State.RECEIVED:
            transaction.on_commit(lambda pk=row.pk: _queue(pk))
    return rows


def stored_text(body: bytes) -> str:
    """A delivered body as the text column keeps it: bytes that are not UTF-8 and NUL (which
    PostgreSQL refuses in text: a garbage body once made the hook answer 500) become U+FFFD.
    JSON never holds a raw NUL, so an accepted body is kept unchanged."""
    return body.decode("utf-8", "replace").replace("\x00", "\ufffd")


def storable(text: str, limit: int) -> str:
    """A value from a delivered body (an event id, a topic, an order number) as a column keeps
    it: NUL and lone surrogates (JSON ``"\\ud800"``) become U+FFFD, cut to ``limit``."""
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch
                   for ch in text[:limit])


def kept_fields(event: HookEvent) -> dict[str, str]:
    """What a delivery row keeps of an event besides its body."""
    return {"topic": storable(event.topic, 32), "event_id": storable(event.event_id, 255),
            "external_id": storable(event.external_id, 64)}


def _keep(owner: HookOwner, event: HookEvent, text: str) -> PushDelivery:
    """One event's delivery row; a repeat of an event id already kept is kept as Ignored."""
    fields = {**_owner_fields(owner), "body": text, **kept_fields(event)}
    if event.event_id:
        first = (PushDelivery.objects.filter(**_owner_fields(owner),
                                             event_id=fields["event_id"])
                 .exclude(state=PushDelivery.State.REJECTED).order_by("id").first())
        if first is not None:
            return PushDelivery.objects.create(**fields, state=PushDelivery.State.IGNORED,
                                               reason=f"a repeat of delivery {first.pk}")
    return PushDelivery.objects.create(**fields, enqueued_at=timezone.now())


def _queue(delivery_id: int) -> None:
    from dropstream.sync.tasks import import_push_delivery

    import_push_delivery(delivery_id)


def requeue_stuck_deliveries(now: datetime | None = None, *, limit: int = 500) -> list[int]:
    """Queue the import of Received deliveries whose task seems lost, again; returns their ids.
    The import is idempotent (an upsert), so a task that was only slow does no harm."""
    now = now or timezone.now()
    stuck = list(PushDelivery.objects.filter(state=PushDelivery.State.RECEIVED)
                 .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - STUCK_AFTER))
                 .order_by("id").values_list("id", flat=True)[:limit])
    for delivery_id in stuck:
        PushDelivery.objects.filter(pk=delivery_id).update(enqueued_at=now)
        try:
            _queue(delivery_id)
        except Exception:  # noqa: BLE001 — the queue being down: the next sweep tries again
            logger.exception("push delivery %s: could not queue its import", delivery_id)
    if stuck:
        logger.warning("queued the import of %s push deliveries again", len(stuck))
    return stuck


def _finish(delivery: PushDelivery, state: str, reason: str = "") -> str:
    delivery.state, delivery.reason = state, storable(reason, 2000)
    delivery.save(update_fields=["state", "reason"])
    return state


def process_delivery(delivery_id: int) -> str:
    """Import a kept delivery; return its final state. Idempotent: a delivery that is no longer
    Received is left as it is."""
    delivery = PushDelivery.objects.select_related("store", "warehouse").get(pk=delivery_id)
    if delivery.state != PushDelivery.State.RECEIVED:
        return delivery.state
    if delivery.store_id is not None and delivery.topic in ORDER_TOPICS + ("",):
        return _process_order_event(delivery)
    if delivery.warehouse_id is not None:
        return _process_warehouse_event(delivery)
    return _finish(delivery, PushDelivery.State.IGNORED,
                   f"the hub imports no {delivery.topic or 'such'} events from "
                   f"{delivery.platform or 'this platform'}")


def _process_order_event(delivery: PushDelivery) -> str:
    """A pushed order: imported (and prepared) into the store's enabled connection, or the
    cancellation applied."""
    store = delivery.store
    connection = (Connection.objects.filter(store=store, enabled_at__isnull=False,
                                            imports_orders=True)
                  .select_related("store", "warehouse", "customer").order_by("id").first())
    if connection is None:
        return _finish(delivery, PushDelivery.State.IGNORED,
                       "no enabled connection imports this store's orders")
    meter = DbMeter(connection=connection, channel="sales_order")
    adapter = adapters.store_adapter(store, meter=meter)
    try:
        order, outcome = import_pushed_order(
            connection, adapter, json.loads(delivery.body) if delivery.body else {})
    except OrderDataError as exc:
        raise_alert(AlertKind.PUSH_REJECTED, f"A pushed order could not be imported: {exc}",
                    connection=connection, channel="sales_order")
        return _finish(delivery, PushDelivery.State.REJECTED, str(exc))
    except PlatformError as exc:
        # The poll is the safety net: the order is imported by the next reconciliation.
        raise_alert(AlertKind.PUSH_REJECTED, f"Verifying a pushed order failed: {exc}",
                    connection=connection, channel="sales_order")
        return _finish(delivery, PushDelivery.State.REJECTED, str(exc))
    finally:
        adapter.close()
        meter.close()
    if order is None:
        return _finish(delivery, PushDelivery.State.IGNORED,
                       "the order is not at the store's import status")
    if outcome == "canceled":
        done = apply_store_cancellation(order, warehouse_cancel=warehouse_canceller(connection),
                                        connection_id=connection.pk)
        return _finish(delivery, PushDelivery.State.IMPORTED, f"canceled: {done}")
    imported = outcome in ("created", "updated")
    if imported:
        prepare_orders(connection, [order])
    orders_pushed.send(sender=Connection, connection=connection, imported=imported,
                       first=store.push_orders_since is None)
    return _finish(delivery, PushDelivery.State.IMPORTED, outcome)


def _process_warehouse_event(delivery: PushDelivery) -> str:
    """An event a warehouse delivered: its shipments stored under the connections whose orders
    they ship (the next shipment run of each posts them; scheduling asks for one now), its
    inventory levels stored."""
    warehouse = delivery.warehouse
    connection = (Connection.objects.filter(warehouse=warehouse, enabled_at__isnull=False)
                  .select_related("store", "warehouse", "customer").first())
    if connection is None:
        return _finish(delivery, PushDelivery.State.IGNORED,
                       "no enabled connection uses this warehouse")
    meter = DbMeter(connection=connection, channel="shipment", billed=False)
    memory = adapters.Memory(warehouse)
    adapter = adapters.build(warehouse, meter=meter, memory=memory)
    try:
        document = adapter.hook_document(delivery.topic,
                                         json.loads(delivery.body) if delivery.body else {})
    except (PlatformError, ValueError) as exc:
        return _finish(delivery, PushDelivery.State.REJECTED, str(exc))
    finally:
        adapter.close()
        memory.save()
        meter.close()
    if document is None:
        return _finish(delivery, PushDelivery.State.IGNORED,
                       f"the hub does not use {delivery.topic or 'such'} events")
    if document.levels:
        store_levels(warehouse, document)
    report = ShipmentReport()
    _, failed = store_document(connection, document, report)
    if failed:
        # Kept Received: the scheduler's sweep imports it again (stored ones are recognised).
        raise RuntimeError("storing shipments of a hook delivery failed: " + "; ".join(failed))
    touched = set(Shipment.objects.filter(
        warehouse=warehouse, key__in=[s.key for s in document.shipments],
        state=ShipmentState.NEW).values_list("connection_id", flat=True))
    for connection_id in sorted(touched):
        shipments_arrived.send(sender=Connection,
                               connection=Connection.objects.get(pk=connection_id))
    return _finish(delivery, PushDelivery.State.IMPORTED,
                   f"{report.imported} shipment(s), {len(document.levels)} level(s)")

"""Push Orders intake: Bright Sites POSTs the show-order JSON to a store's secret URL.

The view only checks and stores the body and answers at once (the store must never time out);
the import runs from the queue with zero requests to the store (one when the store asks for
``push_verify``). Specs: brightsites-api.md §10.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection, Store
from dropstream.platforms.errors import OrderDataError, PlatformError
from dropstream.sync.models import PushDelivery

logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class PushRejected(Exception):
    """The body cannot be accepted; ``status`` is the HTTP answer and the message the reason."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def unwrap(body: bytes) -> dict:
    """The order object from a bare or ``{"order": …}`` body; PushRejected says what is wrong."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushRejected(f"the body is not JSON ({exc})") from None
    if isinstance(payload, dict) and isinstance(payload.get("order"), dict):
        payload = payload["order"]
    if not isinstance(payload, dict):
        raise PushRejected("the body must be an order object (or {\"order\": {...}})")
    if "order_id" not in payload:
        raise PushRejected("the order has no order_id")
    return payload


def site_matches(store: Store, payload: dict) -> bool:
    """Whether the pushed order belongs to this store: its site URL names the store's subdomain
    (or, when the store's api_url points elsewhere, e.g. a sandbox, the same host)."""
    settings = store.adapter_settings()
    site_url = str(payload.get("site_url") or "")
    host = (urlsplit(site_url).hostname or "").lower()
    if not host:
        return False
    subdomain = settings["subdomain"].lower()
    if host == f"{subdomain}.mybrightsites.com" or host.split(".")[0] == subdomain:
        return True
    api_host = (urlsplit(settings.get("api_url") or "").hostname or "").lower()
    return bool(api_host) and host == api_host


def receive(store: Store, body: bytes) -> PushDelivery:
    """Check and keep a delivery; enqueue its import on commit. Raises PushRejected (the body
    is kept with the reason for a 400)."""
    if len(body) > MAX_BODY:
        raise PushRejected("the body is larger than 1 MB", status=413)
    try:
        payload = unwrap(body)
        if not site_matches(store, payload):
            raise PushRejected(f"the order's site ({payload.get('site_url')!r}) is not this "
                               "store")
    except PushRejected as exc:
        PushDelivery.objects.create(store=store, body=body.decode("utf-8", "replace"),
                                    state=PushDelivery.State.REJECTED, reason=exc.message)
        raise
    delivery = PushDelivery.objects.create(store=store, body=body.decode("utf-8"),
                                           external_id=str(payload["order_id"]),
                                           enqueued_at=timezone.now())
    from dropstream.sync.tasks import import_push_delivery

    transaction.on_commit(lambda: import_push_delivery(delivery.pk))
    return delivery


# A Received delivery whose import has not run this long lost its queued task (a queue flushed,
# a worker killed between taking the message and finishing it).
STUCK_AFTER = timedelta(minutes=5)


def requeue_stuck_deliveries(now: datetime | None = None, *, limit: int = 500) -> list[int]:
    """Queue the import of Received deliveries whose task seems lost, again; returns their ids.
    The import is idempotent (an upsert), so a task that was only slow does no harm."""
    from dropstream.sync.tasks import import_push_delivery

    now = now or timezone.now()
    stuck = list(PushDelivery.objects.filter(state=PushDelivery.State.RECEIVED)
                 .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - STUCK_AFTER))
                 .order_by("id").values_list("id", flat=True)[:limit])
    for delivery_id in stuck:
        PushDelivery.objects.filter(pk=delivery_id).update(enqueued_at=now)
        try:
            import_push_delivery(delivery_id)
        except Exception:  # noqa: BLE001 — the queue being down: the next sweep tries again
            logger.exception("push delivery %s: could not queue its import", delivery_id)
    if stuck:
        logger.warning("queued the import of %s push deliveries again", len(stuck))
    return stuck


def _finish(delivery: PushDelivery, state: str, reason: str = "") -> str:
    delivery.state, delivery.reason = state, reason[:2000]
    delivery.save(update_fields=["state", "reason"])
    return state


def process_delivery(delivery_id: int) -> str:
    """Import a stored delivery into every enabled connection of its store; return the state."""
    from dropstream.sync import adapters
    from dropstream.sync.import_orders import apply_store_cancellation, import_pushed_order
    from dropstream.sync.meter import DbMeter
    from dropstream.sync.prepare import prepare_orders

    delivery = PushDelivery.objects.select_related("store").get(pk=delivery_id)
    if delivery.state != PushDelivery.State.RECEIVED:
        return delivery.state
    store = delivery.store
    connection = (Connection.objects.filter(store=store, enabled_at__isnull=False)
                  .select_related("store", "warehouse", "customer").first())
    if connection is None:
        return _finish(delivery, PushDelivery.State.IGNORED,
                       "no enabled connection uses this store")
    meter = DbMeter(connection=connection, channel="sales_order")
    adapter = adapters.store_adapter(store, meter=meter)
    try:
        order, outcome = import_pushed_order(
            connection, adapter, json.loads(delivery.body) if delivery.body else {},
            verify=bool(store.adapter_settings().get("push_verify")))
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
        done = apply_store_cancellation(order, warehouse_cancel=_warehouse_canceller(connection))
        return _finish(delivery, PushDelivery.State.IMPORTED, f"canceled: {done}")
    if outcome == "created" or outcome == "updated":
        prepare_orders(connection, [order])
        request_export(connection)
    if store.push_orders_since is None:
        switch_to_reconciliation(store)
    return _finish(delivery, PushDelivery.State.IMPORTED, outcome)


def _warehouse_canceller(connection: Connection):
    """Ask the connection's warehouse to cancel an order, opening its adapter only if needed
    (a cancellation before export never talks to the warehouse)."""

    def cancel(order_number: str) -> None:
        from dropstream.sync import adapters
        from dropstream.sync.meter import DbMeter

        meter = DbMeter(connection=connection, channel="sales_order", billed=False)
        warehouse = adapters.warehouse_adapter(connection.warehouse, meter=meter)
        try:
            warehouse.cancel_order(order_number)
        finally:
            warehouse.close()
            adapters.save_warehouse_state(connection.warehouse)
            meter.close()

    return cancel


# With Push Orders on, polling is only the safety net (specs/brightsites-api.md §10, issue 6).
RECONCILIATION_RULES = [{"type": "daily", "every": 1, "at": "03:00"}]


def request_export(connection: Connection) -> None:
    """Queue an export-only sales run: pushed orders reach the warehouse without waiting for
    the (now daily) poll, and without a request to the store. Repeated pushes share one run."""
    from dropstream.connections.models import Channel, ChannelType
    from dropstream.scheduling.actions import request_run
    from dropstream.scheduling.errors import RunRefused

    channel = Channel.objects.filter(connection=connection, type=ChannelType.SALES_ORDER).first()
    if channel is None or channel.enabled_at is None:
        return
    try:
        request_run(channel, mode="export", trigger="push")
    except RunRefused:
        logger.info("export after push not queued: connection %s is disabled", connection.pk)


def switch_to_reconciliation(store: Store) -> None:
    """The first pushed order proves Push Orders is on: poll once a day from now on, keeping
    the user's polling rules to restore if pushes stop (``restore_polling``)."""
    from django.utils import timezone

    from dropstream.connections.models import Channel, ChannelType
    from dropstream.scheduling.actions import set_channel_rules

    with transaction.atomic():
        if not Store.objects.filter(pk=store.pk, push_orders_since__isnull=True).update(
                push_orders_since=timezone.now()):
            return  # another delivery switched it first
        for channel in Channel.objects.filter(connection__store=store,
                                              type=ChannelType.SALES_ORDER):
            Channel.objects.filter(pk=channel.pk).update(rules_before_push=channel.rules)
            set_channel_rules(channel, RECONCILIATION_RULES)
    logger.info("Push Orders is on for store %s: sales polling reduced to a daily reconciliation",
                store.pk)


def restore_polling(store: Store) -> None:
    """Push Orders stopped (or was turned off): bring back the polling rules it replaced."""
    from dropstream.connections.models import Channel, ChannelType
    from dropstream.scheduling.actions import set_channel_rules

    with transaction.atomic():
        Store.objects.filter(pk=store.pk).update(push_orders_since=None)
        for channel in Channel.objects.filter(connection__store=store,
                                              type=ChannelType.SALES_ORDER,
                                              rules_before_push__isnull=False):
            set_channel_rules(channel, channel.rules_before_push)
            Channel.objects.filter(pk=channel.pk).update(rules_before_push=None)

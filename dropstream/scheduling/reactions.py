"""What scheduling does when the domain or a flow announces something (``connections.events``,
``sync.events``): a connection switched on or off gets its next runs recomputed; a pushed order
goes to the warehouse at once, and while pushes arrive the sales poll is only a daily
reconciliation; shipments delivered by a warehouse's hook ask for a shipment run.

With Push Orders on, polling is only the safety net (specs/brightsites-api.md §10): the first
pushed order proves pushes work, so the sales schedule becomes a daily reconciliation, keeping
the user's polling rules; a reconciliation that finds orders no push delivered brings them back.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from dropstream.connections.events import connection_switched
from dropstream.connections.models import Channel, ChannelType, Connection, Store
from dropstream.scheduling.actions import request_run, reschedule_connection, set_channel_rules
from dropstream.scheduling.errors import RunRefused
from dropstream.scheduling.models import RunMode, RunTrigger
from dropstream.sync.events import orders_pushed, pushes_missed, shipments_arrived

logger = logging.getLogger("dropstream.scheduling")
RECONCILIATION_RULES = [{"type": "daily", "every": 1, "at": "03:00"}]


def request_export(connection: Connection) -> None:
    """Queue an export-only sales run: pushed orders reach the warehouse without waiting for
    the (now daily) poll, and without a request to the store. Repeated pushes share one run."""
    channel = Channel.objects.filter(connection=connection, type=ChannelType.SALES_ORDER).first()
    if channel is None or channel.enabled_at is None:
        return
    try:
        request_run(channel, mode=RunMode.EXPORT, trigger=RunTrigger.PUSH)
    except RunRefused:
        logger.info("export after push not queued: connection %s is disabled", connection.pk)


def switch_to_reconciliation(store: Store) -> None:
    """Poll once a day from now on, keeping the user's polling rules to restore."""
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
    with transaction.atomic():
        Store.objects.filter(pk=store.pk).update(push_orders_since=None)
        for channel in Channel.objects.filter(connection__store=store,
                                              type=ChannelType.SALES_ORDER,
                                              rules_before_push__isnull=False):
            set_channel_rules(channel, channel.rules_before_push)
            Channel.objects.filter(pk=channel.pk).update(rules_before_push=None)


@receiver(orders_pushed, dispatch_uid="scheduling.orders_pushed")
def _on_orders_pushed(sender, *, connection: Connection, imported: bool, first: bool,
                      **_: object) -> None:
    if imported:
        request_export(connection)
    if first:
        switch_to_reconciliation(connection.store)


@receiver(pushes_missed, dispatch_uid="scheduling.pushes_missed")
def _on_pushes_missed(sender, *, connection: Connection, **_: object) -> None:
    restore_polling(connection.store)


@receiver(shipments_arrived, dispatch_uid="scheduling.shipments_arrived")
def _on_shipments_arrived(sender, *, connection: Connection, **_: object) -> None:
    """Shipments a warehouse delivered by hook reach the store without waiting for the
    schedule; repeated deliveries share one queued run."""
    channel = Channel.objects.filter(connection=connection, type=ChannelType.SHIPMENT).first()
    if channel is None or channel.enabled_at is None:
        return
    try:
        request_run(channel, trigger=RunTrigger.PUSH)
    except RunRefused:
        logger.info("shipment run after hook not queued: connection %s is disabled",
                    connection.pk)


@receiver(connection_switched, dispatch_uid="scheduling.connection_switched")
def _on_connection_switched(sender, *, connection: Connection, **_: object) -> None:
    """Enabled: the channels' next runs from now; disabled: none."""
    reschedule_connection(connection)

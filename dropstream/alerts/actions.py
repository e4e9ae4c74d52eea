"""Raising and resolving alerts; every failure in a flow ends here."""

from __future__ import annotations

import logging

from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, models, transaction
from django.utils import timezone

from dropstream.alerts.models import Alert, AlertKind
from dropstream.logs import redact

logger = logging.getLogger(__name__)


def raise_alert(
    kind: AlertKind | str,
    message: str,
    *,
    connection=None,
    customer=None,
    channel: str = "",
    related: models.Model | None = None,
) -> Alert:
    """Record an alert (message redacted) and return it."""
    if customer is None and connection is not None:
        customer = connection.customer
    alert = Alert.objects.create(
        kind=str(kind),
        message=redact(message),
        connection=connection,
        customer=customer,
        channel=channel,
        content_type=ContentType.objects.get_for_model(related) if related is not None else None,
        object_id=str(related.pk) if related is not None else "",
    )
    logger.warning("alert %s: %s", alert.kind, alert.message,
                   extra={"connection_id": getattr(connection, "pk", None), "channel": channel})
    _group_into_issues(alert)
    return alert


def _group_into_issues(alert: Alert) -> None:
    """Apply the alert policies; when an issue opened with an "Immediately" channel, send its
    e-mail once the transaction commits (off the flow's path when a worker queue runs).

    A failure here is logged and swallowed: the alert itself is recorded, and a flow must never
    fail because notifying about its failure did.
    """
    from dropstream.alerts.models import NotificationChannel
    from dropstream.alerts.policies import apply_policies

    try:
        with transaction.atomic():
            opened = apply_policies(alert)
    except (DatabaseError, RuntimeError):
        logger.exception("alert %s: could not group it into issues", alert.pk)
        return
    if opened and NotificationChannel.objects.filter(
            policies__issues__in=opened, batch_minutes=0).exists():
        transaction.on_commit(_send_now)


def _send_now() -> None:
    from dropstream.alerts.tasks import send_notifications_task

    try:
        send_notifications_task()
    except Exception:  # noqa: BLE001 — the queue being down must not fail the flow
        logger.exception("could not queue the alert e-mails; the periodic pass will send them")


def resolve_alerts_for(related: models.Model) -> int:
    """Mark open alerts about ``related`` resolved; return how many."""
    return Alert.objects.filter(
        content_type=ContentType.objects.get_for_model(related),
        object_id=str(related.pk),
        resolved_at__isnull=True,
    ).update(resolved_at=timezone.now())

"""Raising and resolving alerts; every failure in a flow ends here."""

from __future__ import annotations

import logging

from django.contrib.contenttypes.models import ContentType
from django.db import models
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
    return alert


def resolve_alerts_for(related: models.Model) -> int:
    """Mark open alerts about ``related`` resolved; return how many."""
    return Alert.objects.filter(
        content_type=ContentType.objects.get_for_model(related),
        object_id=str(related.pk),
        resolved_at__isnull=True,
    ).update(resolved_at=timezone.now())

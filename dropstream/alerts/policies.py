"""Alert policies: which alerts open or join an issue, and how issues close (reference §12.1).

An alert that matches no policy stays a plain alert: no issue, no e-mail. A matching alert
joins the open issue of its group (the group key comes from the policy's grouping) or opens a
new one; only an issue that *opens* (or closes) queues a notification per attached channel,
so a storm of alerts into one open issue sends one e-mail, not hundreds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dropstream.alerts.models import (
    Alert,
    AlertPolicy,
    Grouping,
    Issue,
    Notification,
    NotificationEvent,
)

logger = logging.getLogger("dropstream.alerts")


def policy_matches(policy: AlertPolicy, alert: Alert, connection_ids: set[int]) -> bool:
    """True when ``alert`` is one of the policy's events, in its merchant and connections.

    ``connection_ids`` is the policy's connection list (empty: every connection).
    """
    if alert.kind not in (policy.kinds or []):
        return False
    if policy.customer_id is not None and alert.customer_id != policy.customer_id:
        return False
    if connection_ids and alert.connection_id not in connection_ids:
        return False
    return True


def alert_target(alert: Alert) -> str:
    """What the alert is about, for "per event and target" grouping: the connection, else the
    related object (a store, warehouse or order), else the merchant."""
    if alert.connection_id is not None:
        return f"connection:{alert.connection_id}"
    if alert.content_type_id is not None and alert.object_id:
        return f"{alert.content_type_id}:{alert.object_id}"
    return f"merchant:{alert.customer_id or '-'}"


def group_key(policy: AlertPolicy, alert: Alert) -> str:
    """The key of the issue ``alert`` belongs to under ``policy``'s grouping."""
    if policy.grouping == Grouping.EVENT:
        return f"event:{alert.kind}"
    if policy.grouping == Grouping.TARGET:
        return f"event:{alert.kind}|{alert_target(alert)}"
    return "policy"


def issue_title(policy: AlertPolicy, alert: Alert) -> str:
    label = alert.get_kind_display()
    if policy.grouping == Grouping.POLICY:
        return f"{policy.name}: {label}"
    if policy.grouping == Grouping.TARGET and alert.connection_id is not None:
        return f"{label} on {alert.connection.name}"[:300]
    return f"{label} ({policy.name})"[:300]


def matching_policies(alert: Alert) -> list[AlertPolicy]:
    """Every policy ``alert`` matches (two queries, whatever the number of policies)."""
    candidates = list(AlertPolicy.objects.prefetch_related("connections")
                      .order_by("id"))
    return [p for p in candidates
            if policy_matches(p, alert, {c.pk for c in p.connections.all()})]


def _queue_notifications(issue: Issue, event: str, now: datetime) -> int:
    channel_ids = list(issue.policy.channels.values_list("id", flat=True))
    Notification.objects.bulk_create([Notification(channel_id=pk, issue=issue, event=event,
                                                    created_at=now) for pk in channel_ids])
    return len(channel_ids)


def _join_or_open(policy: AlertPolicy, alert: Alert, now: datetime) -> tuple[Issue, bool]:
    """Add ``alert`` to its group's open issue, or open one. Returns (issue, opened)."""
    key = group_key(policy, alert)
    for _ in range(3):
        issue = Issue.objects.filter(policy=policy, group_key=key, closed_at__isnull=True).first()
        if issue is not None:
            updates = {"alert_count": F("alert_count") + 1, "last_alert_at": now}
            if issue.customer_id is not None and issue.customer_id != alert.customer_id:
                updates["customer"] = None  # the issue now spans merchants
            if issue.connection_id is not None and issue.connection_id != alert.connection_id:
                updates["connection"] = None
            Issue.objects.filter(pk=issue.pk).update(**updates)
            issue.alerts.add(alert)
            return issue, False
        try:
            # A savepoint: losing the race to another worker must not break the caller's
            # transaction; the loop then joins the issue the other worker opened.
            with transaction.atomic():
                issue = Issue.objects.create(
                    policy=policy, group_key=key, title=issue_title(policy, alert),
                    kind="" if policy.grouping == Grouping.POLICY else alert.kind,
                    connection_id=alert.connection_id, customer_id=alert.customer_id,
                    alert_count=1, opened_at=now, last_alert_at=now)
        except IntegrityError:
            continue
        issue.alerts.add(alert)
        _queue_notifications(issue, NotificationEvent.OPENED, now)
        return issue, True
    raise RuntimeError(f"could not open or join an issue for policy {policy.pk}")


def apply_policies(alert: Alert, now: datetime | None = None) -> list[Issue]:
    """Group ``alert`` into an issue of each matching policy; returns the issues it opened.

    Notifications for opened issues are queued (outbox rows); ``notify`` sends them.
    """
    now = now or alert.created_at or timezone.now()
    opened = []
    for policy in matching_policies(alert):
        issue, is_new = _join_or_open(policy, alert, now)
        if is_new:
            logger.info("issue %s opened by policy %s", issue.pk, policy.pk,
                        extra={"connection_id": alert.connection_id})
            opened.append(issue)
    return opened


def close_quiet_issues(now: datetime | None = None) -> list[int]:
    """Close every open issue with no new alert for its policy's ``auto_close_hours``.

    Each close is a conditional UPDATE (still open, still quiet), so an alert joining at the
    same moment keeps its issue open. Queues a "closed" notification per channel. Returns
    the ids closed.
    """
    now = now or timezone.now()
    closed = []
    candidates = Issue.objects.filter(closed_at__isnull=True).select_related("policy")
    for issue in candidates.iterator():
        quiet_since = now - timedelta(hours=issue.policy.auto_close_hours)
        if issue.last_alert_at > quiet_since:
            continue
        with transaction.atomic():
            if Issue.objects.filter(pk=issue.pk, closed_at__isnull=True,
                                    last_alert_at__lte=quiet_since).update(closed_at=now) != 1:
                continue
            _queue_notifications(issue, NotificationEvent.CLOSED, now)
        closed.append(issue.pk)
    if closed:
        logger.info("closed %s quiet issue(s)", len(closed))
    return closed

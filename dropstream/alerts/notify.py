"""Sending issue e-mails through Django's mail settings, batched per notification channel.

Notifications are outbox rows (``policies`` queues them when an issue opens or closes). A
channel's pending rows go out as **one** e-mail when the batch is due: at once for an
"Immediately" channel, else when the oldest pending row is ``batch_minutes`` old, so every
issue opened within that window shares one message.

Claiming: a sender stamps the pending rows with its own batch id in one UPDATE and sends only
the rows carrying that id, so two senders (two workers, a scheduler and a task) never send a
row twice. A failed send clears the stamp and the rows wait for the next pass.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Min
from django.utils import timezone

from dropstream.alerts.models import Notification, NotificationChannel, NotificationEvent
from dropstream.logs import redact

logger = logging.getLogger("dropstream.alerts")
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class SendResult:
    """What one pass did: e-mails sent, notifications they carried, e-mails that failed."""

    emails: int = 0
    notifications: int = 0
    failed: int = 0


def batch_due(channel: NotificationChannel, oldest_pending: datetime, now: datetime) -> bool:
    """True when ``channel``'s pending notifications should go out at ``now``."""
    return oldest_pending + timedelta(minutes=channel.batch_minutes) <= now


def _claim(channel: NotificationChannel) -> tuple[str, list[Notification]]:
    batch = secrets.token_hex(8)
    Notification.objects.filter(channel=channel, sent_at__isnull=True, batch="",
                                attempts__lt=MAX_ATTEMPTS).update(batch=batch)
    rows = list(Notification.objects.filter(channel=channel, batch=batch, sent_at__isnull=True)
                .select_related("issue", "issue__connection", "issue__policy")
                .order_by("created_at", "id"))
    return batch, rows


def _issue_url(issue_id: int) -> str:
    return f"{settings.PUBLIC_URL}/issues/{issue_id}/"


def compose(channel: NotificationChannel, rows: list[Notification]) -> tuple[str, str]:
    """(subject, body) of one e-mail carrying ``rows``."""
    opened = [r for r in rows if r.event == NotificationEvent.OPENED]
    closed = [r for r in rows if r.event == NotificationEvent.CLOSED]
    if len(rows) == 1:
        row = rows[0]
        verb = "opened" if row.event == NotificationEvent.OPENED else "closed"
        subject = f"[DropStream] Issue {verb}: {row.issue.title}"
    else:
        parts = [f"{len(opened)} opened" if opened else "", f"{len(closed)} closed" if closed
                 else ""]
        subject = f"[DropStream] Issues: {', '.join(p for p in parts if p)}"
    lines = [f"Notification channel: {channel.name}", ""]
    for title, group in (("Opened", opened), ("Closed", closed)):
        if not group:
            continue
        lines.append(f"{title}:")
        for row in group:
            issue = row.issue
            where = f" — {issue.connection.name}" if issue.connection_id else ""
            lines.append(f"  • {issue.title}{where} ({issue.alert_count} alert(s), policy "
                         f"{issue.policy.name})")
            lines.append(f"    {_issue_url(issue.pk)}")
        lines.append("")
    lines.append("You receive this because this address is on a DropStream notification "
                 "channel.")
    return redact(subject[:250]), redact("\n".join(lines))


def send_channel(channel: NotificationChannel, now: datetime, connection=None) -> SendResult:
    """Send ``channel``'s pending notifications as one e-mail now (not checking due-ness)."""
    batch, rows = _claim(channel)
    if not rows:
        return SendResult()
    addresses = channel.addresses
    ids = [r.pk for r in rows]
    if not addresses:
        # Nothing to deliver to: mark them handled rather than retrying forever.
        Notification.objects.filter(pk__in=ids).update(sent_at=now, error="no addresses")
        return SendResult()
    subject, body = compose(channel, rows)
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, addresses,
                           connection=connection)
    try:
        message.send(fail_silently=False)
    except (SMTPException, OSError) as exc:
        error = redact(f"{type(exc).__name__}: {exc}")[:300]
        for row in rows:
            Notification.objects.filter(pk=row.pk, batch=batch).update(
                batch="", attempts=row.attempts + 1, error=error)
        logger.warning("notification channel %s: e-mail not sent: %s", channel.pk, error)
        return SendResult(failed=1)
    Notification.objects.filter(pk__in=ids, batch=batch).update(sent_at=now, error="")
    NotificationChannel.objects.filter(pk=channel.pk).update(last_sent_at=now)
    logger.info("notification channel %s: sent %s notification(s) to %s address(es)",
                channel.pk, len(rows), len(addresses))
    return SendResult(emails=1, notifications=len(rows))


def send_due_notifications(now: datetime | None = None) -> SendResult:
    """Send every channel whose batch is due at ``now``: one e-mail per channel.

    Returns the totals. SMTP failures are logged and retried on a later pass (up to
    ``MAX_ATTEMPTS`` per notification); they never raise.
    """
    now = now or timezone.now()
    pending = dict(Notification.objects.filter(sent_at__isnull=True, batch="",
                                               attempts__lt=MAX_ATTEMPTS)
                   .values_list("channel_id").annotate(oldest=Min("created_at"))
                   .values_list("channel_id", "oldest"))
    if not pending:
        return SendResult()
    emails = notifications = failed = 0
    connection = get_connection()  # one SMTP session for every channel of this pass
    try:
        for channel in NotificationChannel.objects.filter(pk__in=pending):
            if not batch_due(channel, pending[channel.pk], now):
                continue
            result = send_channel(channel, now, connection=connection)
            emails += result.emails
            notifications += result.notifications
            failed += result.failed
    finally:
        try:
            connection.close()
        except (SMTPException, OSError):
            pass
    return SendResult(emails=emails, notifications=notifications, failed=failed)


def alerts_tick(now: datetime | None = None) -> dict[str, int]:
    """One periodic pass: close quiet issues, then send due e-mails. Returns counts."""
    from dropstream.alerts.policies import close_quiet_issues

    now = now or timezone.now()
    closed = close_quiet_issues(now)
    result = send_due_notifications(now)
    return {"closed": len(closed), "emails": result.emails,
            "notifications": result.notifications, "failed": result.failed}

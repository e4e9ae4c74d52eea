"""Alert policies group alerts into issues; issues close when quiet; e-mail reaches a real SMTP
server on loopback, batched per notification channel (reference §12.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import (
    AlertKind,
    AlertPolicy,
    Grouping,
    Issue,
    Notification,
    NotificationChannel,
)
from dropstream.alerts.notify import alerts_tick, send_due_notifications
from dropstream.alerts.policies import close_quiet_issues
from dropstream.connections import actions
from tests.fixtures.secret_leaks import make_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_connection(merchant, tmp_path):
    store = actions.create_store(merchant, name="Acme Outlet", platform="brightsites",
                                 adapter={"subdomain": "outlet", "api_token": make_secret("bs")})
    (tmp_path / "second").mkdir()
    warehouse = actions.create_warehouse(merchant, platform="dropstream", adapter={
        "connection_string": f"file://{tmp_path / 'second'}"})
    return actions.create_connection(name="Outlet", customer=merchant, store=store,
                                     warehouse=warehouse)


def _policy(grouping=Grouping.POLICY, kinds=(AlertKind.IMPORT_FAILED, AlertKind.EXPORT_FAILED),
            channels=(), connections=(), hours=24, customer=None) -> AlertPolicy:
    policy = AlertPolicy.objects.create(name="Order alerts", kinds=list(kinds),
                                        grouping=grouping, auto_close_hours=hours,
                                        customer=customer)
    policy.channels.set(channels)
    policy.connections.set(connections)
    return policy


def _channel(batch=0, emails="ops@example.com\nlead@example.com") -> NotificationChannel:
    return NotificationChannel.objects.create(name="Ops", emails=emails, batch_minutes=batch)


def test_an_alert_matching_no_policy_opens_no_issue_and_queues_no_email(connection):
    _policy(kinds=[AlertKind.EXPORT_FAILED], channels=[_channel()])
    raise_alert(AlertKind.IMPORT_FAILED, "list failed", connection=connection)
    assert Issue.objects.count() == 0
    assert Notification.objects.count() == 0


def test_per_policy_grouping_puts_every_matching_alert_in_one_issue(connection,
                                                                      second_connection):
    policy = _policy(Grouping.POLICY)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    raise_alert(AlertKind.EXPORT_FAILED, "b", connection=connection)
    raise_alert(AlertKind.IMPORT_FAILED, "c", connection=second_connection)
    issue = Issue.objects.get(policy=policy)
    assert issue.alert_count == 3
    assert issue.alerts.count() == 3
    assert issue.connection_id is None  # it spans two connections now


def test_per_event_grouping_opens_one_issue_per_alert_kind(connection, second_connection):
    _policy(Grouping.EVENT)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    raise_alert(AlertKind.IMPORT_FAILED, "b", connection=second_connection)
    raise_alert(AlertKind.EXPORT_FAILED, "c", connection=connection)
    counts = dict(Issue.objects.values_list("kind", "alert_count"))
    assert counts == {AlertKind.IMPORT_FAILED: 2, AlertKind.EXPORT_FAILED: 1}


def test_per_event_and_target_grouping_splits_by_connection(connection, second_connection):
    _policy(Grouping.TARGET)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    raise_alert(AlertKind.IMPORT_FAILED, "b", connection=connection)
    raise_alert(AlertKind.IMPORT_FAILED, "c", connection=second_connection)
    raise_alert(AlertKind.EXPORT_FAILED, "d", connection=connection)
    rows = sorted(Issue.objects.values_list("kind", "connection_id", "alert_count"))
    assert rows == sorted([(AlertKind.IMPORT_FAILED, connection.pk, 2),
                           (AlertKind.IMPORT_FAILED, second_connection.pk, 1),
                           (AlertKind.EXPORT_FAILED, connection.pk, 1)])


def test_a_policy_scoped_to_a_connection_ignores_the_others(connection, second_connection):
    _policy(connections=[second_connection])
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    assert Issue.objects.count() == 0
    raise_alert(AlertKind.IMPORT_FAILED, "b", connection=second_connection)
    assert Issue.objects.get().connection_id == second_connection.pk


def test_a_quiet_issue_closes_after_its_auto_close_hours_and_a_new_alert_opens_another(
        connection):
    policy = _policy(hours=2)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    issue = Issue.objects.get()
    later = issue.last_alert_at + timedelta(hours=1, minutes=59)
    assert close_quiet_issues(later) == []
    assert close_quiet_issues(issue.last_alert_at + timedelta(hours=2)) == [issue.pk]
    issue.refresh_from_db()
    assert issue.closed_at is not None
    raise_alert(AlertKind.IMPORT_FAILED, "b", connection=connection)
    assert Issue.objects.filter(policy=policy).count() == 2
    assert Issue.objects.filter(policy=policy, closed_at__isnull=True).count() == 1


def test_a_new_alert_keeps_an_issue_open_past_the_original_deadline(connection):
    _policy(hours=1)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    issue = Issue.objects.get()
    Issue.objects.filter(pk=issue.pk).update(last_alert_at=timezone.now() - timedelta(
        minutes=50))
    raise_alert(AlertKind.IMPORT_FAILED, "b", connection=connection)
    assert close_quiet_issues(timezone.now() + timedelta(minutes=30)) == []


def test_an_opened_issue_is_emailed_immediately_to_every_address(connection, smtp_server,
                                                                django_capture_on_commit_callbacks):
    _policy(channels=[_channel(batch=0)])
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(AlertKind.IMPORT_FAILED, "Bright Sites answered 500", connection=connection)
    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == ["ops@example.com", "lead@example.com"]
    assert message["Subject"] == "[DropStream] Issue opened: Order alerts: Import Failed"
    issue = Issue.objects.get()
    assert f"/issues/{issue.pk}/" in message.get_payload()
    assert Notification.objects.filter(sent_at__isnull=False).count() == 1


def test_alerts_joining_an_open_issue_send_no_further_email(connection, smtp_server,
                                                           django_capture_on_commit_callbacks):
    _policy(channels=[_channel(batch=0)])
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            raise_alert(AlertKind.IMPORT_FAILED, f"failure {n}", connection=connection)
    assert len(smtp_server.messages) == 1
    assert Issue.objects.get().alert_count == 5


def test_a_batched_channel_sends_one_email_per_interval(connection, second_connection,
                                                       smtp_server):
    channel = _channel(batch=15, emails="digest@example.com")
    _policy(Grouping.TARGET, channels=[channel])
    start = timezone.now()
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    raise_alert(AlertKind.EXPORT_FAILED, "b", connection=connection)
    raise_alert(AlertKind.IMPORT_FAILED, "c", connection=second_connection)
    oldest = Notification.objects.order_by("created_at").first().created_at

    assert send_due_notifications(oldest + timedelta(minutes=14, seconds=59)).emails == 0
    assert smtp_server.messages == []

    result = send_due_notifications(oldest + timedelta(minutes=15))
    assert (result.emails, result.notifications) == (1, 3)
    recipients, message = smtp_server.messages[0]
    assert recipients == ["digest@example.com"]
    assert message["Subject"] == "[DropStream] Issues: 3 opened"
    assert send_due_notifications(start + timedelta(hours=1)).emails == 0
    assert len(smtp_server.messages) == 1


def test_the_tick_closes_quiet_issues_and_emails_the_close(connection, smtp_server):
    channel = _channel(batch=5)
    _policy(channels=[channel], hours=1)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    issue = Issue.objects.get()
    counts = alerts_tick(issue.last_alert_at + timedelta(hours=1))
    assert counts == {"closed": 1, "emails": 1, "notifications": 2, "failed": 0}
    subject = smtp_server.messages[0][1]["Subject"]
    assert subject == "[DropStream] Issues: 1 opened, 1 closed"


def test_an_unreachable_smtp_server_keeps_the_notification_for_the_next_pass(connection,
                                                                            settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    _policy(channels=[_channel(batch=0)])
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    result = send_due_notifications()
    assert (result.emails, result.failed) == (0, 1)
    row = Notification.objects.get()
    assert (row.sent_at, row.batch, row.attempts) == (None, "", 1)
    assert row.error != ""


def test_a_merchant_policy_only_watches_its_own_merchant(connection, other_merchant, tmp_path):
    _policy(customer=other_merchant)
    raise_alert(AlertKind.IMPORT_FAILED, "a", connection=connection)
    assert Issue.objects.count() == 0

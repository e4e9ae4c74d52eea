"""Alerts: one per failure, whether or not a policy notifies anyone (reference §12)."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class AlertKind(models.TextChoices):
    IMPORT_FAILED = "import_failed", "Import Failed"
    EXPORT_FAILED = "export_failed", "Export Failed"
    ORDER_ERROR = "order_error", "Order Error"
    SHIPMENT_FAILED = "shipment_failed", "Shipment Failed"
    SHIPMENT_UNMATCHED = "shipment_unmatched", "Shipment Unmatched"
    INVENTORY_FAILED = "inventory_failed", "Inventory Failed"
    CANCEL_AT_WAREHOUSE = "cancel_at_warehouse", "Cancel At Warehouse"
    CREDENTIALS = "credentials", "Credentials Rejected"
    HOST_KEY_CHANGED = "host_key_changed", "Host Key Changed"
    FILE_REJECTED = "file_rejected", "File Rejected"
    BUDGET = "budget", "API Budget"
    PUSH_REJECTED = "push_rejected", "Push Rejected"
    WAREHOUSE_CANCELED = "warehouse_canceled", "Canceled By Warehouse"
    # The warehouse has not confirmed receiving a submission within the time its platform allows.
    ACKNOWLEDGMENT_OVERDUE = "acknowledgment_overdue", "Acknowledgment Overdue"


class Alert(models.Model):
    connection = models.ForeignKey("connections.Connection", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="alerts")
    customer = models.ForeignKey("connections.Merchant", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="alerts")
    channel = models.CharField(max_length=32, blank=True, default="")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    message = models.TextField()
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True, default="")
    related = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class NotificationChannel(models.Model):
    """Where issue e-mails go (reference §12.1): a list of addresses and a batching interval.

    Channels are the hub's, configured by Administrators; a policy attaches them.
    """

    class Batch(models.IntegerChoices):
        IMMEDIATELY = 0, "Immediately"
        EVERY_5 = 5, "Every 5 minutes"
        EVERY_15 = 15, "Every 15 minutes"
        EVERY_60 = 60, "Every hour"

    name = models.CharField(max_length=200)
    emails = models.TextField(help_text="One address per line (or separated by commas)")
    batch_minutes = models.PositiveIntegerField(choices=Batch.choices, default=Batch.IMMEDIATELY)
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def addresses(self) -> list[str]:
        """The addresses, in order, without blanks or repeats."""
        seen: list[str] = []
        for part in self.emails.replace(",", "\n").replace(";", "\n").splitlines():
            address = part.strip()
            if address and address.lower() not in (a.lower() for a in seen):
                seen.append(address)
        return seen


class Grouping(models.TextChoices):
    """How a policy gathers matching alerts into issues (reference §12.1 "Alert Grouping")."""

    POLICY = "policy", "Per policy"  # one open issue per policy at a time
    EVENT = "event", "Per event type"  # one open issue per monitored event (kind)
    TARGET = "target", "Per event and target"  # one per event and affected connection/object


class AlertPolicy(models.Model):
    """When to open issues and notify: monitored events, scope, grouping, auto-close, channels.

    ``customer`` empty means the policy is the hub's (every merchant); set, it watches only that
    merchant's alerts and that merchant's users may see it. ``connections`` empty means every
    connection in scope.
    """

    name = models.CharField(max_length=200)
    kinds = models.JSONField(default=list, help_text="Monitored events: AlertKind values")
    customer = models.ForeignKey("connections.Merchant", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="alert_policies")
    connections = models.ManyToManyField("connections.Connection", blank=True,
                                         related_name="alert_policies")
    grouping = models.CharField(max_length=8, choices=Grouping.choices, default=Grouping.POLICY)
    auto_close_hours = models.PositiveIntegerField(default=24)
    channels = models.ManyToManyField(NotificationChannel, blank=True, related_name="policies")
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "alert policies"

    def __str__(self) -> str:
        return self.name

    def kind_labels(self) -> list[str]:
        labels = dict(AlertKind.choices)
        return [labels.get(kind, kind) for kind in self.kinds]


class Issue(models.Model):
    """A group of related alerts opened by a policy; closed after ``auto_close_hours`` quiet.

    At most one open issue per (policy, group key): a partial unique constraint, so two
    workers raising alerts at once cannot open two.
    """

    policy = models.ForeignKey(AlertPolicy, on_delete=models.CASCADE, related_name="issues")
    group_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, blank=True, default="")
    title = models.CharField(max_length=300)
    connection = models.ForeignKey("connections.Connection", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="issues")
    # The merchant all its alerts belong to; empty when they span merchants (then only
    # Administrators and unrestricted Staff see it).
    customer = models.ForeignKey("connections.Merchant", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="issues")
    alerts = models.ManyToManyField(Alert, related_name="issues", blank=True)
    alert_count = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_alert_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "group_key"],
                                    condition=models.Q(closed_at__isnull=True),
                                    name="issue_one_open_per_group"),
        ]
        indexes = [models.Index(fields=["closed_at", "last_alert_at"],
                                name="issue_open_quiet")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class NotificationEvent(models.TextChoices):
    OPENED = "opened", "Issue opened"
    CLOSED = "closed", "Issue closed"


class Notification(models.Model):
    """One thing to tell one channel (an outbox row): recorded first, sent by ``notify``.

    ``batch`` is the claim of the sender that took it; ``sent_at`` is set after the SMTP server
    accepted the message. A failed send clears the claim, so the next pass retries it.
    """

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE,
                                related_name="notifications")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=8, choices=NotificationEvent.choices)
    created_at = models.DateTimeField(default=timezone.now)
    batch = models.CharField(max_length=32, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["channel", "sent_at"], name="notification_pending")]

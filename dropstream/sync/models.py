"""Push deliveries and the warehouse documents the hub has handled."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class PushDelivery(models.Model):
    """One event a platform delivered to a hook URL (a store's Push Orders, a warehouse's
    webhook), kept with the body as received. ``event_id`` is the platform's id for the event
    ("" when it gives none): a second delivery with the same id is kept, not imported again."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        IMPORTED = "imported", "Imported"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"

    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE, null=True,
                              blank=True, related_name="push_deliveries")
    warehouse = models.ForeignKey("connections.Warehouse", on_delete=models.CASCADE, null=True,
                                  blank=True, related_name="hook_deliveries")
    platform = models.CharField(max_length=50, blank=True, default="")
    topic = models.CharField(max_length=32, blank=True, default="")
    event_id = models.CharField(max_length=255, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    body = models.TextField()
    external_id = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    reason = models.TextField(blank=True, default="")
    # When its import task was last queued: a Received delivery whose task was lost is queued
    # again by the scheduler (sync.push.requeue_stuck_deliveries).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset("store__customer_id").as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "enqueued_at"], name="push_state_enqueued"),
                   models.Index(fields=["event_id"], name="push_event_id")]


class ProcessedDocument(models.Model):
    """A warehouse document the hub has handled, by its event id (a file's content hash, a
    webhook's id): a re-delivery is recognised and ignored."""

    warehouse = models.ForeignKey("connections.Warehouse", on_delete=models.CASCADE,
                                  related_name="processed_documents")
    event_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-processed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "event_id"],
                                    name="processed_doc_unique"),
        ]

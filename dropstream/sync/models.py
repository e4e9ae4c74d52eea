"""Exactly-once bookkeeping for side effects outside the hub, and Push Orders deliveries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class IntentState(models.TextChoices):
    PENDING = "pending", "Pending"  # recorded; the side effect may or may not have happened
    DONE = "done", "Done"  # confirmed
    ABANDONED = "abandoned", "Abandoned"  # given up on; a person was alerted


class Intent(models.Model):
    """A side effect recorded before it is performed (DESIGN.md invariant 1).

    ``key`` is deterministic (e.g. ``export:<connection>:<file name>``), so a run that died after
    performing the effect but before marking it done finds the row and checks the remote side
    instead of doing it again.
    """

    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="intents")
    state = models.CharField(max_length=16, choices=IntentState.choices,
                             default=IntentState.PENDING, db_index=True)
    reference = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset("connection__customer_id").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]


class PushDelivery(models.Model):
    """A body posted to a store's Push Orders URL, kept as received."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        IMPORTED = "imported", "Imported"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"

    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE,
                              related_name="push_deliveries")
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
        indexes = [models.Index(fields=["state", "enqueued_at"], name="push_state_enqueued")]


class ProcessedDocument(models.Model):
    """A warehouse file the hub has handled, by content hash: a re-delivery is ignored."""

    warehouse = models.ForeignKey("connections.Warehouse", on_delete=models.CASCADE,
                                  related_name="processed_documents")
    sha256 = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-processed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "sha256"], name="processed_doc_unique"),
        ]

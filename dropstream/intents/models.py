"""Exactly-once bookkeeping for side effects outside the hub."""

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
        db_table = "sync_intent"  # created by the sync app before intents had their own

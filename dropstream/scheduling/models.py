"""Runs: one execution of one channel of one connection, claimed under a lease."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class RunState(models.TextChoices):
    """Where a run is; a run ends in SUCCEEDED or FAILED and never leaves them."""

    QUEUED = "queued", "Queued"  # waiting for a worker (or for its retry time, ``not_before``)
    RUNNING = "running", "Running"  # claimed by ``worker`` until ``lease_until``
    SUCCEEDED = "succeeded", "Succeeded"  # run_channel answered ok
    FAILED = "failed", "Failed"  # every attempt failed; ``error`` says why
    CANCELED = "canceled", "Canceled"  # not run: its channel or connection was switched off


class RunTrigger(models.TextChoices):
    SCHEDULED = "scheduled", "Schedule"  # the dispatcher, from the channel's rules
    MANUAL = "manual", "Run now"  # a user (page, API or CLI)
    PUSH = "push", "Push"  # a store push (Push Orders) asked for it


class RunMode(models.TextChoices):
    DEFAULT = "default", "Default"
    FULL = "full", "Full sync"  # inventory only
    EXPORT = "export", "Send queued orders"  # sales orders only: after a push, no store request


ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)
FINISHED_STATES = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELED)


class Run(models.Model):
    """One execution of one channel of one connection.

    Invariant 2 lives in the database: at most one RUNNING run per channel (a partial unique
    constraint), taken with a conditional UPDATE (``scheduling.locks``). ``lease_until`` is
    pushed forward by the worker's heartbeat; a run whose lease lapsed is taken over by another
    worker, and its old worker's late writes are refused because they name the old ``worker``.
    """

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="runs")
    channel = models.ForeignKey("connections.Channel", on_delete=models.CASCADE,
                                related_name="runs")
    channel_type = models.CharField(max_length=32)
    mode = models.CharField(max_length=8, choices=RunMode.choices, default=RunMode.DEFAULT)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices,
                               default=RunTrigger.SCHEDULED)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(null=True, blank=True)
    # When a queue message was last sent; the scheduler re-sends one that may have been lost.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=120, blank=True, default="")
    attempt = models.PositiveSmallIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    requests = models.JSONField(default=dict, blank=True)
    requests_used = models.PositiveIntegerField(default=0)
    # What the counts cannot say, e.g. the SKUs an inventory run skipped and why.
    details = models.JSONField(default=dict, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    objects = scoped_queryset("connection__customer_id").as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["channel", "state"], name="run_channel_state"),
            models.Index(fields=["state", "lease_until"], name="run_state_lease"),
            models.Index(fields=["finished_at"], name="run_finished_at"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["channel"], condition=models.Q(state="running"),
                                    name="run_one_running_per_channel"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.channel_type}/{self.mode} {self.state}"



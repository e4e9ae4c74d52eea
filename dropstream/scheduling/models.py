"""The request meter (every attempt of every request to a store or warehouse), runs and budgets."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class ApiCall(models.Model):
    """One attempt at one request. ``endpoint`` is a template (``GET /orders/:id``), never a URL."""

    connection = models.ForeignKey("connections.Connection", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="api_calls")
    store = models.ForeignKey("connections.Store", null=True, blank=True,
                              on_delete=models.CASCADE, related_name="api_calls")
    channel = models.CharField(max_length=32, blank=True, default="")
    platform = models.CharField(max_length=50)
    method = models.CharField(max_length=10)
    endpoint = models.CharField(max_length=200)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # One attempt's id: a row recovered from a meter journal is never written twice.
    call_id = models.CharField(max_length=32, null=True, blank=True, unique=True)

    objects = scoped_queryset("store__customer_id").as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["store", "at"], name="apicall_store_at")]

    def __str__(self) -> str:
        return f"{self.endpoint} → {self.status_code}"


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


class BudgetGuard(models.TextChoices):
    ALERT = "alert", "Alert at 80 % and 100 %"
    STRETCH = "stretch", "Stretch poll intervals to stay under the allowance"
    STOP = "stop", "Stop polling at the allowance"


# Bright Sites publishes no figures: these are defaults to confirm with them (issue 6).
DEFAULT_MONTHLY_ALLOWANCE = 30_000
DEFAULT_OVERAGE_PRICE = Decimal("0.03")
DEFAULT_MAX_DELAY_MINUTES = 60


class StoreBudget(models.Model):
    """A store's monthly request allowance, overage price and guard, plus the guard's state.

    ``month``/``month_requests``/``counted_until`` are the guard's running count (refreshed by
    the scheduler); ``store_usage`` always counts exactly from ApiCall rows.
    """

    store = models.OneToOneField("connections.Store", on_delete=models.CASCADE,
                                 related_name="budget")
    monthly_allowance = models.PositiveIntegerField(default=DEFAULT_MONTHLY_ALLOWANCE)
    overage_price = models.DecimalField(max_digits=10, decimal_places=4,
                                        default=DEFAULT_OVERAGE_PRICE)
    guard = models.CharField(max_length=8, choices=BudgetGuard.choices, default=BudgetGuard.ALERT)
    max_delay_minutes = models.PositiveIntegerField(
        default=DEFAULT_MAX_DELAY_MINUTES,
        help_text="Stretch never leaves more than this between two polls")
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a user confirmed the allowance and price")
    month = models.CharField(max_length=7, blank=True, default="")
    month_requests = models.PositiveIntegerField(default=0)
    counted_until = models.DateTimeField(null=True, blank=True)
    stretch_factor = models.FloatField(default=1.0)
    stopped = models.BooleanField(default=False)
    # The highest threshold alerted (80, 100) and in which month: each fires once a month.
    alerted_month = models.CharField(max_length=7, blank=True, default="")
    alerted_percent = models.PositiveSmallIntegerField(default=0)

    objects = scoped_queryset("store__customer_id").as_manager()

    def __str__(self) -> str:
        return f"budget of store {self.store_id}"

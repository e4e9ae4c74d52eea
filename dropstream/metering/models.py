"""Every attempt of every request to a store or warehouse, and each store's request budget."""

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
        db_table = "scheduling_apicall"  # created before metering had its own app

    def __str__(self) -> str:
        return f"{self.endpoint} → {self.status_code}"


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

    class Meta:
        db_table = "scheduling_storebudget"  # created before metering had its own app

    def __str__(self) -> str:
        return f"budget of store {self.store_id}"

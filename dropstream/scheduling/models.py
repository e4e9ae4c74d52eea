"""The request meter (every attempt of every request to a store or warehouse)."""

from __future__ import annotations

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

    objects = scoped_queryset("store__customer_id").as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["store", "at"], name="apicall_store_at")]

    def __str__(self) -> str:
        return f"{self.endpoint} → {self.status_code}"

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

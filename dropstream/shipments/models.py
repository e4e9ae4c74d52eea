"""Shipments reported by the warehouse and posted to the store (reference §6)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class ShipmentState(models.TextChoices):
    NEW = "new", "New"  # imported from the warehouse
    OPEN = "open", "Open"  # being posted to the store
    COMPLETED = "completed", "Completed"  # the store has it
    ERROR = "error", "Error"  # cannot be posted; the message says why
    ARCHIVED = "archived", "Archived"  # stopped by a user


class Shipment(models.Model):
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="shipments")
    warehouse = models.ForeignKey("connections.Warehouse", on_delete=models.CASCADE,
                                  related_name="shipments")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="shipments")
    key = models.CharField(max_length=255, help_text="order number + shipment id or tracking")
    order_number = models.CharField(max_length=64)
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    carrier = models.CharField(max_length=100, blank=True, default="")
    service = models.CharField(max_length=100, blank=True, default="")
    ship_date = models.DateField(null=True, blank=True)
    weight = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    warehouse_shipment_id = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=16, choices=ShipmentState.choices,
                             default=ShipmentState.NEW, db_index=True)
    error_message = models.TextField(blank=True, default="")
    store_shipment_id = models.CharField(max_length=64, blank=True, default="")
    posted_at = models.DateTimeField(null=True, blank=True)
    source_file = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("connection__customer_id").as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "key"], name="shipment_unique_key"),
        ]
        indexes = [models.Index(fields=["tracking_number"], name="shipment_tracking")]

    def __str__(self) -> str:
        return self.tracking_number or self.key


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="shipment_lines")
    line_number = models.PositiveIntegerField(null=True, blank=True)
    sku = models.CharField(max_length=100, blank=True, default="")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["shipment_id", "id"]

"""Warehouse stock levels and what was last written to each store (reference §7)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class InventoryLevel(models.Model):
    """The warehouse's quantity of one SKU at one facility, as of ``as_of``."""

    warehouse = models.ForeignKey("connections.Warehouse", on_delete=models.CASCADE,
                                  related_name="inventory_levels")
    sku = models.CharField(max_length=100)
    facility = models.CharField(max_length=100, blank=True, default="")
    available = models.IntegerField(default=0)
    on_hand = models.IntegerField(null=True, blank=True)
    as_of = models.DateTimeField(default=timezone.now)
    source_file = models.CharField(max_length=255, blank=True, default="")

    objects = scoped_queryset("warehouse__customer_id").as_manager()

    class Meta:
        ordering = ["sku", "facility"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "sku", "facility"],
                                    name="inventory_level_unique"),
        ]


class StoreInventory(models.Model):
    """The last quantity the hub wrote for a store SKU, and when (the smart-sync baseline)."""

    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE,
                              related_name="inventory_written")
    sku = models.CharField(max_length=100)
    quantity = models.IntegerField()
    written_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")

    objects = scoped_queryset("store__customer_id").as_manager()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="store_inventory_unique"),
        ]

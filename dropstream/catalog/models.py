"""Products, listings, bundles and shipping-method maps (reference §8, §9)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class Product(models.Model):
    """A catalog product keyed by the SKU the warehouse uses."""

    customer = models.ForeignKey("connections.Merchant", on_delete=models.CASCADE,
                                 related_name="products")
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=300, blank=True, default="")
    variant_of = models.CharField(max_length=200, blank=True, null=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["sku", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "sku"], name="product_unique_sku"),
        ]

    @property
    def is_bundle(self) -> bool:
        return self.components.exists()

    def __str__(self) -> str:
        return self.sku


class BundleComponent(models.Model):
    """``quantity`` units of ``component`` make up one ``bundle``."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="used_in")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_unique_component"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="bundle_quantity_positive"),
        ]


class Listing(models.Model):
    """A product as one store sells it: the store's SKU for the warehouse's product."""

    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE,
                              related_name="listings")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="listings")
    store_sku = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("product__customer_id").as_manager()

    class Meta:
        ordering = ["store_sku", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "store_sku"], name="listing_unique_store_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.store_sku} → {self.product.sku}"


class ShippingMethodMap(models.Model):
    """The store's shipping text (exact, character for character) → the warehouse carrier code."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="shipping_methods")
    store_description = models.CharField(max_length=200)
    carrier_code = models.CharField(max_length=100)
    carrier_name = models.CharField(max_length=100, blank=True, default="")
    service_level = models.CharField(max_length=100, blank=True, default="")

    objects = scoped_queryset("connection__customer_id").as_manager()

    class Meta:
        ordering = ["store_description", "id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "store_description"],
                                    name="shipping_map_unique_description"),
        ]

    def __str__(self) -> str:
        return f"{self.store_description} → {self.carrier_code}"

"""Orders, their lines and their activity timeline (reference §4, §13.7)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class OrderStatus(models.TextChoices):
    """Statuses of an order in the hub; transitions live in ``orders.status``."""

    NEW = "new", "New"  # imported; being prepared
    PENDING = "pending", "Pending"  # held for a manual release (manual-release stores)
    QUEUED = "queued", "Queued"  # prepared and valid; waiting to be sent to the warehouse
    OPEN = "open", "Open"  # sent to the warehouse; waiting for shipments
    PARTIALLY_SHIPPED = "partially_shipped", "Partially Shipped"  # some lines shipped
    SHIPPED = "shipped", "Shipped"  # every line shipped
    ERROR = "error", "Error"  # stopped; the message says what to fix, then Reprocess
    DELAYED = "delayed", "Delayed"  # a step failed; a retry is scheduled
    SKIPPED = "skipped", "Skipped"  # excluded on purpose
    CLOSED = "closed", "Closed"  # ended without shipping: canceled, or abandoned
    ARCHIVED = "archived", "Archived"  # stopped by a user; not re-imported


ADDRESS_PARTS = ("name", "company", "street1", "street2", "city", "state", "postal_code",
                 "country", "phone", "email")


class Order(models.Model):
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="orders")
    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE, related_name="orders")
    # A part of a store order that rules routed or split to another warehouse order: its own
    # status, export and shipments; the store hears of them on the parent's store order.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="parts")
    external_id = models.CharField(max_length=64)
    external_display_id = models.CharField(max_length=64, blank=True, default="")
    ordered_at = models.DateTimeField(null=True, blank=True)
    store_updated_at = models.DateTimeField(null=True, blank=True)
    store_status = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    customer_email = models.CharField(max_length=255, blank=True, default="")
    external_shipping_description = models.CharField(max_length=255, blank=True, default="")
    shipping_carrier_name = models.CharField(max_length=100, blank=True, default="")
    shipping_carrier_service_level = models.CharField(max_length=100, blank=True, default="")
    shipping_warehouse_code = models.CharField(max_length=100, blank=True, default="")
    shipping_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency_code = models.CharField(max_length=3, default="USD")
    notes = models.TextField(blank=True, default="")
    gift_message = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.NEW,
                              db_index=True)
    error_message = models.TextField(blank=True, default="")
    # The warehouse side: the order number written to the warehouse and where it went.
    warehouse_order_number = models.CharField(max_length=64, blank=True, default="")
    exported_at = models.DateTimeField(null=True, blank=True)
    export_reference = models.CharField(max_length=255, blank=True, default="")
    canceled_in_store_at = models.DateTimeField(null=True, blank=True)
    # When the store's order status was set after the last shipment (or refused for good).
    store_status_set_at = models.DateTimeField(null=True, blank=True)
    # The store's detail could not be read yet (a stub row keeps the order from being lost).
    detail_pending = models.BooleanField(default=False)
    retry_count = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    # A rule's hold: Pending until this time (the scheduler releases it); None with a rule's
    # hold means until someone releases it.
    held_until = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the store's import rules were applied (routes, splits and line filters happen once;
    # a store update or a rejection clears it so they run again), and what they set: fields
    # that preparing must not overwrite, per line too, and a hold
    # ({"fields": {...}, "lines": {line id: {...}}, "hold": ISO time | "released" | null}).
    rules_applied_at = models.DateTimeField(null=True, blank=True)
    rule_fields = models.JSONField(default=dict, blank=True)
    edited = models.BooleanField(default=False)
    # Ship-to and bill-to: state and country are ISO codes.
    ship_name = models.CharField(max_length=255, blank=True, default="")
    ship_company = models.CharField(max_length=255, blank=True, default="")
    ship_street1 = models.CharField(max_length=255, blank=True, default="")
    ship_street2 = models.CharField(max_length=255, blank=True, default="")
    ship_city = models.CharField(max_length=255, blank=True, default="")
    ship_state = models.CharField(max_length=255, blank=True, default="")
    ship_postal_code = models.CharField(max_length=255, blank=True, default="")
    ship_country = models.CharField(max_length=255, blank=True, default="")
    ship_phone = models.CharField(max_length=255, blank=True, default="")
    ship_email = models.CharField(max_length=255, blank=True, default="")
    bill_name = models.CharField(max_length=255, blank=True, default="")
    bill_company = models.CharField(max_length=255, blank=True, default="")
    bill_street1 = models.CharField(max_length=255, blank=True, default="")
    bill_street2 = models.CharField(max_length=255, blank=True, default="")
    bill_city = models.CharField(max_length=255, blank=True, default="")
    bill_state = models.CharField(max_length=255, blank=True, default="")
    bill_postal_code = models.CharField(max_length=255, blank=True, default="")
    bill_country = models.CharField(max_length=255, blank=True, default="")
    bill_phone = models.CharField(max_length=255, blank=True, default="")
    bill_email = models.CharField(max_length=255, blank=True, default="")

    objects = scoped_queryset("connection__customer_id").as_manager()

    class Meta:
        ordering = ["-ordered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="order_unique_external"),
        ]
        indexes = [
            models.Index(fields=["connection", "status"], name="order_conn_status"),
            models.Index(fields=["external_display_id"], name="order_display_id"),
            models.Index(fields=["customer_email"], name="order_email"),
            models.Index(fields=["-ordered_at", "-id"], name="order_ordered_desc"),
            models.Index(fields=["created_at"], name="order_created"),
            models.Index(fields=["connection", "warehouse_order_number"],
                         name="order_conn_wh_number"),
        ]

    def __str__(self) -> str:
        return self.external_display_id or self.external_id

    @property
    def store_external_id(self) -> str:
        """The store's id of the order this is (a part stands for its parent's store order)."""
        if self.parent_id is None:
            return self.external_id
        return self.external_id.split(PART_MARK, 1)[0]


# A part's external id is "<parent's external id>~part<n>": never a store id, so imports never
# match it, and the store's id is read back without a query.
PART_MARK = "~part"


class OrderLine(models.Model):
    """A store line; bundle lines get component lines (``parent``) at prepare time.

    ``line_number`` is the number the warehouse sees (PD position 3); a bundle's own line has
    none, its components do.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="components")
    external_line_id = models.CharField(max_length=64, blank=True, default="")
    line_number = models.PositiveIntegerField(null=True, blank=True)
    store_sku = models.CharField(max_length=100, blank=True, default="")
    warehouse_sku = models.CharField(max_length=100, blank=True, default="")
    name = models.CharField(max_length=300, blank=True, default="")
    quantity_ordered = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    canceled = models.BooleanField(default=False)
    # False for lines nothing is shipped for (gift certificates): never sent to the warehouse.
    ships = models.BooleanField(default=True)

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.store_sku or self.warehouse_sku} × {self.quantity_ordered}"


class OrderActivity(models.Model):
    """One entry of the order's timeline: what happened, who did it, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="activity")
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=255, default="system")
    event = models.CharField(max_length=64)
    message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "order activity"

"""Merchants, stores, warehouses, connections and their channels (reference §1)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.utils import timezone

from dropstream import crypto
from dropstream.accounts.scoping import scoped_queryset
from dropstream.platforms.base import PlatformSpec, get_platform


class Merchant(models.Model):
    """The brand that owns the stock; the API calls it ``customer``."""

    company_name = models.CharField(max_length=200)
    street1 = models.CharField(max_length=200, blank=True, null=True)
    street2 = models.CharField(max_length=200, blank=True, null=True)
    street3 = models.CharField(max_length=200, blank=True, null=True)
    city = models.CharField(max_length=100, blank=True, null=True)
    state = models.CharField(max_length=100, blank=True, null=True)
    zipcode = models.CharField(max_length=20, blank=True, null=True)
    country = models.CharField(max_length=100, blank=True, null=True)
    provider = models.CharField(max_length=50, blank=True, null=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    abandon_after_days = models.PositiveIntegerField(
        default=45, help_text="Open orders with no shipment after this many days are closed")
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset("id").as_manager()

    class Meta:
        ordering = ["company_name", "id"]

    def __str__(self) -> str:
        return self.company_name


class AdapterSettings(models.Model):
    """A platform string plus its ``adapter`` object; secret fields are stored encrypted.

    The raw JSON column holds ``fernet:…`` for every secret field, never the plaintext.
    """

    PLATFORM_KIND = "store"
    HOOK_SECRET_FIELD = "push_secret"  # noqa: S105 — a column name

    platform = models.CharField(max_length=50)
    adapter = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    @property
    def platform_spec(self) -> PlatformSpec:
        return get_platform(self.PLATFORM_KIND, self.platform)

    def set_adapter(self, settings: dict[str, Any]) -> None:
        """Store already-cleaned settings, encrypting the secret fields."""
        secret_names = set(self.platform_spec.secret_fields)
        stored: dict[str, Any] = {}
        for key, value in settings.items():
            if key in secret_names and value not in (None, "") and not crypto.is_encrypted(value):
                value = crypto.encrypt(str(value))
            stored[key] = value
        self.adapter = stored

    def update_adapter(self, changes: dict[str, Any]) -> None:
        merged = self.adapter_settings()
        merged.update(changes)
        self.set_adapter(merged)

    def adapter_settings(self) -> dict[str, Any]:
        """Plaintext settings, defaults filled in, for building an adapter. Never display these."""
        spec = self.platform_spec
        values = {f.name: f.default for f in spec.fields}
        for key, value in (self.adapter or {}).items():
            values[key] = crypto.decrypt(value) if crypto.is_encrypted(value) else value
        return values

    def masked_adapter(self) -> dict[str, Any]:
        """Settings for display: every secret masked, without decrypting more than needed."""
        return self.platform_spec.masked(self.adapter_settings())

    def stored_secrets(self) -> list[str]:
        return [v for v in (self.adapter or {}).values() if crypto.is_encrypted(v)]


def _push_secret() -> str:
    return secrets.token_urlsafe(32)


class HookOwner(AdapterSettings):
    """A store or warehouse whose platform may deliver events to ``/hooks/<platform>/<secret>``
    (``PlatformSpec.hooks_path``). The secret is the URL's only credential."""

    # What the adapter remembers between runs (a pinned host key, a folder's last listing, a
    # store's SKU map, a polling cursor): the adapter's own, JSON-ready, saved by the hub.
    adapter_state = models.JSONField(default=dict, blank=True)

    # The column holding the hook URL's secret (the store's predates warehouse hooks).
    HOOK_SECRET_FIELD = "secret"  # noqa: S105 — a column name

    class Meta:
        abstract = True

    @property
    def hook_secret(self) -> str:
        return getattr(self, self.HOOK_SECRET_FIELD)

    def rotate_hook_secret(self) -> None:
        setattr(self, self.HOOK_SECRET_FIELD, _push_secret())


class Store(HookOwner):
    """A sales channel account (a Bright Sites site)."""

    PLATFORM_KIND = "store"
    HOOK_SECRET_FIELD = "push_secret"  # noqa: S105 — a column name

    customer = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True, default="")
    url = models.URLField(blank=True, null=True)
    created_at = models.DateTimeField(default=timezone.now)
    enabled_at = models.DateTimeField(null=True, blank=True)
    order_imported_at = models.DateTimeField(null=True, blank=True)
    inventory_updated_at = models.DateTimeField(null=True, blank=True)
    # Ours: the import cursor (the store's updated_at of the newest order seen), Push Orders,
    # manual release, and the request budget.
    order_cursor = models.DateTimeField(null=True, blank=True)
    # Orders created before this are never imported (set when a connection is first enabled).
    import_since = models.DateTimeField(null=True, blank=True)
    push_secret = models.CharField(max_length=64, unique=True, default=_push_secret)
    manual_release = models.BooleanField(
        default=False, help_text="Hold imported orders in Pending until released")
    # Set when the first pushed order is imported: the sales schedule then only reconciles.
    push_orders_since = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["name", "id"]


    def __str__(self) -> str:
        return self.name


class Warehouse(HookOwner):
    """A fulfillment system account. The reference has no ``name``: ``description`` names it."""

    PLATFORM_KIND = "warehouse"

    customer = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="warehouses")
    description = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    enabled_at = models.DateTimeField(null=True, blank=True)
    order_status_imported_at = models.DateTimeField(null=True, blank=True)
    inventory_updated_at = models.DateTimeField(null=True, blank=True)
    secret = models.CharField(max_length=64, unique=True, default=_push_secret,
                              help_text="The secret of the warehouse's hook URL")

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["description", "id"]

    def __str__(self) -> str:
        return self.description or f"Warehouse {self.pk}"


class Connection(models.Model):
    """One store + one warehouse + one merchant; the unit that is enabled and scheduled."""

    class UnmappedShippingMethod(models.TextChoices):
        PASS = "pass", "Send the store's text unchanged"
        ERROR = "error", "Put the order in Error"

    name = models.CharField(max_length=200)
    customer = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="connections")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="connections")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="connections")
    connection_type = models.CharField(max_length=32, default="fulfillment", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    enabled_at = models.DateTimeField(null=True, blank=True)
    locations = models.JSONField(default=list, blank=True)
    unmapped_shipping_method = models.CharField(
        max_length=8, choices=UnmappedShippingMethod.choices, default=UnmappedShippingMethod.PASS)
    inventory_reserve = models.IntegerField(
        default=0, help_text="Units held back from every SKU's store quantity")
    zero_out_threshold = models.IntegerField(
        default=0, help_text="A computed quantity at or below this is written as 0")
    # A store may have several connections (one per warehouse): one imports its orders, the
    # others receive what the store's rules route to them (issue 16).
    imports_orders = models.BooleanField(
        default=True, help_text="Import the store's orders through this connection (off: it "
                                "receives only the orders the store's rules route to it)")
    counts_toward_store_stock = models.BooleanField(
        default=True, help_text="This warehouse's quantities are added to the store's stock")

    objects = scoped_queryset("customer_id").as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "store", "warehouse"],
                                    name="connection_unique_triple"),
        ]

    @property
    def is_enabled(self) -> bool:
        return self.enabled_at is not None

    def __str__(self) -> str:
        return self.name


class ChannelType(models.TextChoices):
    SALES_ORDER = "sales_order", "Sales Orders"
    SHIPMENT = "shipment", "Shipments"
    INVENTORY = "inventory", "Inventory"


class Channel(models.Model):
    """One flow of a connection, with its own switch and schedule rules."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="channels")
    type = models.CharField(max_length=32, choices=ChannelType.choices)
    enabled_at = models.DateTimeField(null=True, blank=True)
    # Rules as a list of {"type": "minutely"|"hourly"|"daily"|"flexible", ...}; see scheduling.
    rules = models.JSONField(default=list, blank=True)
    full_sync_rules = models.JSONField(default=list, blank=True)
    # The polling rules in force before Push Orders turned the schedule into a reconciliation.
    rules_before_push = models.JSONField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_completed_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_queryset("connection__customer_id").as_manager()

    class Meta:
        ordering = ["connection_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "type"], name="channel_unique_type"),
        ]

    @property
    def is_enabled(self) -> bool:
        return self.enabled_at is not None

    def __str__(self) -> str:
        return f"{self.connection} · {self.get_type_display()}"

"""The pages' only door into domain code that is not a plain query.

Each function calls an action of a domain app (connections, orders, scheduling) and turns its
errors into something a page can show beside a field or in a banner. Nothing here decides
business rules; it only adapts calls and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from dropstream.connections import actions as connection_actions
from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Channel, Connection, Store
from dropstream.orders.errors import OrderActionError
from dropstream.platforms.base import PlatformSpec, SettingField, get_platform
from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    HostKeyMismatch,
    PlatformError,
    RemoteNotFound,
)

# ---------------------------------------------------------------------------------------------
# Platform settings: field messages, credential tests, editing
# ---------------------------------------------------------------------------------------------


def field_message(name: str, message: str) -> str:
    """``adapter.subdomain must be …`` → ``Must be …`` (the label already names the field)."""
    for prefix in (f"adapter.{name} ", f"{name} "):
        if message.startswith(prefix):
            message = message[len(prefix):]
            break
    return message[:1].upper() + message[1:]


def split_errors(errors: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``ConnectionsError.errors`` → (messages per adapter field name, other messages)."""
    fields: dict[str, str] = {}
    other: list[str] = []
    for key, message in errors.items():
        if key.startswith("adapter."):
            name = key.split(".", 1)[1]
            fields[name] = field_message(name, message)
        else:
            other.append(message)
    return fields, other


def error_field(spec: PlatformSpec, error: PlatformError) -> str | None:
    """The settings field a credentials failure is about, to show the message beside it.

    A rejected login is about the secret (token, password); a host that answers "not found" is
    about the address (the first required non-secret field). Anything else is about the whole
    connection and is shown beside the Test button.
    """
    secret = next((f.name for f in spec.fields if f.secret), None)
    address = next((f.name for f in spec.fields if f.required and not f.secret), None)
    if isinstance(error, CredentialsRejected | HostKeyMismatch):
        return secret
    if isinstance(error, RemoteNotFound | BadResponse):
        return address or secret
    return None


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    field: str | None = None


def test_credentials(kind: str, platform: str, settings: Mapping[str, Any]) -> TestResult:
    """Build the platform's adapter from cleaned ``settings`` and make one cheap request.

    Returns a TestResult; never raises for a platform failure (its plain message is the result).
    """
    spec = get_platform(kind, platform)  # type: ignore[arg-type]
    try:
        adapter_class = spec.adapter_class()
    except (ImportError, AttributeError):
        return TestResult(False, f"Testing {spec.label} credentials is not available in this "
                                 "build.")
    adapter = None
    try:
        adapter = adapter_class(dict(settings))
        adapter.validate_credentials()
    except PlatformError as exc:
        return TestResult(False, exc.message, error_field(spec, exc))
    finally:
        if adapter is not None and hasattr(adapter, "close"):
            adapter.close()
    return TestResult(True, f"Connected to {spec.label}.")


def primary_fields(spec: PlatformSpec) -> list[SettingField]:
    """Fields shown up front: required ones, choices, and those with no default value.

    The rest (fields with a sensible default such as flags and tuning numbers) go under
    "Advanced", so the everyday form stays short.
    """
    return [f for f in spec.fields if f.required or f.choices or f.default is None]


def advanced_fields(spec: PlatformSpec) -> list[SettingField]:
    primary = {f.name for f in primary_fields(spec)}
    return [f for f in spec.fields if f.name not in primary]


def update_settings(obj, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into a store's or warehouse's adapter settings and save.

    Raises ConnectionsError with ``adapter.<field>`` keys when a value is invalid; saves nothing
    then.
    """
    if isinstance(obj, Store):
        connection_actions.update_store(obj, {"adapter": dict(changes)})
    else:
        connection_actions.update_warehouse(obj, {"adapter": dict(changes)})


# ---------------------------------------------------------------------------------------------
# Creating a connection from the wizard's state
# ---------------------------------------------------------------------------------------------


def create_from_wizard(*, name: str, merchant: dict, warehouse: dict, store: dict) -> Connection:
    """Create (as needed) the merchant, warehouse and store, then the connection, atomically.

    ``merchant`` is ``{"id": …}`` or the new merchant's fields; ``warehouse`` is ``{"id": …}`` or
    ``{"platform", "description", "adapter"}``; ``store`` is ``{"name", "platform", "adapter"}``
    (or ``{"name", "platform", "pending": True}`` when the merchant sends the credentials).
    Raises ConnectionsError (nothing is left behind: one transaction).
    """
    with transaction.atomic():
        if merchant.get("id"):
            customer = connection_actions.Merchant.objects.get(pk=merchant["id"])
        else:
            fields = {k: v for k, v in merchant.items() if k != "company_name" and v}
            customer = connection_actions.create_merchant(merchant.get("company_name", ""),
                                                          **fields)
        if warehouse.get("id"):
            wh = connection_actions.Warehouse.objects.get(pk=warehouse["id"], customer=customer)
        else:
            wh = connection_actions.create_warehouse(
                customer, platform=warehouse["platform"], adapter=warehouse["adapter"],
                description=warehouse.get("description", ""), prefix="warehouse.")
        if store.get("pending"):
            # The merchant will enter the credentials through a one-time link; until then the
            # store has none (the connection is created disabled, so nothing polls it).
            st = Store.objects.create(customer=customer, name=store["name"],
                                      platform=store["platform"], adapter={})
        else:
            st = connection_actions.create_store(
                customer, name=store["name"], platform=store["platform"],
                adapter=store["adapter"], prefix="store.",
                import_since=store.get("import_since"))
        return connection_actions.create_connection(name=name, customer=customer, store=st,
                                                    warehouse=wh)


def set_connection_enabled(connection: Connection, enabled: bool) -> Connection:
    """Enable or disable, then recompute the channels' next runs (none while disabled)."""
    from dropstream.scheduling.actions import reschedule_connection

    with transaction.atomic():
        connection_actions.set_connection_enabled(connection,
                                                  timezone.now() if enabled else None)
        reschedule_connection(connection)
    return connection


# ---------------------------------------------------------------------------------------------
# Channels and schedules (scheduling.actions)
# ---------------------------------------------------------------------------------------------


def channel_summary(channel: Channel) -> dict[str, Any]:
    """Recurrence, last completed, next run and the last run's outcome of one channel."""
    from dropstream.scheduling.actions import channel_summary as summary

    return summary(channel)


def set_channel_enabled(channel: Channel, enabled: bool) -> None:
    from dropstream.scheduling.actions import set_channel_enabled as switch

    switch(channel, timezone.now() if enabled else None)


def request_run(channel: Channel, *, full: bool):
    """Queue a manual run now; raises scheduling's RunRefused (a ValueError) with the reason."""
    from dropstream.scheduling.actions import request_run as run
    from dropstream.scheduling.models import RunMode, RunTrigger

    return run(channel, mode=RunMode.FULL if full else RunMode.DEFAULT,
               trigger=RunTrigger.MANUAL)


def set_channel_rules(channel: Channel, rules: Any, full_sync_rules: Any) -> list[str]:
    """Save rules; returns warnings; raises InvalidSchedule (a ValueError) naming bad rules."""
    from dropstream.scheduling.actions import set_channel_rules as save

    return save(channel, rules, full_sync_rules) or []


def scheduling_message(exc: Exception) -> str:
    """A scheduling error as one sentence per problem."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict):
        return " ".join(f"{key}: {message}" if not key.startswith(("connection", "mode"))
                        else message[:1].upper() + message[1:] + "."
                        for key, message in errors.items())
    return str(exc)


# ---------------------------------------------------------------------------------------------
# API usage
# ---------------------------------------------------------------------------------------------


def month_usage(user, calls: QuerySet) -> list[dict[str, Any]]:
    """Requests this month per visible store that made any, with allowance and projection."""
    from dropstream.scheduling.budget import store_usage

    counts = dict(calls.filter(store__isnull=False).values_list("store_id")
                  .annotate(n=Count("id")).values_list("store_id", "n"))
    rows = []
    for store in Store.objects.visible_to(user).filter(pk__in=counts.keys()):
        row: dict[str, Any] = {"store": store, "requests": counts[store.pk],
                               "allowance": None, "percent": None}
        usage = store_usage(store)
        allowance = usage.get("allowance")
        if usage.get("requests_month") is not None:
            row["requests"] = usage["requests_month"]
            row["projection"] = usage.get("projection")
        if allowance:
            row["allowance"] = allowance
            row["percent"] = min(999, round(100 * row["requests"] / allowance))
        rows.append(row)
    rows.sort(key=lambda r: -r["requests"])
    return rows


# ---------------------------------------------------------------------------------------------
# Order actions (orders.actions)
# ---------------------------------------------------------------------------------------------

ORDER_ACTIONS = ("reprocess", "reset", "archive", "delete", "release")


def order_action(name: str, order, *, actor: str, force: bool = False) -> None:
    """Run one order action; raises OrderActionError with the reason it was refused."""
    from dropstream.orders import actions as order_actions

    if name not in ORDER_ACTIONS:
        raise ValueError(f"unknown action {name}")
    if name == "delete":
        order_actions.delete(order, actor=actor, force=force)
    else:
        getattr(order_actions, name)(order, actor=actor)


def bulk_order_action(name: str, orders, *, actor: str):
    """Apply one action to many orders; each succeeds or fails on its own (BulkResult)."""
    from dropstream.orders.actions import bulk

    return bulk(name, orders, actor=actor)


def edit_order(order, *, actor: str, changes: dict[str, Any]) -> None:
    from dropstream.orders.actions import edit

    edit(order, actor=actor, changes=changes)


# ---------------------------------------------------------------------------------------------
# Catalog: shipping-method map and listings (no catalog.actions module exists yet; these are
# the only writers, and would move there with it)
# ---------------------------------------------------------------------------------------------

SHIPPING_CSV_COLUMNS = ("store_description", "carrier_code", "carrier_name", "service_level")


@dataclass
class CsvImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] | None = None


def import_shipping_map(connection: Connection, text: str, *, overwrite: bool) -> CsvImportResult:
    """Load shipping-method rows from CSV ``text`` (header row required).

    Rows naming an existing store description are updated only with ``overwrite`` (else
    skipped). A bad row is reported by line number and nothing at all is saved, so a file is
    either taken whole or not at all.
    """
    import csv
    import io

    from dropstream.catalog.models import ShippingMethodMap

    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in SHIPPING_CSV_COLUMNS[:2] if c not in header]
    if missing:
        return CsvImportResult(errors=[f"The header row must name {', '.join(missing)} "
                                       f"(columns: {', '.join(SHIPPING_CSV_COLUMNS)})."])
    rows: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        description, code = row.get("store_description", ""), row.get("carrier_code", "")
        if not description and not code:
            continue
        if not description or not code:
            errors.append(f"Line {number}: store_description and carrier_code are both needed.")
            continue
        if len(description) > 200 or len(code) > 100:
            errors.append(f"Line {number}: a value is too long.")
            continue
        rows[description] = {"carrier_code": code,
                             "carrier_name": row.get("carrier_name", "")[:100],
                             "service_level": row.get("service_level", "")[:100]}
    if errors:
        return CsvImportResult(errors=errors)
    result = CsvImportResult(errors=[])
    with transaction.atomic():
        existing = {m.store_description: m for m in
                    ShippingMethodMap.objects.filter(connection=connection)}
        for description, values in rows.items():
            current = existing.get(description)
            if current is None:
                ShippingMethodMap.objects.create(connection=connection,
                                                 store_description=description, **values)
                result.created += 1
            elif overwrite:
                for key, value in values.items():
                    setattr(current, key, value)
                current.save()
                result.updated += 1
            else:
                result.skipped += 1
    return result


def add_shipping_method(connection: Connection, **values: str) -> None:
    """Add or replace one map row (the store text is the key)."""
    from dropstream.catalog.models import ShippingMethodMap

    ShippingMethodMap.objects.update_or_create(
        connection=connection, store_description=values.pop("store_description"),
        defaults=values)


def add_listing(store: Store, *, store_sku: str, warehouse_sku: str, name: str = "") -> None:
    """Map ``store_sku`` on ``store`` to the merchant's product ``warehouse_sku`` (created if new).

    Raises ConnectionsError when the store SKU is already mapped to another product.
    """
    from dropstream.catalog.models import Listing, Product

    with transaction.atomic():
        product, _ = Product.objects.get_or_create(
            customer_id=store.customer_id, sku=warehouse_sku, defaults={"name": name})
        listing = Listing.objects.filter(store=store, store_sku=store_sku).first()
        if listing and listing.product_id != product.pk:
            raise ConnectionsError({"store_sku": f"{store_sku} is already mapped to "
                                                 f"{listing.product.sku}; delete that first."})
        if listing is None:
            Listing.objects.create(store=store, product=product, store_sku=store_sku)

__all__ = ["ConnectionsError", "OrderActionError"]

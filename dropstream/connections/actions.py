"""Creating, changing, testing, enabling and disabling merchants, stores, warehouses and
connections.

Shared by the API, the pages, the CLI and the demo; views stay thin (saleor ``order/actions.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dropstream import crypto
from dropstream.alerts.actions import resolve_alerts_for
from dropstream.connections.errors import ConnectionsError, DuplicateConnection
from dropstream.connections.events import connection_switched
from dropstream.connections.folders import folder_errors, local_folder_problem
from dropstream.connections.models import (
    Channel,
    ChannelType,
    Connection,
    Merchant,
    Store,
    Warehouse,
)
from dropstream.platforms.base import (
    AdapterSettingsError,
    PendingChange,
    PlatformSpec,
    UnknownPlatform,
    clean_datetime,
    get_platform,
)
from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    HostKeyMismatch,
    PlatformError,
    RateLimited,
    RemoteNotFound,
    RemoteTimeout,
    RemoteUnavailable,
)
from dropstream.platforms.protocols import AdapterContext

# specs/dropstream-reference.md §3.3
DEFAULT_RULES: dict[str, list[dict[str, Any]]] = {
    ChannelType.SALES_ORDER: [{"type": "minutely", "every": 15}],
    ChannelType.SHIPMENT: [{"type": "hourly", "every": 4, "minute": 0}],
    ChannelType.INVENTORY: [{"type": "minutely", "every": 60}],
}
DEFAULT_FULL_SYNC_RULES: dict[str, list[dict[str, Any]]] = {
    ChannelType.INVENTORY: [{"type": "daily", "every": 1, "at": "01:00"}],
}


def clean_adapter(kind: str, platform: str, adapter: dict | None, *, prefix: str = "") -> dict:
    """Validated settings for ``platform``; ConnectionsError names each bad field. A store's
    ``import_since`` (once sent among the platform's settings) is the store's own field now and
    is left out here: ``create_store`` and ``update_store`` take it."""
    if kind == "store":
        adapter, _ = _split_import_since(adapter)
    try:
        spec = get_platform(kind, platform)
    except UnknownPlatform as exc:
        raise ConnectionsError({f"{prefix}platform": exc.message}) from None
    try:
        return spec.clean(adapter)
    except AdapterSettingsError as exc:
        raise ConnectionsError({prefix + k: prefix + v if prefix else v
                                for k, v in exc.errors.items()}) from None


def create_merchant(company_name: str, **fields: Any) -> Merchant:
    if not (company_name or "").strip():
        raise ConnectionsError({"company_name": "company_name is required"})
    return Merchant.objects.create(company_name=company_name.strip(), **fields)


def _import_since(value: Any, prefix: str = "") -> datetime | None:
    """The hub's "orders created before this are not imported" time, validated."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(clean_datetime(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConnectionsError({f"{prefix}import_since": f"{prefix}import_since {exc}"}) \
            from None


def _split_import_since(adapter: dict | None) -> tuple[dict | None, Any]:
    """``import_since`` was once a platform setting: still accepted inside ``adapter``."""
    if not isinstance(adapter, dict) or "import_since" not in adapter:
        return adapter, None
    rest = dict(adapter)
    return rest, rest.pop("import_since")


def create_store(customer: Merchant, *, name: str, platform: str, adapter: dict | None,
                 description: str = "", url: str | None = None, prefix: str = "",
                 import_since: Any = None) -> Store:
    adapter, legacy_since = _split_import_since(adapter)
    since = _import_since(import_since if import_since is not None else legacy_since, prefix)
    settings = clean_adapter("store", platform, adapter, prefix=prefix)
    store = Store(customer=customer, name=name or "", description=description or "", url=url,
                  platform=platform, import_since=since)
    store.set_adapter(settings)
    store.save()
    return store


def create_warehouse(customer: Merchant, *, platform: str, adapter: dict | None,
                     description: str = "", prefix: str = "") -> Warehouse:
    settings = clean_adapter("warehouse", platform, adapter, prefix=prefix)
    errors = folder_errors(get_platform("warehouse", platform), settings, customer.pk, prefix)
    if errors:
        raise ConnectionsError(errors)
    warehouse = Warehouse(customer=customer, description=description or "", platform=platform)
    warehouse.set_adapter(settings)
    warehouse.save()
    return warehouse


def create_connection(*, name: str, customer: Merchant, store: Store,
                      warehouse: Warehouse) -> Connection:
    """A new connection, **disabled**, with its three channels (enabled, default schedules).
    It imports the store's orders unless another connection of the store already does.

    Raises DuplicateConnection when the triple already exists, ConnectionsError when the store
    or warehouse belongs to another merchant.
    """
    errors = {}
    if store.customer_id != customer.pk:
        errors["store_id"] = "the store belongs to another merchant"
    if warehouse.customer_id != customer.pk:
        errors["warehouse_id"] = "the warehouse belongs to another merchant"
    if errors:
        raise ConnectionsError(errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            # A store's second warehouse starts as one that receives routed orders only: at
            # most one connection imports a store's orders (issue 16).
            importer = _importing_connection(store.pk, exclude=None)
            connection = Connection.objects.create(
                name=name or store.name, customer=customer, store=store, warehouse=warehouse,
                imports_orders=importer is None)
            Channel.objects.bulk_create([
                Channel(connection=connection, type=channel_type, enabled_at=now,
                        rules=DEFAULT_RULES[channel_type],
                        full_sync_rules=DEFAULT_FULL_SYNC_RULES.get(channel_type, []))
                for channel_type in ChannelType.values
            ])
    except IntegrityError:
        raise DuplicateConnection({"connection": (
            f"a connection for merchant {customer.pk}, store {store.pk} and warehouse "
            f"{warehouse.pk} already exists")}) from None
    return connection


def set_connection_enabled(connection: Connection, enabled_at: datetime | None) -> Connection:
    """Enable (at ``enabled_at``) or disable (None). First enabling fixes ``import_since``;
    ``connection_switched`` lets scheduling recompute the channels' next runs."""
    with transaction.atomic():
        connection.enabled_at = enabled_at
        connection.save(update_fields=["enabled_at"])
        if enabled_at is not None:
            Store.objects.filter(pk=connection.store_id, import_since__isnull=True).update(
                import_since=enabled_at)
            Store.objects.filter(pk=connection.store_id, enabled_at__isnull=True).update(
                enabled_at=enabled_at)
            Warehouse.objects.filter(pk=connection.warehouse_id, enabled_at__isnull=True).update(
                enabled_at=enabled_at)
        connection_switched.send(sender=Connection, connection=connection)
    return connection


def all_stored_secrets() -> list[str]:
    """Every encrypted value in the database, for the start-up key check."""
    values: list[str] = []
    for model in (Store, Warehouse):
        for adapter in model.objects.values_list("adapter", flat=True).iterator():
            values.extend(v for v in (adapter or {}).values() if crypto.is_encrypted(v))
            if values:
                return values
    return values


# --------------------------------------------------------------------------------------------
# Updates, ping and delete (used by the API; pages may share them)
# --------------------------------------------------------------------------------------------

MERCHANT_FIELDS = ("company_name", "street1", "street2", "street3", "city", "state", "zipcode",
                   "country", "provider")


def update_merchant(merchant: Merchant, changes: dict[str, Any]) -> Merchant:
    """Apply the given fields (only those in MERCHANT_FIELDS); ConnectionsError names bad ones."""
    unknown = sorted(set(changes) - set(MERCHANT_FIELDS))
    if unknown:
        raise ConnectionsError({key: f"{key} cannot be changed" for key in unknown})
    if "company_name" in changes:
        name = (changes["company_name"] or "").strip()
        if not name:
            raise ConnectionsError({"company_name": "company_name is required"})
        changes = {**changes, "company_name": name}
    for key, value in changes.items():
        setattr(merchant, key, value)
    merchant.save(update_fields=list(changes) or None)
    return merchant


def _merge_adapter(target: Store | Warehouse, changes: Any, *, prefix: str = "") -> None:
    """Merge ``changes`` into the stored settings; a secret sent back masked keeps its value."""
    if not isinstance(changes, dict):
        raise ConnectionsError({f"{prefix}adapter": f"{prefix}adapter must be an object"})
    spec = target.platform_spec
    stored = target.adapter_settings()
    _refuse_moved_masked_secrets(spec, stored, changes, prefix)
    secret_names = set(spec.secret_fields)
    # Clients often PATCH back what they read from GET; "••••1234" must not become the token.
    changes = {key: value for key, value in changes.items()
               if not (key in secret_names and isinstance(value, str) and crypto.MASK in value)}
    try:
        cleaned = spec.clean(changes, partial=True)
    except AdapterSettingsError as exc:
        raise ConnectionsError({prefix + k: prefix + v if prefix else v
                                for k, v in exc.errors.items()}) from None
    _refuse_secrets_following_a_new_address(spec, stored, cleaned, prefix)
    errors = folder_errors(spec, {**stored, **cleaned}, target.customer_id, prefix)
    if errors:
        raise ConnectionsError(errors)
    target.update_adapter(cleaned)


def _refuse_secrets_following_a_new_address(spec: PlatformSpec, stored: Mapping[str, Any],
                                            cleaned: Mapping[str, Any], prefix: str) -> None:
    """An address field (``SettingField.address``) that changes needs every stored secret
    entered again in the same change: otherwise whoever may edit the address could send the
    merchant's token to a host of their own on the next test or run."""
    moved = [f.name for f in spec.fields if f.address and f.name in cleaned
             and (cleaned[f.name] or None) != (stored.get(f.name) or None)]
    if not moved:
        return
    missing = [name for name in spec.secret_fields
               if stored.get(name) and cleaned.get(name) in (None, "")]
    if missing:
        changed = " and ".join(moved)
        raise ConnectionsError({
            f"{prefix}adapter.{name}": f"{prefix}adapter.{name} must be entered again: "
                                       f"{changed} changed, and a stored secret never follows "
                                       "a new address" for name in missing})


def _refuse_moved_masked_secrets(spec: PlatformSpec, stored: Mapping[str, Any],
                                 changes: Mapping[str, Any], prefix: str) -> None:
    """A masked secret that is not the stored one masked (``sftp://wh1:••••@other-host``):
    the address inside the secret changed while the password was left masked."""
    for name in spec.secret_fields:
        value = changes.get(name)
        if not (isinstance(value, str) and crypto.MASK in value and stored.get(name)):
            continue
        if value.strip() != spec.field(name).mask(str(stored[name])):
            raise ConnectionsError({
                f"{prefix}adapter.{name}": f"{prefix}adapter.{name} must be entered again "
                                           "whole: its address changed, and a stored password "
                                           "never follows a new address"})


def _update_adapter_owner(target: Store | Warehouse, changes: dict[str, Any],
                          allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed) - {"adapter", "enabled_at"})
    if unknown:
        raise ConnectionsError({key: f"{key} cannot be changed" for key in unknown})
    changes = dict(changes)
    if isinstance(target, Store) and "adapter" in changes:
        changes["adapter"], legacy_since = _split_import_since(changes["adapter"])
        if legacy_since is not None:
            changes.setdefault("import_since", legacy_since)
    with transaction.atomic():
        for key in allowed:
            if key == "import_since" and key in changes:
                target.import_since = _import_since(changes[key])
            elif key in changes:
                setattr(target, key, changes[key] if changes[key] is not None or key == "url"
                        else "")
        if "adapter" in changes:
            _merge_adapter(target, changes["adapter"])
        if "enabled_at" in changes:
            target.enabled_at = changes["enabled_at"]
        target.save()


def update_store(store: Store, changes: dict[str, Any]) -> Store:
    """Change name, description, url, import_since, enabled_at (a time enables, None disables)
    or adapter.

    ``adapter`` is merged into the stored settings (secrets sent back masked are kept). The
    platform and merchant cannot change. Raises ConnectionsError naming each bad field.
    """
    _update_adapter_owner(store, changes, ("name", "description", "url", "import_since"))
    return store


def update_warehouse(warehouse: Warehouse, changes: dict[str, Any]) -> Warehouse:
    """Like update_store, for description, enabled_at and adapter."""
    _update_adapter_owner(warehouse, changes, ("description",))
    return warehouse


OPTION_LIMIT = 100_000
NUMBER_OPTIONS = ("inventory_reserve", "zero_out_threshold")
# A store with several warehouses (issue 16): which connection imports the store's orders, and
# whose warehouse adds to the store's stock.
SWITCHES = ("imports_orders", "counts_toward_store_stock")


def _option_errors(changes: dict[str, Any]) -> dict[str, str]:
    """What is wrong with the connection's options among ``changes``."""
    errors = {}
    for key in NUMBER_OPTIONS:
        if key in changes:
            value = changes[key]
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= OPTION_LIMIT:
                errors[key] = f"{key} must be a whole number from 0 to {OPTION_LIMIT}"
    if "unmapped_shipping_method" in changes and \
            changes["unmapped_shipping_method"] not in Connection.UnmappedShippingMethod.values:
        errors["unmapped_shipping_method"] = (
            "unmapped_shipping_method must be one of "
            + ", ".join(Connection.UnmappedShippingMethod.values))
    if "name" in changes and not (changes["name"] or "").strip():
        errors["name"] = "name cannot be empty"
    return errors


def _importing_connection(store_id: int, *, exclude: int | None) -> Connection | None:
    """The store's connection that imports its orders, other than ``exclude``; the caller's
    transaction holds the store row, so two requests cannot both switch one on."""
    Store.objects.select_for_update().filter(pk=store_id).first()
    return (Connection.objects.filter(store_id=store_id, imports_orders=True)
            .exclude(pk=exclude).order_by("pk").first())


def _switch_errors(connection: Connection, changes: dict[str, Any]) -> dict[str, str]:
    """What is wrong with the multi-warehouse switches among ``changes``. Call inside the
    transaction that saves them."""
    errors = {key: f"{key} must be true or false" for key in SWITCHES
              if key in changes and not isinstance(changes[key], bool)}
    if changes.get("imports_orders") is True and not errors:
        importer = _importing_connection(connection.store_id, exclude=connection.pk)
        if importer is not None:
            errors["imports_orders"] = (
                f"connection “{importer.name}” (id {importer.pk}) already imports this store's "
                "orders; a store's orders are imported by one connection only: switch it off "
                "there first")
    return errors


def update_connection(connection: Connection, changes: dict[str, Any]) -> Connection:
    """Change name, locations, the options (inventory_reserve, zero_out_threshold,
    unmapped_shipping_method), the multi-warehouse switches (imports_orders: at most one
    connection of a store; counts_toward_store_stock) or enabled_at (through
    set_connection_enabled); all or nothing."""
    editable = {"name", "locations", "enabled_at", "unmapped_shipping_method", *NUMBER_OPTIONS,
                *SWITCHES}
    unknown = sorted(set(changes) - editable)
    if unknown:
        raise ConnectionsError({key: f"{key} cannot be changed" for key in unknown})
    errors = _option_errors(changes)
    if errors:
        raise ConnectionsError(errors)
    with transaction.atomic():
        errors = _switch_errors(connection, changes)
        if errors:
            raise ConnectionsError(errors)
        if "name" in changes:
            connection.name = changes["name"].strip()
        if "locations" in changes:
            connection.locations = list(changes["locations"] or [])
        for key in ("unmapped_shipping_method", *NUMBER_OPTIONS, *SWITCHES):
            if key in changes:
                setattr(connection, key, changes[key])
        connection.save(update_fields=["name", "locations", "unmapped_shipping_method",
                                       *NUMBER_OPTIONS, *SWITCHES])
        if "enabled_at" in changes:
            set_connection_enabled(connection, changes["enabled_at"])
    return connection


def delete_connection(connection: Connection) -> None:
    """Delete the connection, its channels and what it imported; merchant, store and warehouse
    stay for reuse (reference §1.3)."""
    connection.delete()


def ping_adapter(kind: str, platform: str, adapter: dict | None) -> None:
    """Check credentials with one cheap request; create nothing.

    Raises ConnectionsError for invalid settings, and a PlatformError with a fixed message per
    kind of failure (``test_failure``) when the platform refuses or cannot be reached.
    """
    settings = clean_adapter(kind, platform, adapter)
    spec = get_platform(kind, platform)  # type: ignore[arg-type]
    errors = folder_errors(spec, settings, None)
    if errors:
        raise ConnectionsError(errors)
    try:
        _ping_cleaned(spec, settings, {})
    except PlatformError as exc:
        raise PlatformError(test_failure(spec, exc), status=exc.status) from None


def _ping_cleaned(spec: PlatformSpec, settings: Mapping[str, Any],
                  state: Mapping[str, Any]) -> None:
    # A copy of the stored state: the test sees the pinned host key (a changed server is refused
    # before any password is sent) but pins nothing itself.
    context = AdapterContext(state=json.loads(json.dumps(dict(state))))
    adapter = spec.adapter_class()(dict(settings), context)
    try:
        adapter.validate_credentials()
    finally:
        adapter.close()


def test_failure(spec: PlatformSpec, error: PlatformError) -> str:
    """What a credentials test says about a failure: the hub's own words per kind of failure,
    never the remote's body (a test must not turn the hub into a proxy that reads any page)."""
    label = spec.label
    if not error.quotes_remote:
        return error.message  # the hub's (or the platform's) own words, naming what to change
    if isinstance(error, CredentialsRejected):
        return (f"{label} refused the credentials (read-only)." if error.read_only
                else f"{label} refused the credentials.")
    if isinstance(error, RemoteNotFound):
        return f"Nothing answers as this {label} account at that address."
    if isinstance(error, RateLimited):
        return f"{label} is limiting requests; try again in a minute."
    if isinstance(error, RemoteTimeout | RemoteUnavailable):
        return f"The {label} address did not answer."
    status = f" (HTTP {error.status})" if error.status else ""
    return f"{label} answered the test with an error{status}."


@dataclass(frozen=True)
class CredentialCheck:
    """The outcome of a credentials test: ``field`` is the setting the failure is about (to
    show the message beside it), None when it is about the whole connection."""

    ok: bool
    message: str
    field: str | None = None


def check_credentials(kind: str, platform: str, settings: Mapping[str, Any],
                      state: Mapping[str, Any] | None = None,
                      merchant_id: int | None = None) -> CredentialCheck:
    """Test cleaned ``settings`` with one cheap request; never raises for a platform's refusal
    (``test_failure`` says what went wrong). ``state`` is the stored adapter memory of the
    store or warehouse being tested (its pinned host key), if it exists already."""
    spec = get_platform(kind, platform)  # type: ignore[arg-type]
    problem = local_folder_problem(spec, settings, merchant_id)
    if problem is not None:
        return CredentialCheck(False, f"The folder {problem}.", None)
    try:
        _ping_cleaned(spec, settings, state or {})
    except PlatformError as exc:
        return CredentialCheck(False, test_failure(spec, exc), _setting_at_fault(spec, exc))
    return CredentialCheck(True, f"Connected to {spec.label}.")


def _setting_at_fault(spec: PlatformSpec, error: PlatformError) -> str | None:
    """A rejected login is about the secret (token, password); a host that answers "not found"
    is about the address (the first required non-secret field); anything else about the whole
    connection."""
    secret = next((f.name for f in spec.fields if f.secret), None)
    address = next((f.name for f in spec.fields if f.required and not f.secret), None)
    if isinstance(error, CredentialsRejected | HostKeyMismatch):
        return secret
    if isinstance(error, RemoteNotFound | BadResponse):
        return address or secret
    return None


def update_adapter_settings(owner: Store | Warehouse, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into a store's or warehouse's platform settings and save; raises
    ConnectionsError with ``adapter.<field>`` keys (nothing saved) when a value is invalid."""
    update = update_store if isinstance(owner, Store) else update_warehouse
    update(owner, {"adapter": dict(changes)})


def create_with_parts(*, name: str, merchant: dict, warehouse: dict, store: dict) -> Connection:
    """Create (as needed) the merchant, warehouse and store, then the connection, atomically.

    ``merchant`` is ``{"id": …}`` or the new merchant's fields; ``warehouse`` is ``{"id": …}`` or
    ``{"platform", "description", "adapter"}``; ``store`` is ``{"name", "platform", "adapter",
    "import_since"}`` (or ``{"name", "platform", "pending": True}`` when the merchant will send
    the credentials through a link). Raises ConnectionsError (nothing is left behind).
    """
    with transaction.atomic():
        if merchant.get("id"):
            customer = Merchant.objects.get(pk=merchant["id"])
        else:
            fields = {k: v for k, v in merchant.items() if k != "company_name" and v}
            customer = create_merchant(merchant.get("company_name", ""), **fields)
        if warehouse.get("id"):
            hub_warehouse = Warehouse.objects.get(pk=warehouse["id"], customer=customer)
        else:
            hub_warehouse = create_warehouse(
                customer, platform=warehouse["platform"], adapter=warehouse["adapter"],
                description=warehouse.get("description", ""), prefix="warehouse.")
        if store.get("pending"):
            # No credentials until the merchant enters them; the connection is created
            # disabled, so nothing polls the store meanwhile.
            hub_store = Store.objects.create(customer=customer, name=store["name"],
                                             platform=store["platform"], adapter={})
        else:
            hub_store = create_store(customer, name=store["name"], platform=store["platform"],
                                     adapter=store["adapter"], prefix="store.",
                                     import_since=store.get("import_since"))
        return create_connection(name=name, customer=customer, store=hub_store,
                                 warehouse=hub_warehouse)


def rotate_hook_secret(owner: Store | Warehouse) -> str:
    """A new secret hook URL for the store or warehouse; the old one answers 404 from now on.
    Returns the new secret."""
    owner.rotate_hook_secret()
    owner.save(update_fields=[owner.HOOK_SECRET_FIELD])
    return owner.hook_secret


def pending_change(owner: Store | Warehouse) -> PendingChange | None:
    """What the platform waits for a person to approve (DSFX: a changed host key), if any."""
    check = getattr(owner.platform_spec.adapter_class(), "pending_change", None)
    return check(owner.adapter_state or {}) if check is not None else None


def accept_pending_change(owner: Store | Warehouse) -> None:
    """Approve what the platform waits for; ConnectionsError when nothing waits."""
    adapter_class = owner.platform_spec.adapter_class()
    with transaction.atomic():
        locked = type(owner).objects.select_for_update().get(pk=owner.pk)
        state = dict(locked.adapter_state or {})
        try:
            adapter_class.accept_pending_change(state)
        except (AttributeError, ValueError) as exc:
            raise ConnectionsError({"pending_change": str(exc) or
                                    "nothing is waiting to be accepted"}) from None
        type(owner).objects.filter(pk=owner.pk).update(adapter_state=state)
    owner.adapter_state = state
    resolve_alerts_for(owner)

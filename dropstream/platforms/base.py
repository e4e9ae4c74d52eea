"""What every platform provides: its settings, its adapter, and the values adapters exchange.

Adapters know one platform and nothing of the database: they take and return the frozen
dataclasses below, never ORM rows (OCA/connector ``backend_adapter.py``). A new platform is a new
folder under ``platforms/`` with a ``SPEC`` in its ``__init__.py`` and one line in ``_REGISTERED``.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from dropstream.crypto import mask_secret

# --------------------------------------------------------------------------------------------
# Settings declared by each platform
# --------------------------------------------------------------------------------------------


class AdapterSettingsError(ValueError):
    """Adapter settings are invalid; ``errors`` maps ``adapter.<field>`` to a plain message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


Cleaner = Callable[[Any], Any]


@dataclass(frozen=True)
class SettingField:
    """One key of a platform's ``adapter`` object.

    ``clean`` turns a raw value into the stored one or raises ValueError with the reason;
    ``mask`` renders a secret for display.
    """

    name: str
    label: str
    required: bool = False
    default: Any = None
    secret: bool = False
    choices: tuple[str, ...] | None = None
    clean: Cleaner | None = None
    mask: Callable[[str], str] = mask_secret
    help: str = ""


@dataclass(frozen=True)
class PlatformSpec:
    """A platform as the hub knows it: name, kind, settings, and where its adapter lives."""

    name: str
    kind: Literal["store", "warehouse"]
    label: str
    fields: tuple[SettingField, ...]
    adapter_path: str  # "package.module:Class", imported on first use

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.secret)

    def field(self, name: str) -> SettingField:
        for setting in self.fields:
            if setting.name == name:
                return setting
        raise KeyError(name)

    def clean(self, raw: Mapping[str, Any] | None, *, partial: bool = False) -> dict[str, Any]:
        """Validate ``raw`` and return settings with defaults filled in.

        With ``partial`` only the keys given are checked (for PATCH). Unknown keys are errors, so
        a typo never silently drops a setting. Raises AdapterSettingsError naming every bad field.
        """
        if raw is not None and not isinstance(raw, Mapping):
            raise AdapterSettingsError({"adapter": "adapter must be an object"})
        raw = dict(raw or {})
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        known = {f.name for f in self.fields}
        for key in sorted(set(raw) - known):
            errors[f"adapter.{key}"] = (
                f"adapter.{key} is not a {self.label} setting; known settings: "
                + ", ".join(sorted(known))
            )
        for setting in self.fields:
            present = setting.name in raw and raw[setting.name] not in (None, "")
            if not present:
                if partial and setting.name not in raw:
                    continue
                if setting.required:
                    errors[f"adapter.{setting.name}"] = f"adapter.{setting.name} is required"
                elif not partial or setting.name in raw:
                    cleaned[setting.name] = setting.default
                continue
            value = raw[setting.name]
            try:
                if setting.choices is not None:
                    value = str(value)
                    if value not in setting.choices:
                        raise ValueError(f"must be one of {', '.join(setting.choices)}")
                if setting.clean is not None:
                    value = setting.clean(value)
            except (TypeError, ValueError) as exc:
                errors[f"adapter.{setting.name}"] = f"adapter.{setting.name} {exc}"
                continue
            cleaned[setting.name] = value
        if errors:
            raise AdapterSettingsError(errors)
        return cleaned

    def masked(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of plaintext ``settings`` with every secret field masked."""
        shown = dict(settings)
        for setting in self.fields:
            if setting.secret and shown.get(setting.name):
                shown[setting.name] = setting.mask(str(shown[setting.name]))
        return shown

    def adapter_class(self) -> type:
        module_name, _, class_name = self.adapter_path.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


class UnknownPlatform(KeyError):
    def __init__(self, kind: str, name: str, known: Sequence[str]) -> None:
        self.message = f"unknown {kind} platform {name!r}; known platforms: {', '.join(known)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# Metering: every attempt of every request is reported here (DESIGN.md invariant 3)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeteredCall:
    """One attempt at one request. ``endpoint`` is a template such as ``GET /orders/:id``."""

    platform: str
    method: str
    endpoint: str
    status: int | None  # None when no answer arrived (timeout, connection error)
    duration_ms: float
    attempt: int
    error: str = ""
    # The same for the "sending" notice and the outcome of one attempt (see ``announce``).
    call_id: str = ""


MeterSink = Callable[[MeteredCall], None]


def discard_meter(call: MeteredCall) -> None:
    """A sink for tools that do not record calls."""


def new_call_id() -> str:
    return uuid.uuid4().hex


def announce(sink: MeterSink, call: MeteredCall) -> None:
    """Tell ``sink`` an attempt is about to be sent, if it wants to know (``sink.sending``):
    a meter that journals it keeps the attempt even if the process dies before the answer.
    Transports call this before each attempt, with the ``call_id`` they report it under."""
    sending = getattr(sink, "sending", None)
    if sending is not None:
        sending(call)


# --------------------------------------------------------------------------------------------
# Values exchanged with stores
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """A contact and postal address; ``state`` and ``country`` are ISO codes."""

    name: str = ""
    company: str = ""
    street1: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """A row of the store's order list: enough to decide whether the detail is worth a request."""

    external_id: str
    status: str
    updated_at: datetime
    created_at: datetime | None = None
    display_id: str = ""


@dataclass(frozen=True, slots=True)
class StoreOrderLine:
    external_line_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    requires_shipping: bool = True  # False for gift certificates and other non-physical lines


@dataclass(frozen=True, slots=True)
class StoreOrder:
    """A store order mapped to the hub's vocabulary. Money in the store's currency."""

    external_id: str
    display_id: str
    status: str
    ordered_at: datetime
    updated_at: datetime
    customer_email: str
    ship_to: Address
    bill_to: Address | None
    shipping_method: str
    lines: tuple[StoreOrderLine, ...]
    shipping_amount: Decimal = Decimal("0")
    tax_amount: Decimal = Decimal("0")
    discount_amount: Decimal = Decimal("0")
    total_amount: Decimal = Decimal("0")
    currency: str = "USD"
    notes: str = ""
    gift_message: str = ""
    site_id: str = ""


@dataclass(frozen=True, slots=True)
class StoreShipmentLine:
    external_line_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class StoreShipment:
    """A shipment to post to the store for one order."""

    order_external_id: str
    tracking_number: str
    carrier: str
    service: str
    ship_date: date
    lines: tuple[StoreShipmentLine, ...]


@dataclass(frozen=True, slots=True)
class InventoryWriteResult:
    """What an inventory write did, per store SKU."""

    written: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # sku -> why (vendor-managed, unknown)
    failed: dict[str, str] = field(default_factory=dict)  # sku -> error message
    # Full sync: SKUs the store, read just now, already holds at the wanted level.
    unchanged: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class StoreAdapter(Protocol):
    """A store platform. Constructed as ``Adapter(settings, meter=sink)``; ``close()`` when done."""

    platform: str

    def validate_credentials(self) -> None:
        """One cheap request; raises a PlatformError with a message a merchant understands."""

    def list_orders(
        self, *, updated_since: datetime | None, status: str | None = None,
        created_since: datetime | None = None,
    ) -> Iterator[OrderSummary]:
        """Orders updated since the time (all statuses when ``status`` is None) and created since
        ``created_since``, deduplicated."""

    def get_order(self, external_id: str) -> StoreOrder:
        """Read and map one order; OrderDataError names the field that cannot be mapped."""

    def order_from_payload(self, payload: Mapping[str, Any]) -> StoreOrder:
        """Map a pushed order body with no request; OrderDataError when it cannot be mapped."""

    def post_shipment(self, shipment: StoreShipment, *, check_existing: bool = False,
                      claimed: frozenset[str] = frozenset()) -> str:
        """Create the shipment; return the store's shipment id. With ``check_existing`` (a retry
        after a run died mid-post) first look for it in the store and create it only if absent;
        a store shipment in ``claimed`` (other packages' ids) is never taken for this one."""

    def set_order_shipped(self, external_id: str) -> None:
        """Set the order status the merchant chose for a fully shipped order (may do nothing)."""

    def write_inventory(self, quantities: Mapping[str, int], *,
                        full: bool = False) -> InventoryWriteResult:
        """Write quantities keyed by store SKU, one request per product that changes. With
        ``full`` the store's current levels are read first and every difference is written,
        whatever the hub believes the store holds (a full sync corrects drift)."""

    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------
# Values exchanged with warehouses
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarehouseOrderLine:
    line_number: int
    sku: str
    quantity: int
    unit_price: Decimal
    name: str = ""


@dataclass(frozen=True, slots=True)
class WarehouseOrder:
    """An order ready for the warehouse: SKUs translated, bundles expanded, carrier code mapped."""

    order_number: str
    ordered_at: datetime
    ship_to: Address
    bill_to: Address | None
    ship_method: str
    lines: tuple[WarehouseOrderLine, ...]
    customer_email: str = ""
    customer_notes: str = ""
    gift_message: str = ""
    po_number: str = ""
    source_code: str = ""
    facility: str = ""


# Ship-to fields every warehouse needs; a platform may require more (DSFX: the state).
BASE_SHIP_TO = ("name", "street1", "city", "postal_code", "country")


def keep_order_number(display_id: str) -> str:
    """The order number rule of a platform that takes the store's number as it is."""
    return display_id.strip()


def no_order_problems(order: WarehouseOrder) -> list[tuple[str, str]]:
    return []


@dataclass(frozen=True)
class WarehouseRules:
    """What a warehouse platform accepts, declared so the hub checks an order in ``prepare``,
    before it joins a batch: one order the warehouse would refuse never takes others down.

    ``required_ship_to`` names Address fields; ``max_lengths`` maps WarehouseOrder field paths
    (``order_number``, ``ship_method``, ``ship_to.name``, ``lines.sku``, ``customer_notes``…) to
    the most characters the warehouse takes; ``order_number`` turns the store's display number
    into the warehouse's (deterministic, so it can be recomputed any time); ``problems`` finds
    anything else, as (field path, message) pairs; ``batch_size`` is how many orders go in one
    submission.
    """

    required_ship_to: tuple[str, ...] = BASE_SHIP_TO
    max_lengths: Mapping[str, int] = field(default_factory=dict)
    order_number: Callable[[str], str] = keep_order_number
    problems: Callable[[WarehouseOrder], list[tuple[str, str]]] = no_order_problems
    batch_size: int = 500


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """Where a batch of orders went: the warehouse-side name (a file for DSFX)."""

    reference: str
    order_numbers: tuple[str, ...]
    already_there: bool = False
    # The order numbers as the warehouse knows them (same order as ``order_numbers``), when the
    # platform had to rewrite some; shipments come back under these. Empty = unchanged.
    warehouse_order_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WarehouseShipmentLine:
    line_number: int | None
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class WarehouseShipment:
    """One package: ``key`` is stable across re-deliveries (order number + shipment id/tracking)."""

    key: str
    order_number: str
    carrier: str
    service: str
    tracking_number: str
    ship_date: date
    lines: tuple[WarehouseShipmentLine, ...]
    warehouse_shipment_id: str = ""
    weight: Decimal | None = None
    cost: Decimal | None = None
    source_rows: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RowError:
    line_number: int
    reason: str


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    sku: str
    available: int
    on_hand: int | None = None
    facility: str = ""


@dataclass
class WarehouseDocument:
    """A file (or message) read from the warehouse, to be acknowledged once the hub stored it.

    ``stated_at`` is when the warehouse says the content is from (an inventory snapshot's time),
    never later than when it wrote it; None when it says nothing, and then ``received_at`` (when
    the hub read it) stands in. Reservations and the "an older snapshot never overwrites a
    newer one" rule compare ``as_of``.
    """

    name: str
    sha256: str
    received_at: datetime
    shipments: list[WarehouseShipment] = field(default_factory=list)
    levels: list[InventoryLevel] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicate: bool = False
    stated_at: datetime | None = None

    @property
    def as_of(self) -> datetime:
        return self.stated_at or self.received_at


@dataclass(frozen=True, slots=True)
class WarehouseRejection:
    """The warehouse refused an order it was sent (an unknown SKU, a malformed file).

    ``reference`` is the submission that carried it (for DSFX, the order file's name) and
    ``source`` the warehouse-side report it came from, to pass to ``acknowledge_rejections``.
    ``order_number`` is empty when the warehouse refused the whole submission
    (``whole_submission``), or when a report line could not be read (the reason says which).
    """

    order_number: str
    reason: str
    reference: str
    source: str
    whole_submission: bool = False


@runtime_checkable
class WarehouseAdapter(Protocol):
    """A warehouse platform. Constructed as ``Adapter(settings, ...)``; ``close()`` when done."""

    platform: str

    def validate_credentials(self) -> None: ...

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        """What the platform accepts with these settings (checked before batching)."""

    def submission_reference(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        """The deterministic warehouse-side name a batch will have (recorded before sending)."""

    def submission_exists(self, reference: str) -> bool:
        """Whether the warehouse already holds this batch (checked before any re-send)."""

    def submit_orders(
        self, orders: Sequence[WarehouseOrder], *, reference: str
    ) -> SubmitResult: ...

    def fetch_shipments(self) -> Iterator[WarehouseDocument]: ...

    def fetch_inventory(self) -> Iterator[WarehouseDocument]: ...

    def acknowledge(self, document: WarehouseDocument, errors: Sequence[RowError] = ()) -> None:
        """Move a handled document aside (processed, or error with the reasons)."""

    def fetch_rejections(self) -> list[WarehouseRejection]:
        """Every refusal the warehouse reported that was not acknowledged yet."""

    def acknowledge_rejections(self, source: str) -> None:
        """Set a refusal report aside once the hub applied it (never deleted)."""

    def cancel_order(self, order_number: str) -> None:
        """Ask the warehouse to cancel; NotSupported where it cannot."""

    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------

# One line per platform: "module holding SPEC".
_REGISTERED = (
    "dropstream.platforms.brightsites",
    "dropstream.platforms.dsfx",
)


def _load() -> dict[str, PlatformSpec]:
    specs: dict[str, PlatformSpec] = {}
    for module_name in _REGISTERED:
        spec: PlatformSpec = importlib.import_module(module_name).SPEC
        specs[f"{spec.kind}:{spec.name}"] = spec
    return specs


_SPECS: dict[str, PlatformSpec] | None = None


def _specs() -> dict[str, PlatformSpec]:
    global _SPECS
    if _SPECS is None:
        _SPECS = _load()
    return _SPECS


def platforms(kind: Literal["store", "warehouse"]) -> list[str]:
    return sorted(spec.name for spec in _specs().values() if spec.kind == kind)


def get_platform(kind: Literal["store", "warehouse"], name: str) -> PlatformSpec:
    """The spec for a platform string; UnknownPlatform lists the known ones."""
    try:
        return _specs()[f"{kind}:{name}"]
    except KeyError:
        raise UnknownPlatform(kind, name, platforms(kind)) from None

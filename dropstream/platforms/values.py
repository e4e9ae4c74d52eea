"""The values adapters exchange with the hub: frozen dataclasses, never ORM rows (OCA/connector
``backend_adapter.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

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
    """What a submission did: ``reference`` is its key, ``order_numbers`` the orders it carried.

    ``refused`` maps an order number to the warehouse's reason for orders it refused one by one
    (a REST warehouse answering 400 for one order of a batch): those go to Error, the others are
    confirmed.
    """

    reference: str
    order_numbers: tuple[str, ...]
    already_there: bool = False
    refused: dict[str, str] = field(default_factory=dict)
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
class WarehouseCancellation:
    """The warehouse canceled an order the hub sent it (its own decision, or a person's in the
    WMS); the hub closes the order, unless it shipped, and tells the merchant."""

    order_number: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    sku: str
    available: int
    on_hand: int | None = None
    facility: str = ""


@dataclass
class WarehouseDocument:
    """What the warehouse reported in one go — a file, a webhook event, one poll — to be
    acknowledged once the hub has stored it (an unacknowledged one comes again).

    ``stated_at`` is when the warehouse says the content is from (an inventory snapshot's time),
    never later than when it wrote it; None when it says nothing, and then ``received_at`` (when
    the hub read it) stands in. Reservations and the "an older snapshot never overwrites a
    newer one" rule compare ``as_of``.
    """

    name: str
    # Stable across re-deliveries: the content's SHA-256 for a file, the event id of a webhook,
    # the window of a poll. The hub remembers handled ones (``AdapterContext.seen``).
    event_id: str
    received_at: datetime
    shipments: list[WarehouseShipment] = field(default_factory=list)
    levels: list[InventoryLevel] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    cancellations: list[WarehouseCancellation] = field(default_factory=list)
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



@dataclass(frozen=True, slots=True)
class WarehouseReceipt:
    """The warehouse's word that a submission arrived (an EDI functional acknowledgment, a
    receipt report), or that this word is overdue: recorded on the orders of the submission.

    ``reference`` is the submission key; ``order_numbers`` the orders it is about (empty = every
    order of the submission); ``source`` what to pass to ``acknowledge_rejections`` once
    recorded (the same report may carry rejections). ``overdue`` raises an alert: the
    warehouse has not said it got the submission within the time the platform allows.
    Refusals are ``WarehouseRejection`` values, never receipts.
    """

    reference: str
    message: str
    source: str
    order_numbers: tuple[str, ...] = ()
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class PendingChange:
    """Something a person must approve before the platform works again (DSFX: a changed SFTP
    host key): the Settings tab shows ``title`` and ``details`` and offers ``action``."""

    title: str
    message: str
    details: tuple[tuple[str, str], ...] = ()  # (label, value) pairs, e.g. fingerprints
    action: str = "Accept"

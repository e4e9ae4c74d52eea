"""The simulated warehouse's trading-partner profile: every spec "assumption" as a setting.

specs/x12-warehouse.md marks partner-specific choices "(assumption)" and lists the open questions
in §9; each is a field here, defaulting to the bracketed §9 answer. ``PartnerProfile()`` is the
spec's sample partner (``WHSRECEIVER`` ↔ ``HUBSENDER``, ``*``/``>``/``~`` + LF, ISA15 ``T``,
GS08 ``004010``, tracking in ``MAN*CP``, one LX per package, 846 with QTY 33 and 17).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dropstream.sandbox.edi.x12 import Delimiters, EnvelopeParties

DUPLICATE_MODES = ("reject", "ignore", "process")  # §8 row 3 (a), (b), (c)
UNKNOWN_SKU_MODES = ("accept", "cancel_line", "reject_order")  # §8 row 4
ACK_MODES = ("once", "never", "twice")  # §8 row 5
TRACKING_LOCATIONS = ("MAN_CP", "MAN_GM", "MAN04_CN", "W27_ONLY")  # §3.2 MAN, §8 row 6
LX_MODES = ("package", "line")  # §3.3, §9.2
SHORT_STOCK_MODES = ("cancel", "backorder")
CANCEL_ANSWERS = ("945", "none")
WRITE_MODES = ("atomic", "direct")  # §6, §8 row 10
LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n", "none": ""}


@dataclass(frozen=True)
class PartnerProfile:
    """How this simulated 3PL behaves. Times are seconds; rates are 0…1."""

    # Envelope (§1, §9.7, §8 row 11).
    warehouse_qualifier: str = "ZZ"
    warehouse_id: str = "WHSRECEIVER"
    warehouse_app_id: str = ""  # GS02 of what it sends / GS03 it expects; "" = warehouse_id
    hub_qualifier: str = "ZZ"
    hub_id: str = "HUBSENDER"
    hub_app_id: str = ""  # "" = hub_id
    usage: str = "T"  # ISA15 it writes and the only one it accepts
    version: str = "004010"  # GS08 it writes and the only one it accepts (e.g. 004010UCS)
    ack_requested: str = "0"  # ISA14 it writes: 0 no TA1 wanted (the spec samples show 1)
    check_receiver: bool = True  # an interchange whose ISA08 is not warehouse_id goes to error/
    # Delimiters it writes (§8 row 1); what it reads always comes from the incoming ISA.
    element_separator: str = "*"
    component_separator: str = ">"
    segment_terminator: str = "~"
    line_ending: str = "\n"  # after each terminator: "\n", "\r\n" or ""
    # Control numbers (§1.4, §8 row 13): None = derived from the robot's seed.
    first_interchange_number: int | None = None
    first_group_number: int | None = None

    # Inbound 940 (§2, §8 rows 3, 4, 7).
    duplicates: str = "reject"  # a re-used ISA13 or GS06 from the same sender
    require_w66: bool = True  # 3PL Central requires W66 (§2.1)
    order_codes: tuple[str, ...] = ("N",)  # W0501 values that place an order
    cancel_codes: tuple[str, ...] = ("F",)  # W0501 values that cancel one (§9.1)
    units: tuple[str, ...] = ("EA", "CA", "PL")  # accepted W0102 codes (else AK4 code 7)
    strict_segments: bool = False  # a segment not in the 940 table: True → R, False → E
    unknown_sku: str = "accept"  # accept at default_stock / 945 IC for the line / reject
    refuse_known_order_numbers: bool = False  # a second W05*N with a W0502 already received
    honour_cancel: bool = True  # W05*F cancels an order not yet picked; False: never
    cancel_answer: str = "945"  # a cancel honoured → a 945 with every line IC; "none": silence

    # 997s it sends (§5, §8 row 5).
    ack_mode: str = "once"
    ack_delay_s: float = 0.0

    # Shipping (§3, §8 row 6).
    pick_delay_s: float = 10.0  # a W05*F after this is too late (§8 row 7)
    ship_delay_s: float | None = 30.0  # None: ship only when told (ship_order / ship_all_now)
    split_rate: float = 0.1  # share of orders in two packages
    partial_rate: float = 0.0  # share of lines shipped short with the rest canceled (CP)
    backorder_rate: float = 0.0  # share of lines shipped short, rest back-ordered (BP)
    cancel_line_rate: float = 0.0  # share of lines canceled (IC)
    short_stock: str = "cancel"  # too little stock: CP (cancel the rest) or BP (backorder)
    backorder_delay_s: float | None = 60.0  # BP rest ships after this (None: on demand)
    tracking_location: str = "MAN_CP"
    lx_per: str = "package"  # one LX per package (§9.2) or one per line
    default_scac: str = "UPSN"  # when the 940 has no W66
    default_routing: str = "UPS Ground"
    default_method: str = "U"
    facility_code: str = "LAX1"
    facility_name: str = "LAX-1 Warehouse"
    orders_per_945_file: int = 100  # 945 sets per interchange when several orders ship at once

    # Inventory (§4, §8 row 8, §9.4).
    inventory_every_s: float = 86_400.0  # 0 or less: only on demand
    qty_codes: tuple[str, ...] = ("33", "17")  # 33 available, 17 on hand
    skus_per_846_set: int = 0  # 0: one 846 set; else split into sets of this many LIN
    report_type: str = "SI"  # BIA02
    wrong_ctt: bool = False  # fault: every CTT01 one too many

    # 997s it expects from the hub (§5.4, §8 row 9, §9.5).
    ack_expected_within_s: float = 4 * 3600.0
    resend_after_s: float | None = None  # resend an unacknowledged file with new numbers
    max_resends: int = 1

    # Transport (§6, §8 row 10).
    write_mode: str = "atomic"  # temp name + rename, or "direct" (fault)
    burst_every_s: float = 0.0  # >0: hold outgoing files and drop them together on the period
    file_name_pattern: str = "{type}_{isa13}_{stamp}.edi"  # fields: type isa13 gs06 stamp

    def __post_init__(self) -> None:
        choices = {"duplicates": DUPLICATE_MODES, "unknown_sku": UNKNOWN_SKU_MODES,
                   "ack_mode": ACK_MODES, "tracking_location": TRACKING_LOCATIONS,
                   "lx_per": LX_MODES, "short_stock": SHORT_STOCK_MODES,
                   "cancel_answer": CANCEL_ANSWERS, "write_mode": WRITE_MODES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, "
                                 f"not {getattr(self, name)!r}")
        for name in ("split_rate", "partial_rate", "backorder_rate", "cancel_line_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.partial_rate + self.backorder_rate + self.cancel_line_rate > 1.0:
            raise ValueError("partial_rate + backorder_rate + cancel_line_rate exceed 1")
        if self.usage not in ("T", "P") or self.ack_requested not in ("0", "1"):
            raise ValueError("usage must be T or P, ack_requested 0 or 1")
        if not set(self.qty_codes) <= {"33", "17"} or not self.qty_codes:
            raise ValueError("qty_codes holds 33 and/or 17")
        if self.orders_per_945_file < 1 or self.skus_per_846_set < 0 or self.max_resends < 0:
            raise ValueError("orders_per_945_file ≥ 1, skus_per_846_set ≥ 0, max_resends ≥ 0")
        for name in ("{type}", "{isa13}"):
            if name not in self.file_name_pattern:
                raise ValueError(f"file_name_pattern must contain {name}")
        self.delimiters()  # raises ValueError for unusable separators

    def delimiters(self) -> Delimiters:
        """The separators it writes with."""
        return Delimiters(self.element_separator, self.component_separator,
                          self.segment_terminator, self.line_ending)

    @property
    def warehouse_app(self) -> str:
        return self.warehouse_app_id or self.warehouse_id

    @property
    def hub_app(self) -> str:
        return self.hub_app_id or self.hub_id

    def parties(self) -> EnvelopeParties:
        """The envelope of what the warehouse sends to the hub."""
        return EnvelopeParties(self.warehouse_qualifier, self.warehouse_id, self.hub_qualifier,
                               self.hub_id, self.warehouse_app, self.hub_app, usage=self.usage,
                               version=self.version, ack_requested=self.ack_requested)

    def replace(self, **changes: Any) -> PartnerProfile:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PartnerProfile:
        """A profile from JSON-like values; lists become tuples; ValueError for unknown keys."""
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown profile settings: {', '.join(unknown)}")
        converted = {key: tuple(value) if isinstance(value, list) else value
                     for key, value in values.items()}
        return cls(**converted)

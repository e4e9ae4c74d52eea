"""What differs per X12 trading partner, with the defaults of specs/x12-warehouse.md.

Everything the spec calls partner-specific is a field here; the defaults are the bracketed
answers of §9 and the samples' choices (§2.3, §3.3, §4.3). A profile is frozen and hashable-free
of I/O, so a platform adapter builds one from its settings and passes it to every codec call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CharacterSet = Literal["extended", "basic"]


@dataclass(frozen=True, slots=True)
class TrackingLocation:
    """Where a 945 carries a package's tracking number (§3.2 "MAN … Disagreement").

    ``segment`` is MAN, N9 or W27; the value is element ``value_element`` of that segment when
    element ``qualifier_element`` equals ``qualifier`` (``qualifier_element`` 0 = no qualifier).
    MAN and N9 are read inside each LX loop (one package each); W27 and a header N9 give one
    tracking number for the whole set.
    """

    segment: str
    qualifier_element: int
    qualifier: str
    value_element: int


MAN_CP = TrackingLocation("MAN", 1, "CP", 2)  # carrier-assigned package id (§3.2, §9.2 default)
MAN_GM = TrackingLocation("MAN", 1, "GM", 2)  # SSCC-18 (§3.2)
MAN04_CN = TrackingLocation("MAN", 4, "CN", 5)  # Infoplus: MAN04 = CN, number in MAN05 (§3.2)
N9_CN = TrackingLocation("N9", 1, "CN", 2)  # carrier PRO in N9*CN (§3.2, peer notes [ED11])
W27_EQUIPMENT = TrackingLocation("W27", 0, "", 7)  # W2707 equipment number (assumption)


@dataclass(frozen=True, slots=True)
class ShipMethod:
    """One row of the per-partner ship-method table (§2.2 "Hub mapping" under W66).

    ``code`` is the hub's ``WarehouseOrder.ship_method``; the rest fills W66 (940) and is how a
    945's W27 is recognised.
    """

    code: str
    transport_method: str = "U"  # W6602 / W2701: U private parcel, M motor, D parcel post, A air
    routing: str = ""  # W6605 / W2703 free text, e.g. "UPS Ground"
    scac: str = ""  # W6610 / W2702, e.g. UPSN
    payment_method: str = ""  # W6601; empty = PartnerProfile.payment_method


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """One warehouse partner's X12 conventions. Field comments cite the spec section."""

    name: str = "X12 partner"  # used in problem messages only

    # Envelope and encoding (§0, §1.2, §1.3, §7, §9.7)
    gs08_version: str = "004010"  # some partners 004010UCS / 004010VICS; readers accept 004010*
    element_separator: str = "*"
    component_separator: str = ">"
    segment_terminator: str = "~"
    segment_suffix: str = "\n"  # written after each terminator; "", "\n" or "\r\n" (§0)
    character_set: CharacterSet = "extended"  # "basic": upper case, X12 basic characters only

    # 940 (§2)
    original_status_code: str = "N"  # W0501 (§2.2)
    cancel_status_code: str = "F"  # W0501 for a cancel (§2.2, §9.1)
    change_status_code: str = "R"  # W0501 for a change (§2.2)
    product_id_qualifier: str = "SK"  # W0104 / W1207 / LIN02: SK, VN, UP, EN, BP (§2.2, §6)
    upc_qualifier: str = "UP"  # W0106 for the second id when the caller gives a UPC (§2.3)
    unit_of_measure: str = "EA"  # W0102
    parties: tuple[str, ...] = ("ST", "DE")  # N1 loops to send: ST always; DE, BT, WH (§2.1)
    depositor_name: str = ""  # N1*DE N102 (§2.3)
    depositor_id: str = ""  # N1*DE N104
    depositor_id_qualifier: str = "ZZ"  # N1*DE N103
    warehouse_id_qualifier: str = "ZZ"  # N1*WH N103 (from WarehouseOrder.facility)
    contact_function: str = "IC"  # PER01 of the ship-to contact
    customer_order_qualifier: str = "CO"  # header N9 for the store's order number (§2.3)
    line_reference_qualifier: str = "LI"  # N9 per line, echoed in the 945 (§2.3, §3.3)
    ship_date_qualifier: str = "10"  # G6201 (§2.2); "" = no G62
    note_code: str = "WHI"  # NTE01 of customer notes (§2.2)
    gift_note_code: str = "GEN"  # NTE01 of the gift message (assumption)
    max_notes: int | None = None  # NTE count limit; 3PL Central allows 1 (§2.2)
    w66_required: bool = True  # W66 is optional in the standard, required by 3PL Central (§2.1)
    payment_method: str = "PP"  # W6601 when the ship method row does not say (§2.2)
    transport_method: str = "U"  # W6602 for a ship method not in ``ship_methods``
    ship_methods: tuple[ShipMethod, ...] = ()  # the per-partner table (§2.2)
    send_totals: bool = True  # W76 (§2.1)
    state_required_countries: tuple[str, ...] = ("US", "CA")  # N402 must be present (assumption)

    # 945 (§3)
    order_reference: str = "W0602"  # W0602, W0604, W0606 or "N9:<qualifier>" (§3.2, §9.3)
    tracking: tuple[TrackingLocation, ...] = (MAN_CP,)  # tried in order (§3.2, §9.2)
    shipped_date_qualifier: str = "11"  # G6201 "shipped on this date" when W0603 is empty

    # 846 (§4)
    full_snapshot: bool = True  # an 846 lists every SKU (§4.2 "default full snapshot", §9.4)
    available_qualifier: str = "33"  # QTY01 quantity available for sale (§4.2, §9.4)
    on_hand_qualifier: str = "17"  # QTY01 quantity on hand
    as_of_qualifier: str = "007"  # DTM01 of the report's as-of time (§4.3)
    warehouse_entity: str = "WH"  # N101 naming the facility (§4.2)

    # 997 timing (§5.4, §9.5) – for the adapter; the codec itself does not use them
    acknowledge_inbound: bool = True  # the partner wants 997s for its 945/846 groups
    ack_due_hours: float = 4.0  # a 940 group without 997 after this long raises an alert

    def ship_method(self, code: str) -> ShipMethod | None:
        """The table row for a hub ship-method code, or None."""
        return next((row for row in self.ship_methods if row.code == code), None)

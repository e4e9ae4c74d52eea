"""940 Warehouse Shipping Order: validator, writer and reader (specs/x12-warehouse.md §2; group OW).

``order_problems(order, profile)`` lists, in plain words, why one ``WarehouseOrder`` cannot be
sent, without writing anything, so the hub can refuse that order before batching.
``write_940(orders, envelope, profile)`` returns ONE interchange with one 940 set per order (ST02
counting up from the envelope's first set control number) and raises ``OrderDataError`` naming
the order and the X12 element for the first order that has a problem. ``read_940`` reads 940s
back (used by the tests and by a warehouse simulator).

Mapping (§2.3 sample; partner choices from ``PartnerProfile``):

=========  ==============================================================================
W05        status (profile code for original/cancel/change) · W0502 ``order_number`` (the
           hub's key, ≤ 22, never altered) · W0503 ``po_number``
N1*ST …    ship-to name, N2 company, N3 street 1/2, N4 city/state/postal/country, PER IC with
           TE phone and EM e-mail (ship-to e-mail, else the customer's)
N1*BT/DE/WH  when listed in ``profile.parties``: bill-to address; the depositor (profile
           name/id); the facility (``WarehouseOrder.facility``)
N9*CO      ``OrderDetails.customer_order_number`` (the store's order number)
G62        profile qualifier (10) with ``OrderDetails.requested_ship_date``, else the order date
NTE        customer notes (WHI), gift message (GEN), split into 80-character notes
W66        ship method via ``profile.ship_methods`` (W6601, W6602, W6605 routing, W6610 SCAC);
           a method not in an empty table goes as the W6605 routing text
LX/W01     per line: LX01 1, 2, 3 …; W01 quantity, EA, SK + SKU, optional UP + U.P.C.
           (``OrderDetails.upcs``); G69 name; N9*LI line number (echoed by the 945)
W76        total quantity, optional weight and unit (``OrderDetails``)
=========  ==============================================================================

Free text (names, streets, city, notes, product names, routing) is cleaned by
``envelope.clean_text`` (ASCII transliteration, delimiters and controls → space) and cut to the
element's maximum; identifiers (order reference, PO, SKU, U.P.C., postal code, state, country,
customer order number, SCAC, ids) are refused when they do not fit unchanged. An e-mail address
that cannot be sent unchanged (too long, a delimiter, or ``@`` in the basic character set) is
left out. ``unit_price`` is not sent: the 940 has no price element the hub needs (AMT is
optional, §2.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from dropstream.platforms.base import Address, WarehouseOrder
from dropstream.platforms.errors import OrderDataError
from dropstream.platforms.x12.acks import ReadResult, SetOutcome, read_documents
from dropstream.platforms.x12.envelope import (
    Delimiters,
    ElementError,
    Envelope,
    Segment,
    SegmentError,
    SegmentValues,
    TransactionSet,
    X12EnvelopeError,
    clean_text,
    format_date,
    format_decimal,
    identifier_problem,
    parse_date,
    parse_decimal,
    profile_delimiters,
    write_interchange,
)
from dropstream.platforms.x12.profile import PartnerProfile

Purpose = Literal["original", "cancel", "change"]
NOTE_LENGTH = 80  # NTE02 (§2.2)
MAX_LINES = 999_999  # LX01 N0 1/6


@dataclass(frozen=True, slots=True)
class OrderDetails:
    """X12 values a ``WarehouseOrder`` does not carry; all optional."""

    customer_order_number: str = ""  # N9*CO N902, ≤ 30 (§2.3 "BS-1043")
    requested_ship_date: date | None = None  # G6202; default the order date
    weight: Decimal | None = None  # W7602
    weight_unit: str = "LB"  # W7603
    upcs: Mapping[str, str] = field(default_factory=dict)  # SKU → U.P.C. for W0106/W0107


@dataclass(frozen=True, slots=True)
class ShippingOrderLine:
    line_number: int | None  # N9*LI
    sku: str
    quantity: Decimal
    unit: str
    name: str = ""
    upc: str = ""


@dataclass(frozen=True, slots=True)
class ShippingOrder:
    """One 940 set as read back."""

    group_control_number: str
    set_control_number: str
    status: str  # W0501
    order_number: str
    po_number: str
    ship_to: Address
    bill_to: Address | None
    depositor_name: str
    depositor_id: str
    facility: str
    customer_order_number: str
    dates: tuple[tuple[str, date], ...]  # G62 (qualifier, date)
    notes: str  # NTE with the profile's note code, joined by spaces
    gift_message: str  # NTE with the gift note code
    payment_method: str
    transport_method: str
    routing: str
    scac: str
    ship_method: str  # the profile table's code for (W6602, W6605, W6610), else the routing
    lines: tuple[ShippingOrderLine, ...]
    total_quantity: Decimal | None = None
    weight: Decimal | None = None
    weight_unit: str = ""


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def ship_to_state(address: Address) -> str:
    """N402: the ISO state code, ``US-OR`` read as ``OR``."""
    state = address.state.strip()
    prefix = f"{address.country.strip()}-"
    return state[len(prefix):] if address.country and state.startswith(prefix) else state


def _email(order: WarehouseOrder, profile: PartnerProfile) -> str:
    email = (order.ship_to.email or order.customer_email).strip()
    if email and identifier_problem(email, "e-mail", 80, profile) is None:
        return email
    return ""


def _address_problems(address: Address, who: str, element: str,
                      profile: PartnerProfile) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not clean_text(address.name, 60, profile):
        found.append((f"N1*{element} N102", f"{who} name is required" if not address.name.strip()
                      else f"{who} name {address.name!r} has no characters X12 can carry"))
    if not clean_text(address.street1, 55, profile):
        found.append((f"N1*{element} N301", f"{who} street is required"))
    if len(clean_text(address.city, 30, profile)) < 2:
        found.append((f"N1*{element} N401", f"{who} city is required (2 to 30 characters)"))
    country = address.country.strip()
    problem = identifier_problem(country, f"{who} country", 3, profile, min_length=2)
    if problem:
        found.append((f"N1*{element} N404", problem))
    state = ship_to_state(address)
    if not state and country in profile.state_required_countries:
        found.append((f"N1*{element} N402",
                      f"{who} state is required for X12 partner {profile.name}"))
    elif state:
        problem = identifier_problem(state, f"{who} state", 2, profile, min_length=2)
        if problem:
            found.append((f"N1*{element} N402", problem + " (N402 is a 2-letter code)"))
    postal = address.postal_code.strip()
    if postal:
        problem = identifier_problem(postal, f"{who} postal code", 15, profile, min_length=3)
        if problem:
            found.append((f"N1*{element} N403", problem))
    return found


def _problems(order: WarehouseOrder, profile: PartnerProfile,
              details: OrderDetails) -> list[tuple[str, str]]:
    """(element, message) for everything that keeps ``order`` out of a 940."""
    found: list[tuple[str, str]] = []

    def identifier(element: str, value: str, label: str, high: int, low: int = 1) -> None:
        problem = identifier_problem(value, label, high, profile, min_length=low)
        if problem:
            found.append((element, problem))

    identifier("W0502", order.order_number, "order reference", 22)
    if order.po_number:
        identifier("W0503", order.po_number, "PO number", 22)
    found += _address_problems(order.ship_to, "ship-to", "ST", profile)
    if "BT" in profile.parties and order.bill_to is not None:
        found += _address_problems(order.bill_to, "bill-to", "BT", profile)
    if "DE" in profile.parties and profile.depositor_id:
        identifier("N1*DE N104", profile.depositor_id, "depositor id", 80, 2)
    if "WH" in profile.parties and order.facility:
        identifier("N1*WH N104", order.facility, "facility", 80, 2)
    if details.customer_order_number:
        identifier("N9*CO N902", details.customer_order_number, "store order number", 30)
    method = order.ship_method.strip()
    row = profile.ship_method(method)
    if not method and profile.w66_required:
        found.append(("W66", f"ship method is required for X12 partner {profile.name}"))
    elif method and profile.ship_methods and row is None:
        found.append(("W66", f"ship method {method!r} is not in the ship-method table of X12 "
                             f"partner {profile.name}"))
    elif row is not None and row.scac:
        identifier("W6610", row.scac, "SCAC", 4, 2)
    if not order.lines:
        found.append(("W01", "an order needs at least one line"))
    if len(order.lines) > MAX_LINES:
        found.append(("LX01", f"an order can have at most {MAX_LINES} lines"))
    seen: set[int] = set()
    for line in order.lines:
        where = f"line {line.line_number}"
        identifier("W0105", line.sku, f"{where} SKU", 48)
        upc = details.upcs.get(line.sku, "")
        if upc:
            identifier("W0107", upc, f"{where} U.P.C.", 48)
        if line.quantity < 1 or len(str(line.quantity)) > 15:
            found.append(("W0101", f"{where} has quantity {line.quantity}; it must be 1 or more "
                                   "(at most 15 digits)"))
        if line.line_number < 1 or line.line_number in seen:
            found.append(("N9*LI N902", f"line number {line.line_number} must be 1 or more and "
                                        "unique in the order"))
        seen.add(line.line_number)
    if details.weight is not None and (details.weight < 0 or len(
            format_decimal(details.weight).replace(".", "")) > 10):
        found.append(("W7602", f"weight {details.weight} must be positive, at most 10 digits"))
    return found


def order_problems(order: WarehouseOrder, profile: PartnerProfile | None = None,
                   details: OrderDetails | None = None) -> list[str]:
    """Plain messages saying why ``order`` cannot be sent in a 940 (empty when it can)."""
    return [message for _, message in _problems(order, profile or PartnerProfile(),
                                                details or OrderDetails())]


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------


def _note_chunks(text: str, length: int = NOTE_LENGTH) -> list[str]:
    """``text`` (already cleaned) in pieces of at most ``length``, split at spaces if possible."""
    chunks: list[str] = []
    while text:
        if len(text) <= length:
            chunks.append(text)
            break
        cut = text.rfind(" ", 0, length + 1)
        if cut <= 0:
            cut = length
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return chunks


def _party(code: str, address: Address, profile: PartnerProfile) -> list[SegmentValues]:
    def text(value: str, high: int) -> str:
        return clean_text(value, high, profile)

    out: list[SegmentValues] = [("N1", code, text(address.name, 60))]
    if text(address.company, 60):
        out.append(("N2", text(address.company, 60)))
    out.append(("N3", text(address.street1, 55), text(address.street2, 55)))
    out.append(("N4", text(address.city, 30), ship_to_state(address),
                address.postal_code.strip(), address.country.strip()))
    return out


def _contact(order: WarehouseOrder, profile: PartnerProfile) -> list[SegmentValues]:
    phone = clean_text(order.ship_to.phone, 80, profile)
    email = _email(order, profile)
    if not phone and not email:
        return []
    values = ["PER", profile.contact_function, clean_text(order.ship_to.name, 60, profile)]
    if phone:
        values += ["TE", phone]
    if email:
        values += ["EM", email]
    return [tuple(values)]


def _notes(order: WarehouseOrder, profile: PartnerProfile) -> list[SegmentValues]:
    notes: list[SegmentValues] = []
    for code, value in ((profile.note_code, order.customer_notes),
                        (profile.gift_note_code, order.gift_message)):
        cleaned = clean_text(value, None, profile)
        notes += [("NTE", code, chunk) for chunk in _note_chunks(cleaned)]
    return notes if profile.max_notes is None else notes[:profile.max_notes]


def _carrier(order: WarehouseOrder, profile: PartnerProfile) -> list[SegmentValues]:
    method = order.ship_method.strip()
    if not method:
        return []
    row = profile.ship_method(method)
    if row is None:
        return [("W66", profile.payment_method, profile.transport_method, "", "",
                 clean_text(method, 35, profile))]
    return [("W66", row.payment_method or profile.payment_method, row.transport_method, "", "",
             clean_text(row.routing, 35, profile), "", "", "", "", row.scac)]


def order_body(order: WarehouseOrder, profile: PartnerProfile, details: OrderDetails,
               purpose: Purpose = "original") -> list[SegmentValues]:
    """The segments of one 940 set between ST and SE (the order must have no problems)."""
    status = {"original": profile.original_status_code, "cancel": profile.cancel_status_code,
              "change": profile.change_status_code}[purpose]
    body: list[SegmentValues] = [("W05", status, order.order_number, order.po_number)]
    parties = ("ST", *(code for code in profile.parties if code != "ST"))
    for code in parties:
        if code == "ST":
            body += _party("ST", order.ship_to, profile) + _contact(order, profile)
        elif code == "BT" and order.bill_to is not None:
            body += _party("BT", order.bill_to, profile)
        elif code == "DE" and (profile.depositor_name or profile.depositor_id):
            body.append(("N1", "DE", clean_text(profile.depositor_name, 60, profile),
                         profile.depositor_id_qualifier if profile.depositor_id else "",
                         profile.depositor_id))
        elif code == "WH" and order.facility:
            body.append(("N1", "WH", "", profile.warehouse_id_qualifier, order.facility))
    if details.customer_order_number:
        body.append(("N9", profile.customer_order_qualifier, details.customer_order_number))
    if profile.ship_date_qualifier:
        day = details.requested_ship_date or order.ordered_at.date()
        body.append(("G62", profile.ship_date_qualifier, format_date(day)))
    body += _notes(order, profile) + _carrier(order, profile)
    for index, line in enumerate(order.lines, start=1):
        upc = details.upcs.get(line.sku, "")
        body.append(("LX", str(index)))
        body.append(("W01", str(line.quantity), profile.unit_of_measure, "",
                     profile.product_id_qualifier, line.sku,
                     profile.upc_qualifier if upc else "", upc))
        name = clean_text(line.name, 45, profile)
        if name:
            body.append(("G69", name))
        body.append(("N9", profile.line_reference_qualifier, str(line.line_number)))
    if profile.send_totals:
        total = sum(line.quantity for line in order.lines)
        weight = details.weight
        body.append(("W76", str(total), format_decimal(weight) if weight is not None else "",
                     details.weight_unit if weight is not None else ""))
    return body


def write_940(orders: Sequence[WarehouseOrder], envelope: Envelope,
              profile: PartnerProfile | None = None, *,
              details: Mapping[str, OrderDetails] | None = None,
              purpose: Purpose = "original") -> bytes:
    """ONE interchange holding one 940 set per order, in the given order.

    ``details`` maps an order number to its ``OrderDetails``. Raises ValueError for no orders,
    OrderDataError (``field`` = the X12 element, ``external_id`` = the order number) for the first
    order with a problem or a repeated order number, and X12EnvelopeError for bad envelope values.
    """
    profile = profile or PartnerProfile()
    details = details or {}
    if not orders:
        raise ValueError("a 940 interchange needs at least one order")
    delimiter_problems = profile_delimiters(profile).problems()
    if delimiter_problems:
        raise X12EnvelopeError("; ".join(delimiter_problems))
    bodies = []
    seen: set[str] = set()
    for order in orders:
        if order.order_number in seen:
            raise OrderDataError(f"order {order.order_number} appears twice in the batch",
                                 field="W0502", external_id=order.order_number)
        seen.add(order.order_number)
        extra = details.get(order.order_number, OrderDetails())
        problems = _problems(order, profile, extra)
        if problems:
            element, message = problems[0]
            raise OrderDataError(f"order {order.order_number}: {message} ({element})",
                                 field=element, external_id=order.order_number)
        bodies.append(order_body(order, profile, extra, purpose))
    return write_interchange(envelope, profile, "OW", bodies)


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------


@dataclass
class _Party:
    code: str
    name: str = ""
    id_code: str = ""
    company: str = ""
    street1: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""

    def address(self) -> Address:
        return Address(self.name, self.company, self.street1, self.street2, self.city,
                       self.state, self.postal_code, self.country, self.phone, self.email)


def _read_party(party: _Party, segment: Segment) -> None:
    if segment.tag == "N2":
        party.company = segment.get(1)
    elif segment.tag == "N3":
        party.street1, party.street2 = segment.get(1), segment.get(2)
    elif segment.tag == "N4":
        party.city, party.state = segment.get(1), segment.get(2)
        party.postal_code, party.country = segment.get(3), segment.get(4)
    elif segment.tag == "PER":
        for n in (3, 5, 7):
            if segment.get(n) == "TE":
                party.phone = segment.get(n + 1)
            elif segment.get(n) == "EM":
                party.email = segment.get(n + 1)


def _read_line(segments: Sequence[Segment], profile: PartnerProfile
               ) -> tuple[ShippingOrderLine | None, SegmentError | None]:
    w01 = next((s for s in segments if s.tag == "W01"), None)
    if w01 is None:
        return None, SegmentError("W01", segments[0].position + 1, "3",
                                  reason=f"LX {segments[0].get(1)} has no W01")
    pairs = [(w01.get(n), w01.get(n + 1)) for n in (4, 6, 15) if w01.get(n + 1)]
    sku = next((v for q, v in pairs if q == profile.product_id_qualifier), "")
    if not sku and not w01.get(3):
        return None, SegmentError("W01", w01.position, "8", elements=(
            ElementError(4, "2", 235),), reason="no product id (R0304)")
    upc = next((v for q, v in pairs if q == profile.upc_qualifier), "")
    name = next((s.get(1) for s in segments if s.tag == "G69"), "")
    number = next((s.get(2) for s in segments
                   if s.tag == "N9" and s.get(1) == profile.line_reference_qualifier), "")
    quantity = parse_decimal(w01.get(1))
    assert quantity is not None  # W0101 M R, checked by the syntax tables
    return ShippingOrderLine(int(number) if number.isdigit() else None, sku or w01.get(3),
                             quantity, w01.get(2), name, upc), None


def read_940_set(transaction_set: TransactionSet, group_control_number: str,
                 delimiters: Delimiters, profile: PartnerProfile) -> SetOutcome[ShippingOrder]:
    """Read one syntactically clean 940 set."""
    segments = transaction_set.segments
    if not segments or segments[0].tag != "W05":
        return SetOutcome(None, (SegmentError("W05", 2, "3", reason="W05 must follow ST"),))
    w05 = segments[0]
    parties: list[_Party] = []
    loops: list[list[Segment]] = []
    header: list[Segment] = []
    summary: list[Segment] = []
    for segment in segments[1:]:
        if segment.tag == "W76" or summary:
            summary.append(segment)
        elif segment.tag == "LX":
            loops.append([segment])
        elif loops:
            loops[-1].append(segment)
        elif segment.tag == "N1":
            parties.append(_Party(segment.get(1), segment.get(2), segment.get(4)))
        elif segment.tag in ("N2", "N3", "N4", "PER") and parties:
            _read_party(parties[-1], segment)
        else:
            header.append(segment)
    errors: list[SegmentError] = []
    lines: list[ShippingOrderLine] = []
    for loop in loops:
        line, error = _read_line(loop, profile)
        if error:
            errors.append(error)
        elif line:
            lines.append(line)
    if errors:
        return SetOutcome(None, tuple(errors))
    by_code = {party.code: party for party in parties}
    ship_to = by_code.get("ST", _Party("ST"))
    depositor = by_code.get("DE", _Party("DE"))
    w66 = next((s for s in header if s.tag == "W66"), Segment("W66", ()))
    method = next((row.code for row in profile.ship_methods
                   if (row.transport_method, row.routing, row.scac)
                   == (w66.get(2), w66.get(5), w66.get(10))), w66.get(5))

    def notes(code: str) -> str:
        return " ".join(s.get(2) for s in header if s.tag == "NTE" and s.get(1) == code)

    w76 = next((s for s in summary if s.tag == "W76"), Segment("W76", ()))
    order = ShippingOrder(
        group_control_number, transaction_set.control_number, w05.get(1), w05.get(2),
        w05.get(3), ship_to.address(), by_code["BT"].address() if "BT" in by_code else None,
        depositor.name, depositor.id_code, by_code["WH"].id_code if "WH" in by_code else "",
        next((s.get(2) for s in header
              if s.tag == "N9" and s.get(1) == profile.customer_order_qualifier), ""),
        tuple((s.get(1), d) for s in header if s.tag == "G62" and (d := parse_date(s.get(2)))),
        notes(profile.note_code), notes(profile.gift_note_code), w66.get(1), w66.get(2),
        w66.get(5), w66.get(10), method, tuple(lines),
        parse_decimal(w76.get(1)) if w76.get(1) else None,
        parse_decimal(w76.get(2)) if w76.get(2) else None, w76.get(3))
    return SetOutcome(order)


def read_940(data: bytes, profile: PartnerProfile | None = None) -> ReadResult[ShippingOrder]:
    """Every 940 set of the interchange in ``data`` (OW groups; other groups are refused)."""
    return read_documents(data, profile or PartnerProfile(), {"OW": read_940_set})

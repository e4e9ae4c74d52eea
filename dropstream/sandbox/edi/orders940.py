"""Reading and checking 940 Warehouse Shipping Orders (specs/x12-warehouse.md §2, §8 row 4).

``check_940`` finds the segment and element errors a 997 reports (AK3/AK4, §5.2): W05 missing,
W66 missing when the profile requires it, W0501 not a code the profile knows, W0502 over 22
characters, W01 quantity/unit missing or invalid, R0304 (W0103 or W0104) and P0405 (W0104 with
W0105). ``read_940`` turns an accepted set into a ``ShippingOrder``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.x12 import Segment, TransactionSet, parse_quantity

# Segments of the 940 table (§2.1); others are "unexpected" (AK304 2).
SEGMENTS_940 = frozenset({
    "W05", "N1", "N2", "N3", "N4", "PER", "N9", "G61", "G62", "NTE", "W09", "W66", "W6", "R2",
    "BNX", "LM", "LQ", "LX", "MAN", "SDQ", "W01", "G69", "W20", "QTY", "AMT", "W76", "FOB",
})
MAX_ORDER_NUMBER = 22  # W0502 AN 1/22


@dataclass
class ElementError:
    """An AK4: element position, data element reference number, code, copy of the bad value."""

    position: int
    reference: str
    code: str
    bad_value: str = ""


@dataclass
class SegmentError:
    """An AK3 (+ its AK4s). ``rejects`` False means "accepted, errors noted" (AK5 E)."""

    tag: str
    position: int
    code: str
    elements: list[ElementError] = field(default_factory=list)
    rejects: bool = True


@dataclass
class OrderLine:
    """One W01 line; ``ref`` is its N9*LI id (else LX01) and names it in the 945."""

    lx: int
    ref: str
    quantity: int
    unit: str
    upc: str
    qualifier: str
    product_id: str
    description: str = ""
    second_qualifier: str = ""
    second_id: str = ""

    @property
    def sku(self) -> str:
        return self.product_id or self.upc


@dataclass
class ShipTo:
    name: str = ""
    address: list[str] = field(default_factory=list)
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass
class ShippingOrder:
    status_code: str
    order_number: str
    po_number: str
    ship_to: ShipTo
    references: list[tuple[str, str]]
    payment: str
    method: str
    routing: str
    scac: str
    lines: list[OrderLine]


def _mandatory(seg: Segment, position: int, reference: str) -> list[ElementError]:
    return [] if seg.get(position) else [ElementError(position, reference, "1")]


def _check_w05(seg: Segment, profile: PartnerProfile) -> list[ElementError]:
    errors = _mandatory(seg, 1, "473") + _mandatory(seg, 2, "324")
    code = seg.get(1)
    if code and code not in (*profile.order_codes, *profile.cancel_codes):
        errors.append(ElementError(1, "473", "7", code))
    if len(seg.get(2)) > MAX_ORDER_NUMBER:
        errors.append(ElementError(2, "324", "5", seg.get(2)))
    if len(seg.get(3)) > MAX_ORDER_NUMBER:
        errors.append(ElementError(3, "324", "5", seg.get(3)))
    return errors


def _check_w66(seg: Segment) -> list[ElementError]:
    return _mandatory(seg, 1, "146") + _mandatory(seg, 2, "91")


def _check_w01(seg: Segment, profile: PartnerProfile) -> list[ElementError]:
    errors = _mandatory(seg, 1, "330") + _mandatory(seg, 2, "355")
    amount = seg.get(1)
    if amount:
        value = parse_quantity(amount)
        if value is None:
            errors.append(ElementError(1, "330", "6", amount))
        elif value <= 0 or value != value.to_integral_value():
            errors.append(ElementError(1, "330", "6", amount))  # whole units only (§2.2)
    unit = seg.get(2)
    if unit and unit not in profile.units:
        errors.append(ElementError(2, "355", "7", unit))
    upc, qualifier, product = seg.get(3), seg.get(4), seg.get(5)
    if upc and len(upc) != 12:
        errors.append(ElementError(3, "438", "4" if len(upc) < 12 else "5", upc))
    if not upc and not qualifier:  # R0304
        errors.append(ElementError(3, "438", "2"))
    if qualifier and not product:  # P0405
        errors.append(ElementError(5, "234", "2"))
    if product and not qualifier:
        errors.append(ElementError(4, "235", "2"))
    if len(product) > 48:
        errors.append(ElementError(5, "234", "5", product))
    if bool(seg.get(6)) != bool(seg.get(7)):  # P0607
        errors.append(ElementError(7 if seg.get(6) else 6, "234" if seg.get(6) else "235", "2"))
    return errors


def check_940(ts: TransactionSet, profile: PartnerProfile) -> list[SegmentError]:
    """The AK3/AK4 errors of one 940 set (positions count ST as 1)."""
    errors: list[SegmentError] = []
    tags = [seg.tag for seg in ts.body]
    end_position = TransactionSet.position_of(len(ts.body))  # where SE is
    if "W05" not in tags:
        errors.append(SegmentError("W05", 2, "3"))
    if profile.require_w66 and "W66" not in tags:
        first_detail = next((i for i, tag in enumerate(tags) if tag in ("LX", "W01", "W76")),
                            len(tags))
        errors.append(SegmentError("W66", TransactionSet.position_of(first_detail), "3"))
    status = next((seg.get(1) for seg in ts.body if seg.tag == "W05"), "")
    if "W01" not in tags and status not in profile.cancel_codes:
        errors.append(SegmentError("W01", end_position, "3"))
    for index, seg in enumerate(ts.body):
        position = TransactionSet.position_of(index)
        if seg.tag == "W05":
            element_errors = _check_w05(seg, profile)
        elif seg.tag == "W66":
            element_errors = _check_w66(seg)
        elif seg.tag == "W01":
            element_errors = _check_w01(seg, profile)
        elif seg.tag not in SEGMENTS_940:
            errors.append(SegmentError(seg.tag, position, "2",
                                       rejects=profile.strict_segments))
            continue
        else:
            continue
        if element_errors:
            errors.append(SegmentError(seg.tag, position, "8", element_errors))
    return errors


def _ship_to(body: list[Segment]) -> ShipTo:
    """The N1*ST loop (N1, N2, N3, N4) of a 940 or an empty ShipTo."""
    ship_to = ShipTo()
    inside = False
    for seg in body:
        if seg.tag == "N1":
            inside = seg.get(1) == "ST"
            if inside:
                ship_to.name = seg.get(2)
        elif not inside:
            continue
        elif seg.tag == "N3":
            ship_to.address.extend(value for value in (seg.get(1), seg.get(2)) if value)
        elif seg.tag == "N4":
            ship_to.city, ship_to.state = seg.get(1), seg.get(2)
            ship_to.postal_code, ship_to.country = seg.get(3), seg.get(4)
        elif seg.tag not in ("N2", "PER"):
            inside = False
    return ship_to


def _lines(body: list[Segment]) -> list[OrderLine]:
    lines: list[OrderLine] = []
    lx = 0
    for seg in body:
        if seg.tag == "LX":
            lx = int(seg.get(1)) if seg.get(1).isdigit() else lx + 1
        elif seg.tag == "W01":
            if not lx or any(line.lx == lx for line in lines):
                lx = max((line.lx for line in lines), default=0) + 1
            amount = parse_quantity(seg.get(1))
            lines.append(OrderLine(lx=lx, ref=str(lx), quantity=int(amount or 0),
                                   unit=seg.get(2), upc=seg.get(3), qualifier=seg.get(4),
                                   product_id=seg.get(5), second_qualifier=seg.get(6),
                                   second_id=seg.get(7)))
        elif seg.tag == "G69" and lines and lines[-1].lx == lx:
            lines[-1].description = seg.get(1)
        elif seg.tag == "N9" and seg.get(1) == "LI" and seg.get(2) and lines \
                and lines[-1].lx == lx:
            lines[-1].ref = seg.get(2)
    return lines


def read_940(ts: TransactionSet) -> ShippingOrder:
    """The order an accepted 940 set carries (call ``check_940`` first)."""
    body = ts.body
    w05 = next(seg for seg in body if seg.tag == "W05")
    w66 = next((seg for seg in body if seg.tag == "W66"), None)
    detail_start = next((i for i, seg in enumerate(body) if seg.tag in ("LX", "W01")), len(body))
    references = [(seg.get(1), seg.get(2)) for seg in body[:detail_start] if seg.tag == "N9"]
    return ShippingOrder(
        status_code=w05.get(1), order_number=w05.get(2), po_number=w05.get(3),
        ship_to=_ship_to(body[:detail_start]), references=references,
        payment=w66.get(1) if w66 else "", method=w66.get(2) if w66 else "",
        routing=w66.get(5) if w66 else "", scac=w66.get(10) if w66 else "",
        lines=_lines(body))

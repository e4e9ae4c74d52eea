"""945 Warehouse Shipping Advice reader (specs/x12-warehouse.md §3; group SW).

``read_945(data, profile)`` returns one ``ShippingAdvice`` per good transaction set and the
refused sets with reasons and 997 findings (see ``acks``). Per set:

- the order reference is W0602 by default – the hub's 940 W0502 (§3.2, §9.3); a partner that
  puts it elsewhere sets ``PartnerProfile.order_reference`` to W0604, W0606 or ``N9:<qualifier>``;
- the ship date is W0603, else the header G62 with qualifier 11 (§3.2, §3.3); neither → refused
  (AK4 W0603 "conditional required data element missing": the guides mark it mandatory);
- the carrier is W2702 (SCAC), the service W2703 (routing), both as sent (§3.2 W27);
- packages (§3.3 "the parser must handle both"): each LX loop's tracking numbers come from the
  profile's ``tracking`` locations (MAN*CP by default; MAN*GM, Infoplus MAN04 = CN, N9*CN, W27
  are presets in ``profile``); when an LX has none, the header's (W27 or N9) apply. Loops with
  the same tracking number are one package (one LX per line); a loop with several MAN is several
  packages: its lines are recorded on the first, the others carry the tracking number only (the
  945 does not say which unit is in which box; a warning says so). A package without any
  tracking number is its LX loop;
- ``WarehouseShipment.key`` is ``<order>:<tracking>``, or without tracking
  ``<order>:<W0604>:<ship date>:LX<n>`` – stable when the warehouse re-sends the same advice, yet
  distinct for the second 945 of a back-order (§3.2 BP), which reuses LX numbers;
- every W12 becomes a ``ShippedItem`` with its W1201 status kept (CC, CP, BP, IC, CU …; unknown
  codes are kept and warned about, §7.6); only units actually shipped go into the package's
  ``WarehouseShipmentLine`` values. The line number is the item's N9*LI (§2.3 echo); the SKU is
  the W12 product id whose qualifier is the profile's (SK), else the first one, with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from dropstream.platforms.base import WarehouseShipment, WarehouseShipmentLine
from dropstream.platforms.x12.acks import ReadResult, SetOutcome, read_documents
from dropstream.platforms.x12.codes import (
    BACKORDER_STATUSES,
    CANCELED_STATUSES,
    SHIPMENT_STATUSES,
    describe,
)
from dropstream.platforms.x12.envelope import (
    Delimiters,
    ElementError,
    Segment,
    SegmentError,
    TransactionSet,
    parse_date,
    parse_decimal,
)
from dropstream.platforms.x12.profile import PartnerProfile, TrackingLocation

HEADER_ONCE = ("W06", "W27", "W03")


@dataclass(frozen=True, slots=True)
class ShippedItem:
    """One W12: what happened to one line, whatever was shipped (§3.2 W12)."""

    line_number: int | None
    sku: str
    status: str  # W1201 as sent
    quantity_shipped: int
    quantity_ordered: Decimal | None = None
    quantity_difference: Decimal | None = None
    unit: str = ""
    package_key: str = ""  # the WarehouseShipment.key it was packed in, '' when none
    lot: str = ""

    @property
    def status_text(self) -> str:
        return describe(SHIPMENT_STATUSES, self.status)

    @property
    def canceled(self) -> bool:
        """The line (IC, CU) – or, with CP, the part not shipped – will not ship."""
        return self.status in CANCELED_STATUSES

    @property
    def backordered(self) -> bool:
        """BP: the remainder is still open and a later 945 is expected."""
        return self.status in BACKORDER_STATUSES


@dataclass(frozen=True, slots=True)
class ShippingAdvice:
    """One 945 transaction set."""

    group_control_number: str
    set_control_number: str
    reporting_code: str  # W0601
    order_number: str  # the hub's 940 W0502 (profile.order_reference)
    ship_date: date
    warehouse_shipment_id: str  # W0604
    po_number: str  # W0606
    transport_method: str  # W2701
    carrier: str  # W2702 SCAC
    service: str  # W2703 routing
    payment_method: str  # W2704
    bill_of_lading: str  # N9*BM
    shipments: tuple[WarehouseShipment, ...]
    items: tuple[ShippedItem, ...]
    total_units: Decimal | None = None  # W0301
    weight: Decimal | None = None  # W0302
    weight_unit: str = ""  # W0303
    warnings: tuple[str, ...] = ()


@dataclass
class _Loop:
    lx: Segment
    before_items: list[Segment]
    items: list[tuple[Segment, list[Segment]]]


@dataclass
class _Package:
    tracking: str
    lines: list[WarehouseShipmentLine] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    extra: bool = False  # a further MAN of a multi-package LX: kept even without lines


def _matches(segment: Segment, location: TrackingLocation) -> str:
    if segment.tag != location.segment:
        return ""
    if location.qualifier_element and segment.get(location.qualifier_element) != location.qualifier:
        return ""
    return segment.get(location.value_element)


def _tracking(segments: Sequence[Segment], profile: PartnerProfile) -> list[str]:
    found: list[str] = []
    for segment in segments:
        for location in profile.tracking:
            value = _matches(segment, location)
            if value and value not in found:
                found.append(value)
    return found


def _structure(segments: Sequence[Segment]) -> tuple[list[Segment], list[_Loop], list[Segment],
                                                     list[SegmentError]]:
    header: list[Segment] = []
    loops: list[_Loop] = []
    summary: list[Segment] = []
    errors: list[SegmentError] = []
    for segment in segments:
        if summary:
            if segment.tag in ("LX", "W12"):
                errors.append(SegmentError(segment.tag, segment.position, "7",
                                           reason="detail segment after the W03 summary"))
            else:
                summary.append(segment)
        elif segment.tag == "W03":
            summary.append(segment)
        elif segment.tag == "LX":
            loops.append(_Loop(segment, [], []))
        elif not loops:
            if segment.tag == "W12":
                errors.append(SegmentError("W12", segment.position, "2",
                                           reason="W12 outside an LX loop"))
            else:
                header.append(segment)
        elif segment.tag == "W12":
            loops[-1].items.append((segment, []))
        elif loops[-1].items:
            loops[-1].items[-1][1].append(segment)
        else:
            loops[-1].before_items.append(segment)
    return header, loops, summary, errors


def _order_reference(w06: Segment, header: Sequence[Segment],
                     profile: PartnerProfile) -> tuple[str, SegmentError | None]:
    choice = profile.order_reference
    if choice.startswith("N9:"):
        qualifier = choice[3:]
        value = next((s.get(2) for s in header if s.tag == "N9" and s.get(1) == qualifier), "")
        error = None if value else SegmentError(
            "N9", w06.position + 1, "3",
            reason=f"no N9*{qualifier} carries the order reference")
        return value, error
    number = {"W0602": 2, "W0604": 4, "W0606": 6}.get(choice, 2)
    value = w06.get(number)
    error = None if value else SegmentError(
        "W06", w06.position, "8", elements=(ElementError(number, "2", 324),),
        reason=f"{choice} (the order reference) is empty")
    return value, error


def _whole(value: Decimal | None) -> int | None:
    if value is None or value < 0 or value != value.to_integral_value():
        return None
    return int(value)


def _product(w12: Segment, profile: PartnerProfile, warnings: list[str]) -> str:
    pairs = [(w12.get(q), w12.get(q + 1)) for q in (7, 17, 21) if w12.get(q + 1)]
    for qualifier, value in pairs:
        if qualifier == profile.product_id_qualifier:
            return value
    if pairs:
        warnings.append(f"W12 at position {w12.position}: product id qualifier {pairs[0][0]!r}, "
                        f"the profile expects {profile.product_id_qualifier}; read as the SKU")
        return pairs[0][1]
    if w12.get(6):
        warnings.append(f"W12 at position {w12.position} names the item by U.P.C. case code "
                        "only; read as the SKU")
        return w12.get(6)
    return ""


def _item(w12: Segment, after: Sequence[Segment], profile: PartnerProfile,
          warnings: list[str]) -> tuple[ShippedItem | None, SegmentError | None]:
    status = w12.get(1)
    if status not in SHIPMENT_STATUSES:
        warnings.append(f"W12 at position {w12.position} has status {status!r}, which the hub "
                        "does not know; kept as sent")
    sku = _product(w12, profile, warnings)
    if not sku:
        return None, SegmentError("W12", w12.position, "8",
                                  elements=(ElementError(7, "2", 235),),
                                  reason="no product id (W1207/W1208 or W1206)")
    ordered = parse_decimal(w12.get(2)) if w12.get(2) else None
    if w12.get(3):
        shipped = _whole(parse_decimal(w12.get(3)))
        if shipped is None:
            return None, SegmentError("W12", w12.position, "8",
                                      elements=(ElementError(3, "6", 382, None, w12.get(3)),),
                                      reason=f"shipped quantity {w12.get(3)} is not a whole "
                                             "number of units")
    elif status in CANCELED_STATUSES:
        shipped = 0
    elif status == "CC" and _whole(ordered) is not None:
        shipped = _whole(ordered)
    else:
        return None, SegmentError("W12", w12.position, "8", elements=(ElementError(3, "2", 382),),
                                  reason="no number of units shipped")
    line_number: int | None = None
    for segment in after:
        if segment.tag == "N9" and segment.get(1) == profile.line_reference_qualifier:
            if segment.get(2).isdigit():
                line_number = int(segment.get(2))
            else:
                warnings.append(f"N9*{profile.line_reference_qualifier} at position "
                                f"{segment.position} is not a line number: {segment.get(2)!r}")
            break
    return ShippedItem(line_number, sku, status, shipped or 0, ordered,
                       parse_decimal(w12.get(4)) if w12.get(4) else None, w12.get(5),
                       lot=w12.get(9)), None


def _once_errors(segments: Sequence[Segment]) -> list[SegmentError]:
    errors = []
    seen: set[str] = set()
    for segment in segments:
        if segment.tag in HEADER_ONCE:
            if segment.tag in seen:
                errors.append(SegmentError(segment.tag, segment.position, "5"))
            seen.add(segment.tag)
    return errors


def read_945_set(transaction_set: TransactionSet, group_control_number: str,
                 delimiters: Delimiters, profile: PartnerProfile) -> SetOutcome[ShippingAdvice]:
    """Read one syntactically clean 945 set."""
    segments = transaction_set.segments
    if not segments or segments[0].tag != "W06":
        later = next((s for s in segments if s.tag == "W06"), None)
        error = (SegmentError("W06", later.position, "7", reason="W06 must follow ST")
                 if later else SegmentError("W06", 2, "3", reason="the W06 segment is missing"))
        return SetOutcome(None, (error,))
    w06 = segments[0]
    header, loops, summary, errors = _structure(segments)
    errors += _once_errors(header) + _once_errors(summary)
    if not any(s.tag == "N1" for s in header):
        errors.append(SegmentError("N1", w06.position + 1, "3",
                                   reason="the 945 needs at least one N1 party (§3.1)"))
    order_number, problem = _order_reference(w06, header, profile)
    if problem:
        errors.append(problem)
    shipped_on = parse_date(w06.get(3)) or next(
        (parse_date(s.get(2)) for s in header
         if s.tag == "G62" and s.get(1) == profile.shipped_date_qualifier), None)
    if shipped_on is None:
        errors.append(SegmentError("W06", w06.position, "8",
                                   elements=(ElementError(3, "2", 373),),
                                   reason="no ship date in W0603 or G62*"
                                          f"{profile.shipped_date_qualifier}"))
    warnings: list[str] = []
    raw_items: list[tuple[_Loop, ShippedItem]] = []
    for loop in loops:
        for w12, after in loop.items:
            item, item_error = _item(w12, after, profile, warnings)
            if item_error:
                errors.append(item_error)
            elif item:
                raw_items.append((loop, item))
    if errors or shipped_on is None:
        return SetOutcome(None, tuple(errors))

    w27 = next((s for s in header if s.tag == "W27"), Segment("W27", ()))
    header_tracking = _tracking(header, profile)
    reference = w06.get(4)
    packages: dict[str, _Package] = {}
    keys_by_loop: dict[int, str] = {}
    for loop in loops:
        tracking = _tracking(loop.before_items, profile) or header_tracking
        if tracking:
            key = f"{order_number}:{tracking[0]}"
        else:
            parts = [order_number, reference, shipped_on.strftime("%Y%m%d"), f"LX{loop.lx.get(1)}"]
            key = ":".join(part for part in parts if part)
        keys_by_loop[id(loop)] = key
        packages.setdefault(key, _Package(tracking[0] if tracking else "")).rows.append(
            loop.lx.index)
        if len(tracking) > 1:
            warnings.append(f"LX {loop.lx.get(1)} lists {len(tracking)} packages; its lines are "
                            f"recorded on {tracking[0]}, the others carry their tracking only")
            for extra in tracking[1:]:
                package = packages.setdefault(f"{order_number}:{extra}", _Package(extra))
                package.rows.append(loop.lx.index)
                package.extra = True
    items: list[ShippedItem] = []
    for loop, item in raw_items:
        key = keys_by_loop[id(loop)]
        if item.quantity_shipped > 0:
            packages[key].lines.append(WarehouseShipmentLine(item.line_number, item.sku,
                                                             item.quantity_shipped))
        items.append(ShippedItem(item.line_number, item.sku, item.status, item.quantity_shipped,
                                 item.quantity_ordered, item.quantity_difference, item.unit,
                                 key if item.quantity_shipped > 0 else "", item.lot))
    w03 = next((s for s in summary if s.tag == "W03"), Segment("W03", ()))
    weight = parse_decimal(w03.get(2)) if w03.get(2) else None
    shown = {key: package for key, package in packages.items() if package.lines or package.extra}
    shipments = tuple(
        WarehouseShipment(key=key, order_number=order_number, carrier=w27.get(2),
                          service=w27.get(3), tracking_number=package.tracking,
                          ship_date=shipped_on, lines=tuple(package.lines),
                          warehouse_shipment_id=reference,
                          weight=weight if len(shown) == 1 else None,
                          source_rows=tuple(package.rows))
        for key, package in shown.items())
    bill = next((s.get(2) for s in header if s.tag == "N9" and s.get(1) == "BM"), "")
    advice = ShippingAdvice(
        group_control_number, transaction_set.control_number, w06.get(1), order_number,
        shipped_on, reference, w06.get(6), w27.get(1), w27.get(2), w27.get(3), w27.get(4), bill,
        shipments, tuple(items), parse_decimal(w03.get(1)) if w03.get(1) else None, weight,
        w03.get(3), tuple(warnings))
    return SetOutcome(advice)


def read_945(data: bytes, profile: PartnerProfile | None = None) -> ReadResult[ShippingAdvice]:
    """Every 945 set of the interchange in ``data`` (SW groups; other groups are refused)."""
    return read_documents(data, profile or PartnerProfile(), {"SW": read_945_set})

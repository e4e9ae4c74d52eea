"""846 Inventory Inquiry/Advice reader (specs/x12-warehouse.md §4; group IB).

``read_846(data, profile)`` returns one ``InventoryReport`` per good transaction set (a partner
with more than 10,000 SKUs splits a report into several sets, §4.1 – the caller merges them):

- ``report_id`` is BIA03 (de-duplicate on it), ``report_date``/``report_time`` BIA04/BIA05 and
  ``as_of`` the header DTM with the profile's qualifier (007, §4.3) or else BIA04/BIA05, so a
  caller can refuse a report older than the last one applied (§8.10). Times are naive, as sent;
- the facility is the N104 (else N102) of the header N1 whose N101 is ``WH`` (§4.2); an N1
  inside a LIN loop switches the facility for the QTY segments after it (per-location
  quantities, §4.1);
- the SKU is the LIN product id whose qualifier is the profile's (SK, §6), else the first pair
  (with a warning);
- ``available`` is QTY*33 and ``on_hand`` QTY*17 (profile qualifiers, §4.2, §9.4). When only
  on-hand is sent, available = on-hand and the SKU is listed in ``on_hand_only``: the hub
  subtracts the orders not yet confirmed by a 945 (§4.3). Negative quantities are kept (the store
  side clamps at 0, §4.2); a fractional quantity refuses the set (AK4 6), a non-numeric one with
  QTY04 free text is skipped with a warning;
- ``full_snapshot`` copies the profile's flag (full by default, §4.2): X12 has no element for it;
- CTT01 must equal the number of LIN and CTT02, when sent, the sum of every QTY02 (§4.2);
  a mismatch refuses the set (AK3 CTT, code 8): the report may be incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from dropstream.platforms.base import InventoryLevel
from dropstream.platforms.x12.acks import ReadResult, SetOutcome, read_documents
from dropstream.platforms.x12.envelope import (
    Delimiters,
    ElementError,
    Segment,
    SegmentError,
    TransactionSet,
    parse_date,
    parse_decimal,
    parse_time,
)
from dropstream.platforms.x12.profile import PartnerProfile


@dataclass(frozen=True, slots=True)
class InventoryReport:
    """One 846 transaction set."""

    group_control_number: str
    set_control_number: str
    purpose: str  # BIA01: 00 original, 05 replace
    report_type: str  # BIA02: SI, MB, DD …
    report_id: str  # BIA03
    report_date: date  # BIA04
    report_time: time | None  # BIA05
    as_of: datetime  # DTM (profile.as_of_qualifier) when sent, else BIA04 + BIA05
    facility: str
    levels: tuple[InventoryLevel, ...]
    on_hand_only: tuple[str, ...] = ()  # SKUs whose available quantity is their on-hand
    full_snapshot: bool = True  # profile.full_snapshot: the report (all its sets) lists every SKU
    warnings: tuple[str, ...] = ()


def _facility(segment: Segment, profile: PartnerProfile) -> str | None:
    if segment.tag == "N1" and segment.get(1) == profile.warehouse_entity:
        return segment.get(4) or segment.get(2)
    return None


def _sku(lin: Segment, profile: PartnerProfile, warnings: list[str]) -> str:
    pairs = [(lin.get(n), lin.get(n + 1)) for n in range(2, 31, 2) if lin.get(n + 1)]
    for qualifier, value in pairs:
        if qualifier == profile.product_id_qualifier:
            return value
    warnings.append(f"LIN at position {lin.position}: product id qualifier {pairs[0][0]!r}, the "
                    f"profile expects {profile.product_id_qualifier}; read as the SKU")
    return pairs[0][1]


def _split(segments: Sequence[Segment]) -> tuple[list[Segment], list[list[Segment]],
                                                 list[Segment]]:
    header: list[Segment] = []
    loops: list[list[Segment]] = []
    summary: list[Segment] = []
    for segment in segments:
        if segment.tag == "CTT" or summary:
            summary.append(segment)
        elif segment.tag == "LIN":
            loops.append([segment])
        elif loops:
            loops[-1].append(segment)
        else:
            header.append(segment)
    return header, loops, summary


def _as_of(header: Sequence[Segment], bia: Segment, profile: PartnerProfile) -> datetime:
    report_date = parse_date(bia.get(4))
    assert report_date is not None  # checked by the syntax tables (BIA04 M DT)
    for segment in header:
        if segment.tag == "DTM" and segment.get(1) == profile.as_of_qualifier:
            day = parse_date(segment.get(2))
            if day is not None:
                return datetime.combine(day, parse_time(segment.get(3)) or time())
    return datetime.combine(report_date, parse_time(bia.get(5)) or time())


def _totals_errors(summary: Sequence[Segment], lin_count: int,
                   quantity_sum: Decimal) -> list[SegmentError]:
    ctt = next((s for s in summary if s.tag == "CTT"), None)
    if ctt is None:
        return []
    errors = []
    if ctt.get(1) != str(lin_count):
        errors.append(SegmentError("CTT", ctt.position, "8",
                                   reason=f"CTT01 says {ctt.get(1)} line items, the set has "
                                          f"{lin_count} LIN"))
    hashed = parse_decimal(ctt.get(2)) if ctt.get(2) else None
    if hashed is not None and hashed != quantity_sum:
        errors.append(SegmentError("CTT", ctt.position, "8",
                                   reason=f"CTT02 hash total {ctt.get(2)} is not the sum of the "
                                          f"QTY02 values ({quantity_sum})"))
    return errors


def read_846_set(transaction_set: TransactionSet, group_control_number: str,
                 delimiters: Delimiters, profile: PartnerProfile) -> SetOutcome[InventoryReport]:
    """Read one syntactically clean 846 set."""
    segments = transaction_set.segments
    if not segments or segments[0].tag != "BIA":
        later = next((s for s in segments if s.tag == "BIA"), None)
        error = (SegmentError("BIA", later.position, "7", reason="BIA must follow ST")
                 if later else SegmentError("BIA", 2, "3", reason="the BIA segment is missing"))
        return SetOutcome(None, (error,))
    bia = segments[0]
    header, loops, summary = _split(segments)
    errors: list[SegmentError] = [SegmentError(s.tag, s.position, "5")
                                  for s in segments[1:] if s.tag == "BIA"]
    errors += [SegmentError("CTT", s.position, "5") for s in summary[1:] if s.tag == "CTT"]
    if not loops:
        errors.append(SegmentError("LIN", summary[0].position if summary else bia.position + 1,
                                   "3", reason="an 846 needs at least one LIN"))
    facility = next((f for f in (_facility(s, profile) for s in header) if f is not None), "")
    warnings: list[str] = []
    found: dict[tuple[str, str], dict[str, int]] = {}
    quantity_sum = Decimal(0)
    for loop in loops:
        sku = _sku(loop[0], profile, warnings)
        here = facility
        for segment in loop[1:]:
            switched = _facility(segment, profile)
            if switched is not None:
                here = switched
            if segment.tag != "QTY":
                continue
            value = parse_decimal(segment.get(2)) if segment.get(2) else None
            if value is None:
                warnings.append(f"QTY at position {segment.position} for {sku} has no numeric "
                                f"quantity ({segment.get(4)!r}); skipped")
                continue
            quantity_sum += value
            if value != value.to_integral_value():
                errors.append(SegmentError("QTY", segment.position, "8", elements=(
                    ElementError(2, "6", 380, None, segment.get(2)),),
                    reason=f"quantity {segment.get(2)} for {sku} is not a whole number"))
                continue
            quantities = found.setdefault((sku, here), {})
            if segment.get(1) in quantities:
                warnings.append(f"{sku} at {here or 'the facility'} has QTY*{segment.get(1)} "
                                "twice; the last one is used")
            quantities[segment.get(1)] = int(value)
    errors += _totals_errors(summary, len(loops), quantity_sum)
    if errors:
        return SetOutcome(None, tuple(errors))
    levels: list[InventoryLevel] = []
    on_hand_only: list[str] = []
    for (sku, here), quantities in found.items():
        available = quantities.get(profile.available_qualifier)
        on_hand = quantities.get(profile.on_hand_qualifier)
        if available is None and on_hand is None:
            warnings.append(f"{sku} has neither QTY*{profile.available_qualifier} nor "
                            f"QTY*{profile.on_hand_qualifier}; skipped")
            continue
        if available is None:
            on_hand_only.append(sku)
        levels.append(InventoryLevel(sku=sku, available=available if available is not None
                                     else on_hand or 0, on_hand=on_hand, facility=here))
    report_date = parse_date(bia.get(4))
    assert report_date is not None
    report = InventoryReport(
        group_control_number, transaction_set.control_number, bia.get(1), bia.get(2),
        bia.get(3), report_date, parse_time(bia.get(5)) if bia.get(5) else None,
        _as_of(header, bia, profile), facility, tuple(levels), tuple(on_hand_only),
        profile.full_snapshot, tuple(warnings))
    return SetOutcome(report)


def read_846(data: bytes, profile: PartnerProfile | None = None) -> ReadResult[InventoryReport]:
    """Every 846 set of the interchange in ``data`` (IB groups; other groups are refused)."""
    return read_documents(data, profile or PartnerProfile(), {"IB": read_846_set})

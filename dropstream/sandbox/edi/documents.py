"""The documents the simulated warehouse writes: 945 shipping advices and 846 inventory reports.

945 (specs/x12-warehouse.md §3, §3.3 sample): W06 (W0602 = the 940's W0502), N1*SF, the ship-to
N1/N3/N4 echoed from the 940, N9*BM bill of lading, G62*11 ship date, W27 carrier (SCAC in
W2702), then the detail loop and W03 totals. Detail per profile ``lx_per``:

* ``package`` (§9.2 default): one LX per package, its tracking segment, then a W12 + N9*LI per
  line in the box (W1203 = units in that box); lines that shipped nothing (IC, or BP with no
  unit now) come last under one LX with no tracking;
* ``line``: one LX per line, one tracking segment per package carrying it, then its W12 + N9*LI.

W12: W1201 status (CC, CP, BP, IC), W1202 quantity still open when this 945 was decided (the
ordered quantity in the first 945; the back-ordered rest in a follow-up), W1203 shipped,
W1204 = W1202 − units of the line shipped in this 945, W1205 unit, W1206 UPC, W1207/W1208 the
940's product id pair. Tracking per ``tracking_location``: ``MAN*CP*<no>`` (default),
``MAN*GM*<no>``, Infoplus-style ``MAN*2*<SCAC>**CN*<no>``, or ``W27_ONLY`` (no tracking at all,
just the carrier in W27).

846 (§4, §4.3 sample): BIA*00*<type>*<BIA03>*<date>*<time>, DTM*007, N1*WH, then per SKU
LIN**SK*<sku>[*UP*<upc>], PID*F****<description>, QTY*33 and/or QTY*17 with EA, and CTT
(CTT01 = LIN count, CTT02 = sum of QTY02; a fault adds one to CTT01). Split into several sets,
each set's BIA03 is the report id plus ``-1``, ``-2``… so every set stays unique.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.x12 import OutgoingSet, Segment, quantity, segment


@dataclass
class ShippedLine:
    """One line of a 945: how much was open, how much shipped, with which status."""

    ref: str
    lx: int
    status: str
    ordered: int
    shipped: int
    unit: str
    upc: str
    qualifier: str
    product_id: str


@dataclass
class Package:
    tracking: str
    weight: float
    items: list[list[Any]] = field(default_factory=list)  # [line ref, units]


@dataclass
class Shipment:
    """Everything one 945 says; stored in the state as a dict (``to_dict``/``from_dict``)."""

    order_number: str
    po_number: str
    shipment_id: str
    bol: str
    ship_date: str  # CCYYMMDD
    ship_to: dict[str, Any]
    method: str
    scac: str
    routing: str
    payment: str
    lines: list[ShippedLine] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shipment:
        values = dict(data)
        values["lines"] = [ShippedLine(**line) for line in data["lines"]]
        values["packages"] = [Package(**package) for package in data["packages"]]
        return cls(**values)

    @property
    def units(self) -> int:
        return sum(line.shipped for line in self.lines)


def _tracking_segments(package: Package, scac: str, location: str) -> list[Segment]:
    if location == "MAN_CP":
        return [segment("MAN", "CP", package.tracking)]
    if location == "MAN_GM":
        return [segment("MAN", "GM", package.tracking)]
    if location == "MAN04_CN":
        return [segment("MAN", "2", scac, "", "CN", package.tracking)]
    return []  # W27_ONLY


def _w12(line: ShippedLine, units: int) -> list[Segment]:
    return [segment("W12", line.status, quantity(line.ordered), quantity(units),
                    quantity(line.ordered - line.shipped), line.unit, line.upc, line.qualifier,
                    line.product_id),
            segment("N9", "LI", line.ref)]


def _detail_per_package(shipment: Shipment, location: str) -> list[Segment]:
    by_ref = {line.ref: line for line in shipment.lines}
    body: list[Segment] = []
    number = 0
    for package in shipment.packages:
        number += 1
        body.append(segment("LX", number))
        body.extend(_tracking_segments(package, shipment.scac, location))
        for ref, units in package.items:
            body.extend(_w12(by_ref[ref], units))
    packed = {ref for package in shipment.packages for ref, _ in package.items}
    unpacked = [line for line in shipment.lines if line.ref not in packed]
    if unpacked:
        body.append(segment("LX", number + 1))
        for line in unpacked:
            body.extend(_w12(line, 0))
    return body


def _detail_per_line(shipment: Shipment, location: str) -> list[Segment]:
    body: list[Segment] = []
    for number, line in enumerate(shipment.lines, start=1):
        body.append(segment("LX", number))
        for package in shipment.packages:
            if any(ref == line.ref for ref, _ in package.items):
                body.extend(_tracking_segments(package, shipment.scac, location))
        body.extend(_w12(line, line.shipped))
    return body


def build_945(shipment: Shipment, profile: PartnerProfile) -> list[Segment]:
    """The body (between ST and SE) of the 945 for ``shipment``."""
    ship_to = shipment.ship_to
    address = list(ship_to.get("address") or [])[:2]
    body = [segment("W06", "F", shipment.order_number, shipment.ship_date, shipment.shipment_id,
                    "", shipment.po_number),
            segment("N1", "SF", profile.facility_name, "ZZ", profile.facility_code)]
    if ship_to.get("name"):
        body.append(segment("N1", "ST", ship_to["name"]))
        if address:
            body.append(segment("N3", *address))
        if any(ship_to.get(key) for key in ("city", "state", "postal_code", "country")):
            body.append(segment("N4", ship_to.get("city", ""), ship_to.get("state", ""),
                                ship_to.get("postal_code", ""), ship_to.get("country", "")))
    body += [segment("N9", "BM", shipment.bol), segment("G62", "11", shipment.ship_date),
             segment("W27", shipment.method, shipment.scac, shipment.routing, shipment.payment)]
    if profile.lx_per == "package":
        body += _detail_per_package(shipment, profile.tracking_location)
    else:
        body += _detail_per_line(shipment, profile.tracking_location)
    weight = round(sum(package.weight for package in shipment.packages), 1)
    if shipment.packages:
        body.append(segment("W03", quantity(shipment.units), quantity(weight), "LB"))
    else:
        body.append(segment("W03", quantity(shipment.units)))
    return body


@dataclass
class InventoryItem:
    sku: str
    available: int
    on_hand: int
    upc: str = ""
    description: str = ""


def _846_set(items: list[InventoryItem], report_id: str, as_of: datetime,
             profile: PartnerProfile, wrong_ctt: bool) -> list[Segment]:
    moment = as_of.astimezone(UTC)
    day, time = moment.strftime("%Y%m%d"), moment.strftime("%H%M")
    body = [segment("BIA", "00", profile.report_type, report_id, day, time),
            segment("DTM", "007", day, time),
            segment("N1", "WH", profile.facility_name, "ZZ", profile.facility_code)]
    total = 0
    for item in items:
        ids = ["SK", item.sku] + (["UP", item.upc] if item.upc else [])
        body.append(segment("LIN", "", *ids))
        if item.description:
            body.append(segment("PID", "F", "", "", "", item.description))
        for code in profile.qty_codes:
            value = item.available if code == "33" else item.on_hand
            body.append(segment("QTY", code, quantity(value), "EA"))
            total += value
    body.append(segment("CTT", len(items) + (1 if wrong_ctt else 0), quantity(total)))
    return body


def build_846(items: list[InventoryItem], report_id: str, as_of: datetime,
              profile: PartnerProfile, *, wrong_ctt: bool = False) -> list[OutgoingSet]:
    """The 846 set(s) of one full snapshot; several when ``skus_per_846_set`` splits it."""
    size = profile.skus_per_846_set or max(1, len(items))
    chunks = [items[start:start + size] for start in range(0, len(items), size)] or [[]]
    if len(chunks) == 1:
        return [OutgoingSet("846", _846_set(chunks[0], report_id, as_of, profile, wrong_ctt))]
    return [OutgoingSet("846", _846_set(chunk, f"{report_id}-{part}", as_of, profile, wrong_ctt))
            for part, chunk in enumerate(chunks, start=1)]

"""What the codec read, in the hub's values: 945 → shipments and cancellations, 846 → levels,
997 → per-order outcomes, and a read interchange's problems in words."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dropstream.platforms.base import InventoryLevel, WarehouseCancellation, WarehouseShipment
from dropstream.platforms.x12.acks import GroupAck, ReadResult
from dropstream.platforms.x12.codes import ACCEPTED, ACK_CODES, describe
from dropstream.platforms.x12.w846 import InventoryReport
from dropstream.platforms.x12.w945 import ShippingAdvice

# W2702 SCAC → the carrier name stores know; an unknown SCAC is passed on as it is.
CARRIERS: Mapping[str, str] = {
    "UPSN": "UPS", "UPSS": "UPS", "UPGF": "UPS", "FDEG": "FedEx", "FDE": "FedEx",
    "FDEN": "FedEx", "FXFE": "FedEx", "USPS": "USPS", "DHLC": "DHL", "DHL": "DHL",
    "CNPR": "Canada Post", "PRLA": "Purolator", "ONTR": "OnTrac", "LSO": "Lone Star Overnight"}


def carrier_name(scac: str) -> str:
    return CARRIERS.get(scac.strip().upper(), scac.strip())


def shipments_of(advices: Iterable[ShippingAdvice]
                 ) -> tuple[list[WarehouseShipment], list[WarehouseCancellation]]:
    """One hub shipment per package (MAN tracking), carrier from W27; an advice that ships
    nothing and cancels every line (W12 IC) is the warehouse canceling the order."""
    shipments: list[WarehouseShipment] = []
    cancellations: list[WarehouseCancellation] = []
    for advice in advices:
        for shipment in advice.shipments:
            shipments.append(dataclasses.replace(shipment,
                                                 carrier=carrier_name(shipment.carrier)))
        if not advice.shipments and advice.items and all(item.canceled and
                                                         item.quantity_shipped == 0
                                                         for item in advice.items):
            cancellations.append(WarehouseCancellation(
                advice.order_number, "the warehouse's 945 canceled every line (" +
                ", ".join(sorted({item.status for item in advice.items})) + ")"))
    return shipments, cancellations


def levels_of(reports: Sequence[InventoryReport]) -> tuple[list[InventoryLevel],
                                                          datetime | None]:
    """Every level of the file's 846 sets (a report split in several sets is merged) and the
    newest as-of time stated (naive X12 times are taken as UTC)."""
    levels: dict[tuple[str, str], InventoryLevel] = {}
    for report in reports:
        for level in report.levels:
            levels[(level.sku, level.facility)] = level
    stated = [report.as_of if report.as_of.tzinfo else report.as_of.replace(tzinfo=UTC)
              for report in reports]
    return list(levels.values()), max(stated) if stated else None


def problems_of(result: ReadResult[Any]) -> list[str]:
    """Why (part of) an inbound interchange was refused, in words, one line each."""
    found = [f"interchange: {reason}" for reason in result.reasons]
    for ack in result.acknowledgments:
        if ack.code not in ACCEPTED:
            for message in ack.messages():
                found.append(f"group {ack.control_number}: {message}")
    for rejected in result.rejected:
        found.append(f"group {rejected.group_control_number} set {rejected.control_number} "
                     f"({rejected.set_id}): " + "; ".join(rejected.reasons or ("refused",)))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Outcome:
    """What one 997 says about the 940 interchange it answers."""

    accepted: tuple[tuple[str, str], ...]  # (order number, message) for A and E sets
    rejected: tuple[tuple[str, str], ...]  # (order number, reason) for refused sets
    whole: str = ""  # the whole interchange refused, with no set named: the reason
    unnamed: str = ""  # a verdict the hub cannot pin on orders (e.g. P with no AK2): said so


def outcome_of(ack: GroupAck, orders: Sequence[str], first_st: int = 1) -> Outcome:
    """Match AK2 loops (AK202 = our ST02) to the orders of the interchange, in ST02 order."""
    by_control = {f"{first_st + index:04d}": number for index, number in enumerate(orders)}
    group = describe(ACK_CODES, ack.code)
    accepted: list[tuple[str, str]] = []
    rejected: list[tuple[str, str]] = []
    named: set[str] = set()
    for set_ack in ack.sets:
        number = by_control.get(set_ack.control_number.zfill(4))
        if number is None:
            continue
        named.add(number)
        details = "; ".join(set_ack.messages())
        if set_ack.code in ACCEPTED:
            if set_ack.code == "A":
                accepted.append((number, f"The warehouse's 997 accepted it (group "
                                         f"{ack.control_number})."))
            else:
                accepted.append((number, f"The warehouse's 997 accepted it with errors noted: "
                                         f"{details or 'no detail given'} (group "
                                         f"{ack.control_number}, set {set_ack.control_number})."))
        else:
            rejected.append((number, f"the warehouse's 997 rejected it ({set_ack.text}"
                                     f"{': ' + details if details else ''}; group "
                                     f"{ack.control_number}, set {set_ack.control_number})"))
    rest = [number for number in orders if number not in named]
    if not rest:
        return Outcome(tuple(accepted), tuple(rejected))
    if ack.code in ACCEPTED:
        text = "accepted it" if ack.code == "A" else "accepted it with errors noted"
        accepted += [(number, f"The warehouse's 997 {text} (group {ack.control_number}).")
                     for number in rest]
        return Outcome(tuple(accepted), tuple(rejected))
    reasons = "; ".join(ack.messages()) or group
    if ack.code == "P":
        return Outcome(tuple(accepted), tuple(rejected),
                       unnamed=f"the warehouse's 997 partially accepted group "
                               f"{ack.control_number} without naming every set ({reasons})")
    if not accepted and not rejected:
        return Outcome((), (), whole=f"its 997 rejected group {ack.control_number}: {reasons}")
    rejected += [(number, f"the warehouse's 997 rejected group {ack.control_number}: "
                          f"{reasons}") for number in rest]
    return Outcome(tuple(accepted), tuple(rejected))

"""One trading partner as the settings describe it: its ``PartnerProfile``, the envelope of
what the hub sends it, and the names of the hub's files (specs/x12-warehouse.md §1, §6, §9)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dropstream.platforms.base import WarehouseOrder
from dropstream.platforms.x12.envelope import Envelope, Interchange
from dropstream.platforms.x12.profile import (
    MAN04_CN,
    MAN_CP,
    MAN_GM,
    N9_CN,
    W27_EQUIPMENT,
    PartnerProfile,
    TrackingLocation,
)

ORDER_PREFIX = "940_"
ACK_PREFIX = "997_"
SHIPMENT_PREFIX = "945"
INVENTORY_PREFIX = "846"
SUFFIX = ".edi"
TRACKING: Mapping[str, TrackingLocation] = {
    "MAN_CP": MAN_CP, "MAN_GM": MAN_GM, "MAN04_CN": MAN04_CN, "N9_CN": N9_CN,
    "W27": W27_EQUIPMENT}
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Partner:
    """The cleaned settings of one X12 warehouse connection, as the adapter uses them."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    group_sender: str
    group_receiver: str
    usage: str
    first_control_number: int
    profile: PartnerProfile

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Partner:
        parties = tuple(code for code in str(settings.get("parties") or "ST,DE").split(",")
                        if code)
        hours = float(settings.get("ack_overdue_hours") or 2.0)
        location = TRACKING.get(str(settings.get("tracking_location") or "MAN_CP"), MAN_CP)
        available = str(settings.get("available_qualifier") or "33")
        profile = PartnerProfile(
            name=str(settings.get("receiver_id") or "X12 partner"),
            gs08_version=str(settings.get("gs_version") or "004010"),
            product_id_qualifier=str(settings.get("product_id_qualifier") or "SK"),
            parties=parties,
            depositor_name=str(settings.get("depositor_name") or ""),
            depositor_id=str(settings.get("depositor_id") or ""),
            w66_required=bool(settings.get("w66_required", True)),
            order_reference=str(settings.get("order_reference") or "W0602"),
            tracking=(location,),
            available_qualifier=available,
            on_hand_qualifier="17" if available == "33" else "33",
            ack_due_hours=hours)
        return cls(
            sender_qualifier=str(settings.get("sender_qualifier") or "ZZ"),
            sender_id=str(settings.get("sender_id") or ""),
            receiver_qualifier=str(settings.get("receiver_qualifier") or "ZZ"),
            receiver_id=str(settings.get("receiver_id") or ""),
            group_sender=str(settings.get("group_sender") or ""),
            group_receiver=str(settings.get("group_receiver") or ""),
            usage=str(settings.get("usage_indicator") or "T"),
            first_control_number=int(settings.get("first_control_number") or 1),
            profile=profile)

    def envelope(self, interchange: int, group: int, created_at: datetime) -> Envelope:
        return Envelope(sender_id=self.sender_id, receiver_id=self.receiver_id,
                        interchange_control_number=interchange, group_control_number=group,
                        created_at=created_at, usage=self.usage,
                        sender_qualifier=self.sender_qualifier,
                        receiver_qualifier=self.receiver_qualifier,
                        group_sender=self.group_sender, group_receiver=self.group_receiver)

    def foreign(self, interchange: Interchange) -> str:
        """Why an inbound interchange is not from this partner to us ('' when it is)."""
        if not interchange.delimiters:
            return ""
        if interchange.sender_id.strip() != self.receiver_id:
            return (f"ISA06 {interchange.sender_id.strip()!r} is not the partner "
                    f"({self.receiver_id})")
        if interchange.receiver_id.strip() != self.sender_id:
            return f"ISA08 {interchange.receiver_id.strip()!r} is not us ({self.sender_id})"
        if interchange.usage != self.usage:
            return (f"ISA15 {interchange.usage!r}: this connection exchanges "
                    f"{'test' if self.usage == 'T' else 'production'} data ({self.usage})")
        return ""


def order_file_name(orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
    """``940_<first order number>_<YYMMDDHHMMSS>.edi``: the submission key and the file name.

    Derived from the batch, not from a control number, so a re-send after a crash goes under
    the same name and ``submitted`` finds an earlier upload (docs/x12-warehouse.md).
    """
    if not orders:
        raise ValueError("a submission needs at least one order")
    stem = _UNSAFE.sub("-", orders[0].order_number).strip("-")[:40] or "orders"
    return f"{ORDER_PREFIX}{stem}_{created_at:%y%m%d%H%M%S}{SUFFIX}"


def ack_file_name(interchange: int, created_at: datetime) -> str:
    """``997_<ISA13>_<YYYYMMDDHHMMSS>.edi`` (the spec's §6 pattern)."""
    return f"{ACK_PREFIX}{interchange:09d}_{created_at:%Y%m%d%H%M%S}{SUFFIX}"

"""Shared test data: the spec's samples, the sample order, and a tiny independent X12 writer.

The writer here is deliberately not the codec's: it lets the tests produce 945/846 files with
other delimiters (``|``, ``^``, a newline terminator …) and damaged envelopes, the way a
warehouse would, without trusting the code under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from dropstream.platforms.base import Address, WarehouseOrder, WarehouseOrderLine
from dropstream.platforms.x12.envelope import Envelope
from dropstream.platforms.x12.profile import PartnerProfile, ShipMethod
from dropstream.platforms.x12.w940 import OrderDetails

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    """A sample interchange copied from specs/x12-warehouse.md (``940``, ``945``, ``846``,
    ``997_accept``, ``997_reject``)."""
    return (SAMPLES / f"sample_{name}.edi").read_bytes()


def sample_lines(name: str) -> list[str]:
    return [line.rstrip("~") for line in sample(name).decode("ascii").splitlines()]


SAMPLE_PROFILE = PartnerProfile(
    name="Sample 3PL", depositor_name="Acme Outdoor Co", depositor_id="ACME",
    ship_methods=(ShipMethod("UPS_GROUND", "U", "UPS Ground", "UPSN"),))

SAMPLE_ORDER = WarehouseOrder(
    order_number="HUB-100234",
    ordered_at=datetime(2026, 3, 5, 9, 15),
    ship_to=Address(name="Jane Buyer", street1="12 Harbor Street", street2="Apt 4B",
                    city="Portland", state="OR", postal_code="97209", country="US",
                    phone="5035550142", email="jane@example.com"),
    bill_to=None,
    ship_method="UPS_GROUND",
    lines=(WarehouseOrderLine(1, "TENT-4P-GRN", 2, Decimal("199.00"), "Four person tent green"),
           WarehouseOrderLine(2, "STOVE-01", 1, Decimal("49.50"), "Camp stove")),
    customer_notes="Leave at back door",
    po_number="PO-77812",
)

SAMPLE_DETAILS = {"HUB-100234": OrderDetails(
    customer_order_number="BS-1043", requested_ship_date=date(2026, 3, 6),
    weight=Decimal("14.2"), upcs={"STOVE-01": "012345678905"})}

SAMPLE_ENVELOPE = Envelope(sender_id="HUBSENDER", receiver_id="WHSRECEIVER",
                           interchange_control_number=101, group_control_number=5001,
                           created_at=datetime(2026, 3, 5, 14, 32), usage="T",
                           acknowledgment_requested="1")


def warehouse_envelope(interchange: int, group: int) -> Envelope:
    """The envelope of the §5.3 sample 997s (the warehouse acknowledging the hub)."""
    return Envelope(sender_id="WHSRECEIVER", receiver_id="HUBSENDER",
                    interchange_control_number=interchange, group_control_number=group,
                    created_at=datetime(2026, 3, 5, 14, 32), usage="T",
                    acknowledgment_requested="1")


# --------------------------------------------------------------------------------------------
# A tiny independent writer
# --------------------------------------------------------------------------------------------

Seg = Sequence[str]


def isa(element: str = "*", component: str = ">", *, control: str = "000002201",
        sender: str = "WHSRECEIVER", receiver: str = "HUBSENDER") -> str:
    """The 105 characters of an ISA (no terminator)."""
    return element.join(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ",
                         receiver.ljust(15), "260305", "1432", "U", "00401", control, "0", "T",
                         component])


def build(sets: Sequence[Sequence[Seg]], *, functional_id: str = "SW", set_id: str = "945",
          element: str = "*", component: str = ">", terminator: str = "~", suffix: str = "\n",
          group_control: str = "7301", control: str = "000002201") -> bytes:
    """An interchange with one group holding ``sets`` (each a list of body segments)."""
    segments: list[Seg] = [["GS", functional_id, "WHSRECEIVER", "HUBSENDER", "20260305", "1432",
                            group_control, "X", "004010"]]
    for number, body in enumerate(sets, start=1):
        st02 = f"{number:04d}"
        segments += [["ST", set_id, st02], *body, ["SE", str(len(body) + 2), st02]]
    segments += [["GE", str(len(sets)), group_control], ["IEA", "1", control]]
    text = isa(element, component, control=control) + terminator + suffix
    for values in segments:
        parts = list(values)
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        text += element.join(parts) + terminator + suffix
    return text.encode("ascii")


def body_of(name: str) -> list[list[str]]:
    """The segments between ST and SE of a single-set sample, split on ``*``."""
    lines = sample_lines(name)
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    return [line.split("*") for line in lines[start + 1:end]]


def replace_line(data: bytes, old: str, new: str) -> bytes:
    """``data`` with the one line ``old`` (without terminator) replaced by ``new``."""
    text = data.decode("ascii")
    assert text.count(old + "~") == 1, old
    return text.replace(old + "~", new + "~" if new else "", 1).replace("\n\n", "\n").encode()

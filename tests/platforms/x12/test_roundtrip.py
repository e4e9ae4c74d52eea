"""Property-based round trips (specs/x12-warehouse.md §7):

- generated orders (text full of delimiters, line breaks, controls and non-ASCII) → 940 →
  ``read_940`` give back the same order data after the documented cleaning, and the bytes
  always form a valid envelope;
- 945 and 846 files written by the tests' own tiny writer with other delimiters read back equal.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st

from dropstream.platforms.base import (
    Address,
    InventoryLevel,
    WarehouseOrder,
    WarehouseOrderLine,
    WarehouseShipment,
    WarehouseShipmentLine,
)
from dropstream.platforms.x12.envelope import (
    clean_text,
    identifier_problem,
    parse_interchange,
    profile_delimiters,
)
from dropstream.platforms.x12.inbound import read_inbound
from dropstream.platforms.x12.profile import PartnerProfile
from dropstream.platforms.x12.w846 import read_846
from dropstream.platforms.x12.w940 import order_problems, read_940, write_940
from dropstream.platforms.x12.w945 import read_945
from dropstream.platforms.x12.w997 import write_997
from tests.platforms.x12.helpers import SAMPLE_ENVELOPE, build, sample

# Modest in CI; X12_EXAMPLES=1000 for a longer local run.
FEW = settings(max_examples=int(os.environ.get("X12_EXAMPLES", "40")), deadline=None,
               database=None)

NASTY = st.sampled_from(list("*~>|^`\n\r\t\x00\x1c\x7f \u00a0\u2028éßØÆœ王😀\"'&@#"))
TEXT = st.text(alphabet=st.one_of(NASTY, st.characters(exclude_categories=("Cs",))),
               max_size=70)
IDENT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./",  # also X12 basic characters
                min_size=1, max_size=22)
PROFILES = st.sampled_from([
    PartnerProfile(name="default", depositor_name="Acme Outdoor Co", depositor_id="ACME"),
    PartnerProfile(name="pipes", element_separator="|", component_separator="^",
                   segment_terminator="\n", segment_suffix="", parties=("ST", "BT")),
    PartnerProfile(name="basic", character_set="basic", segment_suffix="\r\n", max_notes=2),
])


@st.composite
def lines(draw) -> tuple[WarehouseOrderLine, ...]:
    skus = draw(st.lists(IDENT, min_size=1, max_size=4, unique=True))
    return tuple(WarehouseOrderLine(number, sku, draw(st.integers(1, 10**6)), 0, draw(TEXT))
                 for number, sku in enumerate(skus, start=1))


@st.composite
def addresses(draw) -> Address:
    return Address(
        name=draw(st.sampled_from(["Jo", "Zoë", "Łukasz", "王"])) + draw(TEXT),
        company=draw(TEXT), street1="1" + draw(TEXT), street2=draw(TEXT),
        city="Po" + draw(TEXT), state="OR", postal_code=draw(st.sampled_from(["97209", ""])),
        country="US", phone=draw(TEXT),
        email=draw(st.sampled_from(["", "a@b.example", "x*y@z.example", "ü@x.example"])))


@st.composite
def orders(draw) -> list[WarehouseOrder]:
    numbers = draw(st.lists(IDENT, min_size=1, max_size=3, unique=True))
    return [WarehouseOrder(
        order_number=number, ordered_at=datetime(2026, 3, draw(st.integers(1, 31)), 8),
        ship_to=draw(addresses()), bill_to=draw(st.none() | addresses()),
        ship_method="S" + draw(TEXT), lines=draw(lines()), customer_notes=draw(TEXT),
        gift_message=draw(st.text(max_size=250)), po_number=draw(st.just("") | IDENT))
        for number in numbers]


def expected_address(address: Address, profile: PartnerProfile, email: str) -> Address:
    def text(value: str, high: int) -> str:
        return clean_text(value, high, profile)

    return Address(text(address.name, 60), text(address.company, 60), text(address.street1, 55),
                   text(address.street2, 55), text(address.city, 30), address.state,
                   address.postal_code, address.country, text(address.phone, 80), email)


def squeeze(text: str) -> str:
    return text.replace(" ", "")


def assert_valid_envelope(data: bytes, profile: PartnerProfile, count: int) -> None:
    delimiters = profile_delimiters(profile)
    assert data.decode("ascii").index(delimiters.segment) == 105  # ISA is 106 characters
    interchange = parse_interchange(data)
    assert interchange.ok, interchange.reasons
    [group] = interchange.groups
    assert group.ok and group.included == count
    assert all(s.ok for s in group.sets)


@FEW
@given(orders(), PROFILES)
def test_orders_survive_the_940_after_the_documented_cleaning(batch, profile):
    for order in batch:
        assert order_problems(order, profile) == []
    data = write_940(batch, SAMPLE_ENVELOPE, profile)
    assert_valid_envelope(data, profile, len(batch))
    result = read_940(data, profile)
    assert result.ok, result.rejected
    assert len(result.documents) == len(batch)
    for order, read in zip(batch, result.documents, strict=True):
        assert (read.order_number, read.po_number) == (order.order_number, order.po_number)
        email = (order.ship_to.email if not identifier_problem(order.ship_to.email, "", 80,
                                                               profile) else "")
        phone_or_mail = email or clean_text(order.ship_to.phone, 80, profile)
        expected = expected_address(order.ship_to, profile, email)
        if not phone_or_mail:
            expected = dataclasses.replace(expected, phone="")
        assert read.ship_to == expected
        if "BT" in profile.parties and order.bill_to is not None:
            assert read.bill_to == expected_address(
                dataclasses.replace(order.bill_to, phone=""), profile, "")
        else:
            assert read.bill_to is None
        assert read.ship_method == clean_text(order.ship_method, 35, profile)
        assert read.dates == (("10", order.ordered_at.date()),)
        notes = clean_text(order.customer_notes, None, profile)
        gift = clean_text(order.gift_message, None, profile)
        if profile.max_notes is None:
            assert squeeze(read.notes) == squeeze(notes)
            assert squeeze(read.gift_message) == squeeze(gift)
            if all(len(word) <= 80 for word in notes.split(" ")):
                assert read.notes == notes
        assert [(line.line_number, line.sku, line.quantity, line.unit, line.name)
                for line in read.lines] == [
            (line.line_number, line.sku, line.quantity, "EA", clean_text(line.name, 45, profile))
            for line in order.lines]
        assert read.total_quantity == sum(line.quantity for line in order.lines)


# -- 945 and 846 from the tests' own writer, other delimiters ----------------------------------

DELIMITERS = st.sampled_from([("*", ">", "~", "\n"), ("|", "^", "\n", ""),
                              ("^", "|", "~", "\r\n"), ("!", ":", "'", "")])
SAFE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh0123456789-./ ", min_size=1,
               max_size=30).map(str.strip).filter(bool)
CODE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)
DATES = st.dates(date(2000, 1, 1), date(2099, 12, 31))


@st.composite
def advices(draw):
    order = draw(CODE)
    trackings = draw(st.lists(CODE, min_size=1, max_size=4, unique=True))
    numbers = iter(range(1, 100))
    packages = [(tracking, [(next(numbers), draw(CODE), draw(st.sampled_from(["CC", "CP", "BP"])),
                             draw(st.integers(1, 10**6)))
                            for _ in range(draw(st.integers(1, 3)))]) for tracking in trackings]
    return order, draw(DATES), draw(CODE), draw(st.sampled_from(["UPSN", "FDEG", "USPS"])), \
        draw(SAFE), packages


@FEW
@given(advices(), DELIMITERS)
def test_945_round_trip(advice, delimiters):
    order, shipped_on, shipment_id, scac, service, packages = advice
    body = [["W06", "F", order, shipped_on.strftime("%Y%m%d"), shipment_id],
            ["N1", "SF", "Warehouse", "ZZ", "LAX1"], ["W27", "U", scac, service]]
    for number, (tracking, items) in enumerate(packages, start=1):
        body += [["LX", str(number)], ["MAN", "CP", tracking]]
        for line, sku, status, shipped in items:
            body += [["W12", status, str(shipped + 1), str(shipped), "1", "EA", "", "SK", sku],
                     ["N9", "LI", str(line)]]
    body.append(["W03", str(sum(q for _, items in packages for *_, q in items))])
    element, component, terminator, suffix = delimiters
    result = read_945(build([body], element=element, component=component,
                            terminator=terminator, suffix=suffix))
    assert result.ok, result.rejected
    [read] = result.documents
    assert (read.order_number, read.ship_date, read.carrier, read.service) == (
        order, shipped_on, scac, service)
    assert [dataclasses.replace(s, source_rows=()) for s in read.shipments] == [
        WarehouseShipment(key=f"{order}:{tracking}", order_number=order, carrier=scac,
                          service=service, tracking_number=tracking, ship_date=shipped_on,
                          lines=tuple(WarehouseShipmentLine(line, sku, q)
                                      for line, sku, _, q in items),
                          warehouse_shipment_id=shipment_id)
        for tracking, items in packages]
    assert [(i.line_number, i.status) for i in read.items] == [
        (line, status) for _, items in packages for line, _, status, _ in items]


@st.composite
def reports(draw):
    skus = draw(st.lists(CODE, min_size=1, max_size=8, unique=True))
    levels = [(sku, draw(st.integers(-50, 10**6)), draw(st.none() | st.integers(0, 10**6)))
              for sku in skus]
    return draw(CODE), draw(DATES), draw(st.times()), draw(CODE.filter(lambda c: len(c) > 1)), \
        levels


@FEW
@given(reports(), DELIMITERS)
def test_846_round_trip(report, delimiters):
    report_id, day, at, facility, levels = report
    body = [["BIA", "00", "SI", report_id, day.strftime("%Y%m%d"), at.strftime("%H%M%S")],
            ["N1", "WH", "Warehouse", "ZZ", facility]]
    total = 0
    for sku, available, on_hand in levels:
        body += [["LIN", "", "SK", sku], ["QTY", "33", str(available), "EA"]]
        total += available
        if on_hand is not None:
            body.append(["QTY", "17", str(on_hand), "EA"])
            total += on_hand
    body.append(["CTT", str(len(levels)), str(total)])
    element, component, terminator, suffix = delimiters
    data = build([body], functional_id="IB", set_id="846", element=element,
                 component=component, terminator=terminator, suffix=suffix)
    result = read_846(data)
    assert result.ok, result.rejected
    [read] = result.documents
    assert (read.report_id, read.report_date, read.facility) == (report_id, day, facility)
    assert read.as_of == datetime.combine(day, time(at.hour, at.minute, at.second))
    assert read.levels == tuple(InventoryLevel(sku, available, on_hand, facility)
                                for sku, available, on_hand in levels)


# -- garbage never crashes the reader, and its findings can always be acknowledged -----------------

SAMPLE_NAMES = ("940", "945", "846", "997_accept", "997_reject")
BYTES = st.sampled_from([b"*", b"~", b">", b"|", b"\n", b"\r", b"A", b"0", b" ", b"\xff", b"\xc3"])


@st.composite
def damaged(draw) -> bytes:
    data = bytearray(sample(draw(st.sampled_from(SAMPLE_NAMES))))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "replace":
            data[at:at + 1] = draw(BYTES)
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        else:
            data[at:at] = draw(BYTES)
    return bytes(data)


@FEW
@given(damaged())
def test_damaged_files_give_reasons_never_exceptions(data):
    result = read_inbound(data)
    if result.ok:
        return
    assert result.reasons or result.rejected or any(a.code != "A"
                                                    for a in result.acknowledgments)
    if result.acknowledgments:
        answer = write_997(result.acknowledgments, SAMPLE_ENVELOPE)
        assert parse_interchange(answer).ok

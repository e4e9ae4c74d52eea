"""The 940 writer, validator and reader (specs/x12-warehouse.md §2, §7)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from dropstream.platforms.base import Address, WarehouseOrderLine
from dropstream.platforms.errors import OrderDataError
from dropstream.platforms.x12.envelope import X12EnvelopeError, parse_interchange
from dropstream.platforms.x12.profile import PartnerProfile, ShipMethod
from dropstream.platforms.x12.w940 import (
    OrderDetails,
    order_problems,
    read_940,
    write_940,
)
from tests.platforms.x12.helpers import (
    SAMPLE_DETAILS,
    SAMPLE_ENVELOPE,
    SAMPLE_ORDER,
    SAMPLE_PROFILE,
    sample,
)


def write(*orders, profile=SAMPLE_PROFILE, details=SAMPLE_DETAILS, envelope=SAMPLE_ENVELOPE,
          **kwargs) -> bytes:
    return write_940(orders or (SAMPLE_ORDER,), envelope, profile, details=details, **kwargs)


def body_lines(data: bytes) -> list[str]:
    return data.decode("ascii").splitlines()


def with_ship_to(**changes) -> object:
    return dataclasses.replace(SAMPLE_ORDER, ship_to=dataclasses.replace(SAMPLE_ORDER.ship_to,
                                                                         **changes))


# -- the sample ---------------------------------------------------------------------------------


def test_the_sample_order_reproduces_the_spec_sample_byte_for_byte():
    assert write() == sample("940")


def test_the_sample_is_one_interchange_with_valid_counts():
    data = write()
    lines = body_lines(data)
    assert len(lines[0]) == 106
    assert lines[-3:] == ["SE*21*0001~", "GE*1*5001~", "IEA*1*000000101~"]
    assert parse_interchange(data).ok


def test_two_orders_make_two_sets_counting_up_from_the_callers_st02():
    second = dataclasses.replace(SAMPLE_ORDER, order_number="HUB-100235", po_number="")
    envelope = dataclasses.replace(SAMPLE_ENVELOPE, first_set_control_number=41)
    lines = body_lines(write(SAMPLE_ORDER, second, envelope=envelope))
    assert [line for line in lines if line.startswith(("ST*", "SE*", "GE*", "W05*"))] == [
        "ST*940*0041~", "W05*N*HUB-100234*PO-77812~", "SE*21*0041~",
        "ST*940*0042~", "W05*N*HUB-100235~", "SE*20*0042~", "GE*2*5001~"]


def test_cancel_uses_the_profiles_status_code():
    lines = body_lines(write(purpose="cancel"))
    assert lines[3] == "W05*F*HUB-100234*PO-77812~"


def test_without_details_the_order_date_is_the_ship_date_and_no_upc_weight_or_n9_co():
    lines = body_lines(write(details={}))
    assert "G62*10*20260305~" in lines
    assert "W01*1*EA**SK*STOVE-01~" in lines
    assert "W76*3~" in lines
    assert not [line for line in lines if line.startswith("N9*CO")]


def test_an_unmapped_ship_method_goes_as_routing_text_when_the_table_is_empty():
    order = dataclasses.replace(SAMPLE_ORDER, ship_method="FedEx Home")
    lines = body_lines(write(order, profile=PartnerProfile(), details={}))
    assert "W66*PP*U***FedEx Home~" in lines
    assert not [line for line in lines if line.startswith("N1*DE")]  # no depositor configured


def test_bill_to_and_facility_parties_when_the_profile_lists_them():
    order = dataclasses.replace(SAMPLE_ORDER, facility="LAX1", bill_to=Address(
        name="Acme AP", street1="1 Main St", city="Seattle", state="WA", postal_code="98101",
        country="US"))
    profile = dataclasses.replace(SAMPLE_PROFILE, parties=("ST", "BT", "WH"))
    lines = body_lines(write(order, profile=profile))
    assert lines[3:13] == [
        "W05*N*HUB-100234*PO-77812~", "N1*ST*Jane Buyer~", "N3*12 Harbor Street*Apt 4B~",
        "N4*Portland*OR*97209*US~", "PER*IC*Jane Buyer*TE*5035550142*EM*jane@example.com~",
        "N1*BT*Acme AP~", "N3*1 Main St~", "N4*Seattle*WA*98101*US~", "N1*WH**ZZ*LAX1~",
        "N9*CO*BS-1043~"]


def test_other_delimiters_and_no_newline():
    profile = dataclasses.replace(SAMPLE_PROFILE, element_separator="|", component_separator="^",
                                  segment_terminator="\n", segment_suffix="")
    data = write(profile=profile)
    assert data.startswith(b"ISA|00|          |00|")
    assert data[104:106] == b"^\n"
    assert b"W66|PP|U|||UPS Ground|||||UPSN\n" in data
    read = read_940(data, profile)
    assert read.ok and read.documents[0].order_number == "HUB-100234"


# -- cleaning -----------------------------------------------------------------------------------


def test_free_text_loses_delimiters_controls_and_accents_and_is_cut_to_length():
    order = dataclasses.replace(
        with_ship_to(name="Zoë *Ångström* ~ Straße", street1="12 Harbor\nStreet > 3",
                     street2="x" * 70, company="Løvås & Søn", phone="+49 (30) 1234\t567"),
        customer_notes="Ring twice~then wait\r\nthank you | ^ ok",
        lines=(WarehouseOrderLine(1, "TENT-4P-GRN", 2, Decimal("1"), "Tent “4P” — green"),))
    lines = body_lines(write(order, details={}))
    assert lines[4:9] == [
        "N1*ST*Zoe Angstrom Strasse~", "N2*Lovas & Son~", f"N3*12 Harbor Street 3*{'x' * 55}~",
        "N4*Portland*OR*97209*US~",
        "PER*IC*Zoe Angstrom Strasse*TE*+49 (30) 1234 567*EM*jane@example.com~"]
    assert "NTE*WHI*Ring twice then wait thank you | ok~" in lines
    assert "G69*Tent \"4P\" - green~" in lines


def test_characters_without_an_ascii_form_become_question_marks():
    order = with_ship_to(name="王小明", street1="1 Main St 😀")
    lines = body_lines(write(order, details={}))
    assert "N1*ST*???~" in lines
    assert "N3*1 Main St ?*Apt 4B~" in lines


def test_a_long_note_is_split_into_80_character_notes_and_the_profile_limit_applies():
    words = " ".join(f"word{n:02d}" for n in range(30))  # 30 × 6 + 29 spaces = 209 characters
    order = dataclasses.replace(SAMPLE_ORDER, customer_notes=words, gift_message="Happy day")
    notes = [line for line in body_lines(write(order)) if line.startswith("NTE")]
    assert notes == [f"NTE*WHI*{' '.join(f'word{n:02d}' for n in range(0, 11))}~",
                     f"NTE*WHI*{' '.join(f'word{n:02d}' for n in range(11, 22))}~",
                     f"NTE*WHI*{' '.join(f'word{n:02d}' for n in range(22, 30))}~",
                     "NTE*GEN*Happy day~"]
    assert all(len(note) <= len("NTE*WHI*~") + 80 for note in notes)
    one = dataclasses.replace(SAMPLE_PROFILE, max_notes=1)
    assert [line for line in body_lines(write(order, profile=one)) if line.startswith("NTE")] \
        == notes[:1]


def test_basic_character_set_upper_cases_text_and_drops_the_email():
    profile = dataclasses.replace(SAMPLE_PROFILE, character_set="basic")
    lines = body_lines(write(with_ship_to(name="Jane Buyer [home]"), profile=profile))
    assert "N1*ST*JANE BUYER ?HOME?~" in lines
    assert "PER*IC*JANE BUYER ?HOME?*TE*5035550142~" in lines
    assert "N1*DE*ACME OUTDOOR CO*ZZ*ACME~" in lines


def test_an_email_with_a_delimiter_is_left_out():
    lines = body_lines(write(with_ship_to(email="ja*ne@example.com")))
    assert "PER*IC*Jane Buyer*TE*5035550142~" in lines


def test_us_iso_state_with_country_prefix_is_read_as_the_two_letters():
    lines = body_lines(write(with_ship_to(state="US-OR")))
    assert "N4*Portland*OR*97209*US~" in lines


# -- refusals -----------------------------------------------------------------------------------


def test_order_problems_lists_every_problem_in_plain_words():
    order = dataclasses.replace(
        SAMPLE_ORDER, order_number="HUB-" + "9" * 20, po_number="PO~1", ship_method="",
        ship_to=Address(name="Jane", street1="1 Main", city="P", country="US",
                        postal_code="97209"),
        lines=(WarehouseOrderLine(1, "TENT*4P", 0, Decimal("1")),
               WarehouseOrderLine(1, "SKÜ", 1, Decimal("1"))))
    assert order_problems(order, SAMPLE_PROFILE) == [
        f"order reference 'HUB-{'9' * 20}' is longer than 22 characters",
        "PO number 'PO~1' contains the X12 delimiter '~'",
        "ship-to city is required (2 to 30 characters)",
        "ship-to state is required for X12 partner Sample 3PL",
        "ship method is required for X12 partner Sample 3PL",
        "line 1 SKU 'TENT*4P' contains the X12 delimiter '*'",
        "line 1 has quantity 0; it must be 1 or more (at most 15 digits)",
        "line 1 SKU 'SKÜ' contains 'Ü', which is not in the X12 extended character set",
        "line number 1 must be 1 or more and unique in the order",
    ]


def test_a_valid_order_has_no_problems():
    assert order_problems(SAMPLE_ORDER, SAMPLE_PROFILE, SAMPLE_DETAILS["HUB-100234"]) == []


def test_state_is_optional_outside_the_profiles_countries_but_must_be_two_letters():
    abroad = with_ship_to(state="", country="GB", postal_code="SW1A 1AA")
    assert order_problems(abroad, SAMPLE_PROFILE) == []
    assert order_problems(with_ship_to(state="Oregon"), SAMPLE_PROFILE) == [
        "ship-to state 'Oregon' is longer than 2 characters (N402 is a 2-letter code)"]


def test_unknown_ship_method_when_the_profile_has_a_table():
    order = dataclasses.replace(SAMPLE_ORDER, ship_method="DHL_EXPRESS")
    assert order_problems(order, SAMPLE_PROFILE) == [
        "ship method 'DHL_EXPRESS' is not in the ship-method table of X12 partner Sample 3PL"]


def test_w66_can_be_optional():
    profile = dataclasses.replace(SAMPLE_PROFILE, w66_required=False)
    order = dataclasses.replace(SAMPLE_ORDER, ship_method="")
    assert order_problems(order, profile) == []
    assert not [line for line in body_lines(write(order, profile=profile)) if "W66" in line]


def test_the_writer_refuses_the_order_naming_it_and_the_element():
    bad = dataclasses.replace(SAMPLE_ORDER, order_number="HUB-" + "1" * 19)
    good = dataclasses.replace(SAMPLE_ORDER, order_number="HUB-1")
    with pytest.raises(OrderDataError) as caught:
        write(good, bad)
    assert caught.value.field == "W0502"
    assert caught.value.external_id == bad.order_number
    assert str(caught.value) == (f"order {bad.order_number}: order reference "
                                 f"'{bad.order_number}' is longer than 22 characters (W0502)")


def test_the_same_order_twice_is_refused():
    with pytest.raises(OrderDataError, match="appears twice"):
        write(SAMPLE_ORDER, SAMPLE_ORDER)


def test_a_store_order_number_longer_than_n902_is_refused():
    details = {"HUB-100234": OrderDetails(customer_order_number="S" * 31)}
    with pytest.raises(OrderDataError) as caught:
        write(details=details)
    assert caught.value.field == "N9*CO N902"


def test_no_orders_and_bad_envelopes_are_refused():
    with pytest.raises(ValueError, match="at least one order"):
        write_940([], SAMPLE_ENVELOPE)
    bad = dataclasses.replace(SAMPLE_ENVELOPE, sender_id="A-SENDER-ID-TOO-LONG",
                              interchange_control_number=0, usage="X")
    with pytest.raises(X12EnvelopeError) as caught:
        write(envelope=bad)
    assert str(caught.value) == (
        "ISA06 sender id 'A-SENDER-ID-TOO-LONG' is longer than 15 characters; "
        "GS02 application sender 'A-SENDER-ID-TOO-LONG' is longer than 15 characters; "
        "ISA15 usage indicator must be P or T, not 'X'; "
        "ISA13 interchange control number must be between 1 and 999999999, not 0")


def test_delimiters_that_cannot_work_are_refused():
    profile = dataclasses.replace(SAMPLE_PROFILE, element_separator="A", component_separator="*")
    with pytest.raises(X12EnvelopeError, match="'A' is not a usable delimiter"):
        write(profile=profile)


# -- reader -------------------------------------------------------------------------------------


def test_the_reader_gives_back_the_sample_order():
    [order] = read_940(sample("940"), SAMPLE_PROFILE).documents
    assert order.order_number == "HUB-100234"
    assert order.po_number == "PO-77812"
    assert order.ship_to == Address(name="Jane Buyer", street1="12 Harbor Street",
                                    street2="Apt 4B", city="Portland", state="OR",
                                    postal_code="97209", country="US", phone="5035550142",
                                    email="jane@example.com")
    assert (order.depositor_name, order.depositor_id) == ("Acme Outdoor Co", "ACME")
    assert order.customer_order_number == "BS-1043"
    assert order.dates == (("10", date(2026, 3, 6)),)
    assert order.notes == "Leave at back door"
    assert (order.payment_method, order.transport_method, order.routing, order.scac,
            order.ship_method) == ("PP", "U", "UPS Ground", "UPSN", "UPS_GROUND")
    assert [(line.line_number, line.sku, line.quantity, line.unit, line.name, line.upc)
            for line in order.lines] == [
        (1, "TENT-4P-GRN", Decimal(2), "EA", "Four person tent green", ""),
        (2, "STOVE-01", Decimal(1), "EA", "Camp stove", "012345678905")]
    assert (order.total_quantity, order.weight, order.weight_unit) == (Decimal(3),
                                                                       Decimal("14.2"), "LB")


def test_the_ship_method_table_maps_back_only_exact_rows():
    profile = dataclasses.replace(SAMPLE_PROFILE, ship_methods=(
        ShipMethod("UPS_GROUND", "U", "UPS Ground", "UPSX"),))
    [order] = read_940(sample("940"), profile).documents
    assert order.ship_method == "UPS Ground"

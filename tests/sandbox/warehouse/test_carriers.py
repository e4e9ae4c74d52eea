"""Ship-method codes → carrier and service; tracking numbers with real shapes and check digits."""

from __future__ import annotations

import random

import pytest

from dropstream.sandbox.warehouse.carriers import (
    carrier_for,
    fedex_check_digit,
    mod10_check_digit,
    tracking_number,
    ups_check_digit,
)


@pytest.mark.parametrize(("code", "expected"), [
    ("UPS Ground", ("UPS", "Ground")),
    ("UPS_NEXT_DAY_AIR", ("UPS", "Next Day Air")),
    ("FedEx 2Day", ("FedEx", "2Day")),
    ("FEDEX_GROUND", ("FedEx", "Ground")),
    ("USPS Priority", ("USPS", "Priority")),
    ("usps", ("USPS", "Ground Advantage")),
    ("Canada Post Expedited Parcel", ("Canada Post", "Expedited Parcel")),
    ("DHL Express", ("DHL", "Express")),
    ("Ground", ("UPS", "Ground")),
    ("UPSX Fast", ("UPS", "UPSX Fast")),  # a prefix of a word is not a carrier
    ("", ("UPS", "Ground")),
])
def test_it_maps_ship_method_codes_to_a_carrier_and_service(code, expected):
    assert carrier_for(code) == expected


def test_unknown_codes_ship_with_the_configured_default_and_overrides_come_first():
    assert carrier_for("Standard", default_carrier="FedEx") == ("FedEx", "Standard")
    assert carrier_for("BEST", overrides={"BEST": ("DHL", "Economy")}) == ("DHL", "Economy")


def test_tracking_numbers_have_each_carriers_shape_and_check_digit():
    rng = random.Random(3)
    for _ in range(50):
        ups = tracking_number("UPS", "Ground", rng)
        assert len(ups) == 18 and ups.startswith("1Z") and ups[8:10] == "03"
        assert ups[-1] == ups_check_digit(ups[2:-1])
        fedex = tracking_number("FedEx", "Ground", rng)
        assert len(fedex) == 12 and fedex.isdigit()
        assert fedex[-1] == fedex_check_digit(fedex[:-1])
        usps = tracking_number("USPS", "Priority", rng)
        assert len(usps) == 22 and usps.startswith("9405511")
        assert usps[-1] == mod10_check_digit(usps[:-1])
        canada = tracking_number("Canada Post", "Regular Parcel", rng)
        assert len(canada) == 16 and canada.isdigit()


def test_the_ups_check_digit_matches_the_well_known_example():
    # 1Z 999 AA1 01 2345 678 4, the sample number UPS documentation uses.
    assert ups_check_digit("999AA1012345678") == "4"

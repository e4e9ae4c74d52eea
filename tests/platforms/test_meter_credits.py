"""Seam: ``platforms.charge`` reports what a credit-metered remote charged for a request to a
meter that wants to know (``DbMeter.charged``); a sink without it is left alone."""

from __future__ import annotations

import pytest

from dropstream.metering.meter import DbMeter
from dropstream.platforms.base import charge, discard_meter

pytestmark = pytest.mark.django_db


def test_credits_charged_are_summed_per_endpoint_by_the_run_meter():
    meter = DbMeter(channel="sales_order", billed=False)
    charge(meter, "POST /graphql order_create", 10)
    charge(meter, "POST /graphql order_create", 10)
    charge(meter, "POST /graphql orders", 3)
    charge(meter, "POST /graphql orders", 0)
    charge(discard_meter, "POST /graphql orders", 3)  # no ``charged``: nothing happens
    meter.close()

    assert dict(meter.credits) == {"POST /graphql order_create": 20, "POST /graphql orders": 3}
    assert sum(meter.by_endpoint.values()) == 0  # a charge is not a request

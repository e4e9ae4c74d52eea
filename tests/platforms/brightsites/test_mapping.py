"""mapping.py: show-order JSON → StoreOrder, and the row parsers. Pure, so no server here."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream.platforms.base import StoreShipment, StoreShipmentLine
from dropstream.platforms.brightsites.mapping import (
    inventory_from_row,
    order_from_json,
    shipment_body,
    shipment_matches,
    summary_from_row,
)
from dropstream.platforms.errors import BadResponse, OrderDataError

EXAMPLE = json.loads((Path(__file__).parent / "show_order.json").read_text())


def example() -> dict:
    return copy.deepcopy(EXAMPLE)


# --------------------------------------------------------------------------------------------
# The spec's complete example (specs/brightsites-api.md §7.3)
# --------------------------------------------------------------------------------------------


def test_it_maps_the_spec_example_order():
    order = order_from_json(example())

    assert order.external_id == "1042"
    assert order.status == "in_progress"
    assert order.ordered_at == datetime(2025, 5, 14, 19, 11, 5, tzinfo=UTC)
    assert order.updated_at == datetime(2025, 5, 15, 14, 2, 31, tzinfo=UTC)
    assert order.customer_email == "jane.roe@example.com"
    assert order.shipping_method == "UPS Ground"
    assert order.shipping_amount == Decimal("9.95")
    assert order.tax_amount == Decimal("3.3")
    assert order.discount_amount == Decimal("4.0")
    assert order.total_amount == Decimal("79.25")
    assert order.site_id == "178"
    assert [(li.external_line_id, li.sku, li.quantity, li.unit_price, li.requires_shipping)
            for li in order.lines] == [
        ("35960613", "TEE100-S-RED", 2, Decimal("20.0"), True),
        ("35960614", "GC25", 1, Decimal("25.0"), False),
    ]
    assert order.ship_to.name == "Jane Roe"
    assert order.ship_to.company == "Acme Corp"
    assert order.ship_to.street1 == "1437 Larimer Street"
    assert order.ship_to.street2 == "Suite 200"
    assert (order.ship_to.city, order.ship_to.state, order.ship_to.postal_code,
            order.ship_to.country) == ("Denver", "CO", "80202", "US")
    assert order.ship_to.phone == "3035550100"
    assert order.bill_to is not None and order.bill_to.state == "CO"
    # The only note is the hub's own ("API"), which is not passed on.
    assert order.notes == ""


def test_it_accepts_the_order_wrapped_in_an_order_key():
    assert order_from_json({"order": example()}).external_id == "1042"


@pytest.mark.parametrize(("state", "country", "expected"), [
    ("New York", "United States", ("NY", "US")),
    ("Ontario", "Canada", ("ON", "CA")),
    ("Québec", "Canada", ("QC", "CA")),
    ("quebec", "canada", ("QC", "CA")),
    ("District of Columbia", "United States of America", ("DC", "US")),
    ("Armed Forces Europe", "USA", ("AE", "US")),
    ("British Columbia", "CA", ("BC", "CA")),
])
def test_it_converts_state_and_country_names_to_codes(state, country, expected):
    data = example()
    data["shipping_address"].update(state=state, country=country)

    address = order_from_json(data).ship_to

    assert (address.state, address.country) == expected


@pytest.mark.parametrize(("field", "value"), [
    ("state", "Nowhere Land"),
    ("state", "Ontario"),  # a real province, but not of the United States: no guessing
    ("country", "Atlantis"),
])
def test_an_unknown_state_or_country_name_is_an_error_naming_the_field(field, value):
    data = example()
    data["shipping_address"][field] = value

    with pytest.raises(OrderDataError) as caught:
        order_from_json(data)

    assert caught.value.field == f"shipping_address.{field}"
    assert caught.value.external_id == "1042"
    assert value in str(caught.value)


def test_a_billing_address_with_a_bad_state_names_the_billing_field():
    data = example()
    data["billing_address"]["state"] = "Gondor"

    with pytest.raises(OrderDataError) as caught:
        order_from_json(data)

    assert caught.value.field == "billing_address.state"


def test_an_empty_billing_address_maps_to_none():
    data = example()
    data["billing_address"] = {k: "" for k in data["billing_address"]}

    assert order_from_json(data).bill_to is None


def test_it_reads_a_gift_message_from_the_checkout_questions():
    data = example()
    data["custom_data_collections"].append(
        {"title": "Gift Message", "attributes": [{"key": "Message", "value": "Happy birthday!"}],
         "price_modifier": {"modifier_type": "$", "amount": "0.0"}})

    assert order_from_json(data).gift_message == "Happy birthday!"


def test_customer_notes_are_kept_and_the_hubs_own_api_notes_are_not():
    data = example()
    data["notes"].append({"username": "jroe", "created_at": "2025-05-15T15:00:00.000Z",
                          "note": "Please leave at the back door"})

    assert order_from_json(data).notes == "Please leave at the back door"


def test_shipping_falls_back_to_the_legacy_shipment_cost_and_tax_to_line_taxes():
    data = example()
    data["required_adjustments"] = []

    order = order_from_json(data)

    assert order.shipping_amount == Decimal("9.95")
    assert order.tax_amount == Decimal("3.3")


def test_legacy_date_field_and_string_ids_are_accepted():
    data = example()
    data["date"] = data.pop("created_at")
    del data["updated_at"]
    data["line_items"][0]["id"] = "35960613"

    order = order_from_json(data)

    assert order.ordered_at == order.updated_at == datetime(2025, 5, 14, 19, 11, 5, tzinfo=UTC)
    assert order.lines[0].external_line_id == "35960613"


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("order_id"), "order_id"),
    (lambda d: d.update(order_id=True), "order_id"),
    (lambda d: d.update(created_at="yesterday"), "created_at"),
    (lambda d: d.update(line_items=[]), "line_items"),
    (lambda d: d["line_items"][1].update(quantity=0), "line_items[1].quantity"),
    (lambda d: d["line_items"][0].update(quantity=2.5), "line_items[0].quantity"),
    (lambda d: d["line_items"][0].update(unit_price="$20.00"), "line_items[0].unit_price"),
    (lambda d: d["line_items"][0].update(unit_price=float("nan")), "line_items[0].unit_price"),
    (lambda d: d["required_adjustments"][1].update(amount="ten"), "required_adjustments[1].amount"),
    (lambda d: d.update(shipping_address=None), "shipping_address"),
    (lambda d: d["shipping_address"].update(city=""), "shipping_address.city"),
    (lambda d: d["shipping_address"].update(zip=["80202"]), "shipping_address.zip"),
    (lambda d: d["shipping_address"].update(city="Den\x00ver"), "shipping_address.city"),
    (lambda d: d["shipping_address"].update(city="\ud800"), "shipping_address.city"),
    (lambda d: d.update(notes="hello"), "notes"),
    (lambda d: d.update(status=None), "status"),
])
def test_each_bad_value_is_an_order_data_error_naming_its_field(mutate, field):
    data = example()
    mutate(data)

    with pytest.raises(OrderDataError) as caught:
        order_from_json(data)

    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize(("payload", "field"), [
    (None, "order"), ([], "order"), ("order", "order"), (42, "order"),
    ({"order": []}, "order_id"), ({}, "order_id")])
def test_a_payload_that_is_not_an_order_object_names_the_order(payload, field):
    # Not an object at all: "order"; an object (or a wrapper around a non-object) without
    # an order id: "order_id".
    with pytest.raises(OrderDataError) as caught:
        order_from_json(payload)

    assert caught.value.field == field


# --------------------------------------------------------------------------------------------
# Property tests over generated show-order JSON
# --------------------------------------------------------------------------------------------

PLACES = [("New York", "United States", "NY", "US"), ("California", "United States", "CA", "US"),
          ("Texas", "United States", "TX", "US"), ("Ontario", "Canada", "ON", "CA"),
          ("Québec", "Canada", "QC", "CA"), ("Nova Scotia", "Canada", "NS", "CA")]
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
words = st.text(st.characters(codec="utf-8", exclude_characters="\x00",
                              exclude_categories=("Z", "C")), min_size=1, max_size=20)
cents = st.integers(min_value=-10**9, max_value=10**9).map(lambda c: Decimal(c) / 100)
positive_cents = st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c) / 100)
stamps = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC))


def money(value: Decimal) -> str:
    return format(value, "f")


@st.composite
def show_orders(draw) -> dict:
    state, country, _, _ = draw(st.sampled_from(PLACES))
    lines = draw(st.lists(st.fixed_dictionaries({
        "id": st.integers(1, 2**40),
        "name": text,
        "final_sku": words,
        "quantity": st.integers(1, 10_000),
        "unit_price": positive_cents.map(money),
        "tax_price": st.one_of(st.none(), positive_cents.map(money)),
        "gift_certificate": st.none(),
        "note": st.one_of(st.none(), text),
    }), min_size=1, max_size=5, unique_by=lambda li: li["id"]))
    created = draw(stamps)
    return {
        "order_id": draw(st.integers(1, 2**40)),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "updated_at": created.isoformat(),
        "status": draw(st.sampled_from(["new", "paid", "in_progress", "shipped"])),
        "customer_email": draw(text),
        "grand_total": money(draw(positive_cents)),
        "shipping_contact": {"first_name": draw(words), "last_name": draw(text),
                             "email": draw(text), "phone": draw(text)},
        "shipping_address": {"first_address": draw(words), "company": draw(text),
                             "second_address": draw(st.one_of(st.none(), text)),
                             "city": draw(words), "state": state, "country": country,
                             "zip": draw(text)},
        "billing_contact": None,
        "billing_address": None,
        "shipment": {"shipping_method": draw(text), "cost": money(draw(positive_cents))},
        "line_items": lines,
        "required_adjustments": draw(st.lists(st.fixed_dictionaries({
            "note": st.sampled_from(["shipment", "sales tax", "gift wrap", None]),
            "amount": cents.map(money), "modifier_type": st.just("$")}), max_size=4)),
        "custom_adjustments": draw(st.lists(st.fixed_dictionaries({
            "note": st.one_of(st.none(), text), "amount": cents.map(money),
            "modifier_type": st.just("$")}), max_size=3)),
        "coupons_adjustments": [],
        "notes": [],
    }


@settings(max_examples=150, deadline=None)
@given(show_orders())
def test_property_valid_orders_map_with_their_lines_codes_and_amounts(data):
    order = order_from_json(data)

    assert order.external_id == str(data["order_id"])
    assert [(li.external_line_id, li.sku, li.quantity, li.unit_price) for li in order.lines] == [
        (str(li["id"]), li["final_sku"].strip(), li["quantity"], Decimal(li["unit_price"]))
        for li in data["line_items"]]
    place = next(p for p in PLACES if p[0] == data["shipping_address"]["state"])
    assert (order.ship_to.state, order.ship_to.country) == place[2:]
    required = data["required_adjustments"]
    shipping = [Decimal(a["amount"]) for a in required if a["note"] == "shipment"]
    expected_shipping = sum(shipping) if shipping else Decimal(data["shipment"]["cost"])
    assert order.shipping_amount == expected_shipping
    discounts = [Decimal(a["amount"]) for a in data["custom_adjustments"]
                 if Decimal(a["amount"]) < 0]
    assert order.discount_amount == -sum(discounts, Decimal("0"))
    assert order.ordered_at == order.updated_at
    assert order.bill_to is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _dotted(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(show_orders(), st.data(), json_values)
def test_property_any_corrupted_value_maps_or_is_an_order_data_error(data, draw, junk):
    paths = [p for p in _paths(data) if p]
    path = draw.draw(st.sampled_from(paths))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = junk

    try:
        order_from_json(data)
    except OrderDataError as exc:
        assert exc.field
        assert str(exc)
        # The field named is the corrupted value or lies inside/above it on the same path.
        dotted = _dotted(path)
        assert (exc.field.startswith(dotted) or dotted.startswith(exc.field)
                or exc.field in ("line_items", "order_id")), (exc.field, dotted)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_property_arbitrary_json_never_escapes_as_anything_but_order_data_error(junk):
    try:
        order_from_json(junk)
    except OrderDataError as exc:
        assert exc.field


@settings(max_examples=100, deadline=None)
@given(show_orders(), st.sampled_from(["order_id", "created_at", "line_items",
                                       "shipping_address"]))
def test_property_a_missing_required_field_is_named(data, key):
    del data[key]

    with pytest.raises(OrderDataError) as caught:
        order_from_json(data)

    assert caught.value.field == key


# --------------------------------------------------------------------------------------------
# Rows and shipments
# --------------------------------------------------------------------------------------------


def test_a_list_row_becomes_a_summary():
    row = {"created_at": "2025-05-14T19:11:05.000Z", "updated_at": "2025-05-14T19:11:21.000Z",
           "order_id": 1043, "shipping_method": "UPS Ground", "tracking": "N/A",
           "status": "in_progress", "customer": "buyer@example.com"}

    summary = summary_from_row(row, "orders[0]")

    assert (summary.external_id, summary.status) == ("1043", "in_progress")
    assert summary.updated_at == datetime(2025, 5, 14, 19, 11, 21, tzinfo=UTC)


def test_a_list_row_without_order_id_is_a_bad_response_naming_the_field():
    with pytest.raises(BadResponse) as caught:
        summary_from_row({"updated_at": "2025-05-14T19:11:21.000Z"}, "orders[3]")

    assert caught.value.field == "orders[3].order_id"


def test_an_inventory_row_with_a_wrong_level_is_a_bad_response_naming_the_field():
    row = {"product_id": 44371, "final_sku": "DM4310-XXS-Blk", "id": 2871, "inventory": "lots",
           "track": True}

    with pytest.raises(BadResponse) as caught:
        inventory_from_row(row, "inventories[0]")

    assert caught.value.field == "inventories[0].inventory"


def test_the_shipment_body_carries_carrier_and_service_as_the_method():
    shipment = StoreShipment(order_external_id="1042", tracking_number="1Z999", carrier="UPS",
                             service="Ground", ship_date=date(2025, 5, 15),
                             lines=(StoreShipmentLine("35960613", 1),))

    body = shipment_body(shipment, notify_customer=False)

    assert body == {"shipment": {"tracking_number": "1Z999", "send_shipping_confirmation": False,
                                 "ship_date": "2025-05-15", "shipping_method": "UPS Ground",
                                 "line_items": [{"id": 35960613, "quantity": 1}]}}
    assert shipment_matches({"id": 39, "tracking_number": "1Z999",
                             "line_items": [{"id": 35960613, "quantity": 1}]}, shipment)
    assert not shipment_matches({"id": 39, "tracking_number": "1Z999",
                                 "line_items": [{"id": 35960613, "quantity": 2}]}, shipment)

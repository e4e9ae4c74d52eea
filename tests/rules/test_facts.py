"""Facts: the order map from an ORM order and from pasted JSON (the API's shape) agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from celpy import celtypes
from django.core.serializers.json import DjangoJSONEncoder

from dropstream.api import render
from dropstream.inventory.models import InventoryLevel
from dropstream.orders.models import Order, OrderLine
from dropstream.rules.errors import InvalidFacts
from dropstream.rules.facts import (
    ADDRESS_KEYS,
    LINE_SCHEMA,
    MAX_LINES,
    ORDER_SCHEMA,
    facts_from_json,
    facts_from_order,
    load_stock,
)

CREATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
ORDERED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def plain(value):
    """CEL values as plain Python, for exact comparisons."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool | celtypes.BoolType) and type(value) in (bool, celtypes.BoolType):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return datetime.fromtimestamp(value.timestamp(), tz=UTC)
    return value


@pytest.fixture
def order(connection, store):
    order = Order.objects.create(
        connection=connection, store=store, external_id="5001", external_display_id="#5001",
        ordered_at=ORDERED, created_at=CREATED, store_status="paid",
        customer_email="zoe@example.com", external_shipping_description="UPS Ground",
        shipping_amount=Decimal("7.95"), tax_amount=Decimal("2.10"),
        discount_amount=Decimal("1.00"), total_amount=Decimal("45.05"), notes="leave at door",
        gift_message="Happy birthday", ship_name="Zoë Åkesson", ship_street1="1437 Larimer St",
        ship_city="Denver", ship_state="CO", ship_postal_code="80202", ship_country="US",
        ship_email="zoe@example.com", bill_name="Zoë Åkesson", bill_country="US")
    kit = OrderLine.objects.create(order=order, external_line_id="1", store_sku="KIT-1",
                                   name="Mug kit", quantity_ordered=2,
                                   unit_price=Decimal("12.50"))
    OrderLine.objects.create(order=order, parent=kit, store_sku="", warehouse_sku="MUG",
                             quantity_ordered=2)
    OrderLine.objects.create(order=order, external_line_id="2", store_sku="TEE-M",
                             warehouse_sku="WH-TEE-M", name="Tee", quantity_ordered=1,
                             quantity_shipped=1, unit_price=Decimal("11.00"))
    OrderLine.objects.create(order=order, external_line_id="3", store_sku="GIFT-25",
                             name="Gift card", quantity_ordered=1, unit_price=Decimal("0"),
                             ships=False)
    return order


def test_facts_from_an_order_have_exact_values_and_types(order, connection, store,
                                                         django_assert_num_queries):
    order = Order.objects.get(pk=order.pk)
    with django_assert_num_queries(1):
        facts = facts_from_order(order)
    data = facts.order
    assert type(data["total"]) is celtypes.DoubleType and data["total"] == 45.05
    assert type(data["quantity"]) is celtypes.IntType and data["quantity"] == 4
    assert type(data["ordered_at"]) is celtypes.TimestampType
    assert plain(data["ordered_at"]) == ORDERED
    assert plain(data["subtotal"]) == 36.0
    assert plain(data["ship_to"]) == {
        "name": "Zoë Åkesson", "company": "", "street1": "1437 Larimer St", "street2": "",
        "city": "Denver", "state": "CO", "postal_code": "80202", "country": "US",
        "phone": "", "email": "zoe@example.com"}
    assert plain(data["tags"]) == []
    lines = plain(data["lines"])
    assert [line["sku"] for line in lines] == ["KIT-1", "TEE-M", "GIFT-25"]
    assert lines[0] == {"index": 0, "id": facts.line_ids[0], "sku": "KIT-1",
                        "warehouse_sku": "", "name": "Mug kit", "quantity": 2,
                        "quantity_shipped": 0, "price": 12.5, "total": 25.0, "canceled": False,
                        "ships": True, "connection_id": connection.pk, "stock": {}}
    assert lines[2]["ships"] is False
    assert plain(data["store_id"]) == store.pk
    assert set(data) == set(ORDER_SCHEMA)
    assert set(data["lines"][0]) == set(LINE_SCHEMA)
    assert set(data["ship_to"]) == set(ADDRESS_KEYS)


def test_prefetched_lines_need_no_query(order, django_assert_num_queries):
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    with django_assert_num_queries(0):
        facts = facts_from_order(order)
    assert len(facts.lines) == 3


def test_facts_from_the_apis_order_json_agree_with_facts_from_the_order(order):
    detail = render.order_detail(Order.objects.get(pk=order.pk))
    pasted = json.loads(json.dumps(detail, cls=DjangoJSONEncoder))
    # Neither is in the API's objects (a pasted order defaults to '' and ships=true); the Test
    # tab may add them.
    pasted["store_status"] = "paid"
    pasted["items"][-1]["ships"] = False
    from_json = facts_from_json(pasted)
    from_orm = facts_from_order(Order.objects.get(pk=order.pk))
    assert plain(from_json.order) == plain(from_orm.order)
    assert from_json.line_ids == from_orm.line_ids


def test_pasted_json_errors_name_each_wrong_field():
    with pytest.raises(InvalidFacts) as caught:
        facts_from_json({
            "total_amount": "a lot", "ordered_at": "yesterday",
            "shipping_address": {"city": 12}, "tags": "vip",
            "items": [{"sku": "A", "qty_ordered": 1}, {"sku": "B", "qty_ordered": -2},
                      "C", {"sku": "D", "unit_price": True, "canceled": "no"}],
        })
    assert caught.value.errors == {
        "total_amount": 'must be an amount such as "12.50"',
        "ordered_at": 'must be an ISO 8601 time such as "2026-11-01T12:00:00Z"',
        "shipping_address.city": "must be text",
        "tags": "must be a list of text",
        "items[1].qty_ordered": "must be a whole number, 0 or more",
        "items[2]": "must be an object",
        "items[3].unit_price": 'must be an amount such as "12.50"',
        "items[3].canceled": "must be true or false",
    }
    with pytest.raises(InvalidFacts) as caught:
        facts_from_json([1, 2])
    assert caught.value.errors == {"order": "must be a JSON object"}


def test_pasted_json_defaults_and_tags():
    now = datetime(2026, 11, 20, tzinfo=UTC)
    facts = facts_from_json({"tags": ["vip"], "items": [{"sku": "A"}]}, now=now)
    data = plain(facts.order)
    assert data["tags"] == ["vip"]
    assert data["created_at"] == now and data["ordered_at"] == now
    assert data["currency"] == "USD" and data["id"] == 0
    assert data["lines"][0]["quantity"] == 1
    assert facts.line_ids == (None,)


def test_more_lines_than_the_cap_are_refused():
    with pytest.raises(InvalidFacts) as caught:
        facts_from_json({"items": [{"sku": "A"}] * (MAX_LINES + 1)})
    assert caught.value.errors == {"items": "1,001 items; rules handle at most 1,000"}


def test_stock_is_loaded_by_connection_and_summed_over_facilities(
        order, connection, store, warehouse, django_assert_num_queries):
    InventoryLevel.objects.create(warehouse=warehouse, sku="WH-TEE-M", facility="A", available=3)
    InventoryLevel.objects.create(warehouse=warehouse, sku="WH-TEE-M", facility="B", available=4)
    InventoryLevel.objects.create(warehouse=warehouse, sku="KIT-1", available=0)
    with django_assert_num_queries(2):
        stock = load_stock(store, ["WH-TEE-M", "KIT-1", "GIFT-25"])
    assert stock == {"WH-TEE-M": {connection.pk: 7}, "KIT-1": {connection.pk: 0}}
    facts = facts_from_order(order, stock=stock)
    assert [plain(line["stock"]) for line in facts.lines] == [
        {connection.pk: 0}, {connection.pk: 7}, {}]

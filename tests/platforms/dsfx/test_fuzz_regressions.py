"""Inputs the fuzzer (tests/fuzz, benchmarks/fuzz.py) found that broke a DSFX reader or the
writer's checks; each is also a file in ``tests/corpus/``."""

from __future__ import annotations

import pytest

from dropstream.platforms.base import WarehouseOrderLine
from dropstream.platforms.dsfx import format as fmt
from dropstream.platforms.errors import OrderDataError
from dropstream.sandbox.warehouse.orders import OrderFileError, parse_order_file
from tests.platforms.dsfx.factories import CREATED_AT, csv_bytes, make_order


def test_a_shipment_row_holding_nul_is_a_row_error_and_the_other_rows_go_through():
    # NUL is valid UTF-8 but no database text: the tracking number once reached the Shipment
    # table and crashed the run on PostgreSQL.
    data = csv_bytes('"1001","1","A","1","2024-05-07","UPS","","1Z\x00X","","",""',
                     '"1002","1","B","1","2024-05-07","UPS","","1Z2","","",""')

    parsed = fmt.read_shipments(data)

    assert [s.order_number for s in parsed.shipments] == ["1002"]
    assert [(e.line_number, e.reason) for e in parsed.errors] == [
        (1, "the row holds a NUL character")]


def test_an_inventory_row_holding_nul_is_a_row_error():
    parsed = fmt.read_inventory(csv_bytes("S\x00KU,3", "OK,4"))

    assert [(lv.sku, lv.available) for lv in parsed.levels] == [("OK", 4)]
    assert [e.reason for e in parsed.errors] == ["the row holds a NUL character"]


@pytest.mark.parametrize(("quantity", "reason"), [
    ("9" * 5000, "has more than 9 digits"),          # int() of it raised past 4300 digits
    ("1234567890", "has more than 9 digits"),        # fits no integer column
    ("\u0661\u0662", "is not a whole number"),       # int() reads Arabic-Indic "12"
    ("1_000", "is not a whole number"),              # int() reads it as 1000
])
def test_a_quantity_that_is_not_nine_ascii_digits_is_a_row_error(quantity, reason):
    parsed = fmt.read_shipments(csv_bytes(f"1001,1,A,{quantity},2024-05-07,UPS"))

    assert parsed.shipments == []
    assert len(parsed.errors) == 1
    assert parsed.errors[0].reason.startswith("quantity ")
    assert parsed.errors[0].reason.endswith(reason)
    assert len(parsed.errors[0].reason) < 120  # the value is cut, not quoted whole


def test_an_unknown_header_column_that_is_not_utf8_is_reported_as_question_marks():
    # The column name went into the error report as a lone surrogate: unstorable, unwritable.
    data = b"sku,available,col\xff\x00\r\nA,1,x\r\n"

    parsed = fmt.read_inventory(data)

    assert [lv.sku for lv in parsed.levels] == ["A"]
    assert [e.reason for e in parsed.errors] == ["unknown column(s) ignored: col??"]
    assert all(e.reason.encode("utf-8") for e in parsed.errors)


def test_an_sku_of_only_control_characters_is_an_order_problem_not_an_empty_cell():
    # Written as a space, it made the warehouse refuse the whole file ("SKU is empty").
    order = make_order("1001", lines=(WarehouseOrderLine(1, "\x7f\u2028", 1, 0),))

    assert fmt.order_problems(order) == [("lines[1].sku", "line 1 has no SKU")]
    with pytest.raises(OrderDataError) as caught:
        fmt.write_orders([order], created_at=CREATED_AT)
    assert caught.value.field == "lines[1].sku"


def test_the_warehouse_reader_refuses_a_huge_line_number_with_a_reason():
    good = fmt.write_orders([make_order("1001")], created_at=CREATED_AT)
    data = good.content.replace(b'"PD","1001","1"', b'"PD","1001","' + b"9" * 5000 + b'"')

    with pytest.raises(OrderFileError) as caught:
        parse_order_file(good.name, data)
    assert any("is not a whole number from 1 (at most 9 digits)" in r
               for r in caught.value.reasons)

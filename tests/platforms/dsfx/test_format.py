"""The DSFX writer and readers (specs/dsfx.md), without any transport."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from dropstream.platforms.base import Address, RowError, WarehouseOrderLine
from dropstream.platforms.dsfx import format as fmt
from dropstream.platforms.errors import OrderDataError
from tests.platforms.dsfx.factories import CREATED_AT, csv_bytes, make_order

SHIPMENT_HEADER = ("order_number,line_number,sku,quantity,ship_date,carrier,service,"
                   "tracking_number,shipment_id,weight,cost")


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


# -- writer -----------------------------------------------------------------------------------


def test_it_writes_the_published_sample_byte_for_byte_with_ph_version_1():
    ship_to = Address(name="JOAN HARRY", street1="5050 Road N", city="Waterloo", state="ON",
                      postal_code="N1N 1N1", country="CA", phone="555-666-7777")
    order = make_order("2016981433", ship_to=ship_to, bill_to=ship_to, po_number="12345678",
                       source_code="AMZ", customer_notes="", customer_email="",
                       lines=(WarehouseOrderLine(1, "13358A", 16, Decimal("0")),
                              WarehouseOrderLine(2, "2564A", 6, Decimal("0"))))

    written = fmt.write_orders([order], created_at=CREATED_AT, ph_version=1)

    assert written.content == (
        b'"PH","2016981433","12345678","JOAN HARRY","5050 Road N","","Waterloo","ON","N1N 1N1",'
        b'"CA","","555-666-7777","JOAN HARRY","5050 Road N","","Waterloo","ON","N1N 1N1","CA",'
        b'"Ground","P","","2020-03-07T00:00:00Z","AMZ",""\r\n'
        b'"PD","2016981433","1","13358A","16","0.00"\r\n'
        b'"PD","2016981433","2","2564A","6","0.00"\r\n')
    assert written.name == "ord_2016981433_240506070809.csv"


@pytest.mark.parametrize(("version", "width"), [(1, 25), (2, 27), (3, 28)])
def test_each_ph_version_has_its_field_count(version, width):
    written = fmt.write_orders([make_order(facility="DC-7")], created_at=CREATED_AT,
                               ph_version=version)

    rows = rows_of(written.content)
    assert [len(r) for r in rows] == [width, 6, 6]


def test_version_2_puts_email_at_4_and_notes_at_27_and_version_3_adds_facility():
    v2 = rows_of(fmt.write_orders([make_order()], created_at=CREATED_AT).content)[0]
    v3 = rows_of(fmt.write_orders([make_order()], created_at=CREATED_AT, ph_version=3,
                                  facility="DC-7").content)[0]

    assert (v2[3], v2[4], v2[26]) == ("joan@example.com", "Joan Harry", "Leave at door")
    assert v3[:27] == v2 and v3[27] == "DC-7"


def test_files_are_utf8_without_bom_with_crlf_and_every_field_quoted():
    order = make_order(ship_to=Address(name='Zoë "Z" Ångström, Jr.', street1="Straße 1",
                                       city="Zürich", state="ZH", postal_code="8001",
                                       country="CH"))

    content = fmt.write_orders([order], created_at=CREATED_AT).content

    assert not content.startswith(b"\xef\xbb\xbf")
    assert content.count(b"\r\n") == 3 and b"\n" not in content.replace(b"\r\n", b"")
    assert '"Zoë ""Z"" Ångström, Jr."'.encode() in content
    assert all(line.startswith(b'"') and line.endswith(b'"')
               for line in content.split(b"\r\n")[:-1])


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("@SUM(A1)", "'@SUM(A1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-x", "'-x"), ("\tTab", " Tab"),
    ("+1 555 0100", "'+1 555 0100"), ("-5", "-5"), ("Plain", "Plain"),
])
def test_spreadsheet_formulas_are_neutralised(value, written):
    order = make_order(ship_to=Address(name=value, street1="1 Main", city="X", state="NY",
                                       postal_code="10001", country="US"))

    ph = rows_of(fmt.write_orders([order], created_at=CREATED_AT).content)[0]

    assert ph[4] == written


def test_neutralising_can_be_switched_off():
    order = make_order(ship_to=Address(name="=1+1", street1="1 Main", city="X", state="NY",
                                       postal_code="10001", country="US"))

    ph = rows_of(fmt.write_orders([order], created_at=CREATED_AT,
                                  neutralise_formulas=False).content)[0]

    assert ph[4] == "=1+1"


def test_line_breaks_inside_values_become_spaces_so_each_record_is_one_line():
    order = make_order(customer_notes="ring twice\r\nthen wait")

    content = fmt.write_orders([order], created_at=CREATED_AT).content

    assert content.count(b"\r\n") == 3
    assert rows_of(content)[0][26] == "ring twice  then wait"


def test_order_numbers_keep_letters_digits_dash_and_underscore_and_the_mapping_is_kept():
    written = fmt.write_orders([make_order("BS 10/01~x"), make_order("OK_2-b")],
                               created_at=CREATED_AT)

    rows = rows_of(written.content)
    assert [r[1] for r in rows] == ["BS-10-01-x"] * 3 + ["OK_2-b"] * 3
    assert written.renamed == {"BS 10/01~x": "BS-10-01-x"}
    assert written.name == "ord_BS-10-01-x_240506070809.csv"


def test_two_orders_that_would_share_a_written_number_are_refused():
    with pytest.raises(OrderDataError) as caught:
        fmt.write_orders([make_order("A B"), make_order("A/B")], created_at=CREATED_AT)

    assert caught.value.field == "order_number" and "A-B" in caught.value.message


def test_an_order_missing_a_required_value_names_the_field():
    order = make_order(ship_method="", ship_to=Address(name="X"))

    with pytest.raises(OrderDataError) as caught:
        fmt.write_orders([order], created_at=CREATED_AT)

    assert caught.value.field == "ship_to.street1"
    assert [f for f, _ in fmt.order_problems(order)] == [
        "ship_to.street1", "ship_to.city", "ship_to.state", "ship_to.postal_code",
        "ship_to.country", "ship_method"]


def test_money_has_two_decimals_and_dates_are_utc_with_z():
    order = make_order(lines=(WarehouseOrderLine(1, "A", 1, Decimal("3.005")),))

    rows = rows_of(fmt.write_orders([order], created_at=CREATED_AT).content)

    assert rows[1][5] == "3.01" and rows[0][23] == "2020-03-07T00:00:00Z"


# -- shipment reader ------------------------------------------------------------------------


def test_it_reads_positional_shipments_and_groups_rows_by_tracking_number():
    data = csv_bytes(
        '"1001","1","SKU-1","1","2024-05-06","UPS","Ground","1Z999","","2.5","7.10"',
        '"1001","2","SKU-2","2","2024-05-06","UPS","Ground","1Z999","","2.5","7.10"',
        '"1001","2","SKU-2","1","2024-05-07","FedEx","Home","7700","","",""',
    )

    parsed = fmt.read_shipments(data)

    assert parsed.errors == []
    first, second = parsed.shipments
    assert first.key == "1001|t:1Z999" and first.source_rows == (1, 2)
    assert [(ln.line_number, ln.quantity) for ln in first.lines] == [(1, 1), (2, 2)]
    assert (first.carrier, first.ship_date, first.weight) == ("UPS", date(2024, 5, 6),
                                                              Decimal("2.5"))
    assert second.key == "1001|t:7700" and second.lines[0].quantity == 1


def test_a_header_row_allows_any_column_order_and_case():
    data = csv_bytes("Carrier,QUANTITY,Order Number,sku,Ship-Date,shipment_id",
                     "USPS,3,A-1,BLUE-M,2024-05-06T10:00:00Z,S9",
                     "USPS,1,A-1,RED-S,2024-05-06T10:00:00Z,S9", newline="\n")

    parsed = fmt.read_shipments(data)

    assert parsed.errors == []
    (shipment,) = parsed.shipments
    assert shipment.key == "A-1|s:S9" and shipment.warehouse_shipment_id == "S9"
    assert [(ln.sku, ln.line_number, ln.quantity) for ln in shipment.lines] == [
        ("BLUE-M", None, 3), ("RED-S", None, 1)]


def test_bad_rows_are_reported_with_line_numbers_while_good_rows_go_through():
    data = csv_bytes(
        '"1001","1","SKU-1","1","2024-05-06","UPS","","T1"',
        '"1001","1","SKU-1"',
        '"1002","1","SKU-1","two","2024-05-06","UPS","","T2"',
        '"1003","1","SKU-1","1","06/05/2024","UPS","","T3"',
        '"1004","","","1","2024-05-06","UPS","","T4"',
        '"1005","1","SKU-1","0","2024-05-06","UPS","","T5"',
        '"1006","1","SKU-1","1","2024-05-06","UPS","","T6","","","","extra"',
        '"1007","1","SKU-1","1","2024-05-06","","","T7"',
        '"1008","2","SKU-2","3","2024-05-06","DHL","","T8"',
        bom=True,
    )

    parsed = fmt.read_shipments(data)

    assert [s.order_number for s in parsed.shipments] == ["1001", "1008"]
    assert [e.line_number for e in parsed.errors] == [2, 3, 4, 5, 6, 7, 8]
    reasons = [e.reason for e in parsed.errors]
    assert reasons[0] == "the row has 3 fields; a shipment row has 6 to 11"
    assert reasons[1] == "quantity 'two' is not a whole number"
    assert reasons[2] == "ship_date '06/05/2024' is not an ISO 8601 date"
    assert reasons[3] == "either line_number or sku is required"
    assert reasons[4] == "quantity 0 must be at least 1"
    assert reasons[5] == "the row has 12 fields; a shipment row has 6 to 11"
    assert reasons[6] == "carrier is required"


def test_embedded_quotes_commas_line_breaks_and_non_ascii_survive_and_line_numbers_stay_true():
    data = csv_bytes(
        'order_number,sku,quantity,ship_date,carrier,service',
        '"Ü-1","SKU ""big"", blue","1","2024-05-06","La Poste","Colissimo\nSuivi"',
        'Ü-2,Crème brûlée,2,2024-05-06,Poste,',
        'Ü-3,X,oops,2024-05-06,Poste,',
    )

    parsed = fmt.read_shipments(data)

    assert [s.lines[0].sku for s in parsed.shipments] == ['SKU "big", blue', "Crème brûlée"]
    assert parsed.shipments[0].service == "Colissimo\nSuivi"
    assert parsed.errors == [RowError(5, "quantity 'oops' is not a whole number")]


def test_a_row_that_is_not_utf8_is_reported_and_the_others_are_read():
    data = (b"1001,1,A,1,2024-05-06,UPS\r\n"
            b"1002,1,Cr\xe8me,1,2024-05-06,UPS\r\n"
            b"1003,1,B,1,2024-05-06,UPS\r\n")

    parsed = fmt.read_shipments(data)

    assert [s.order_number for s in parsed.shipments] == ["1001", "1003"]
    assert parsed.errors == [RowError(2, "the row is not UTF-8 text")]


def test_a_header_without_a_required_column_stops_the_file_with_one_error():
    parsed = fmt.read_shipments(csv_bytes("order_number,sku,ship_date,carrier",
                                          "1001,A,2024-05-06,UPS"))

    assert parsed.shipments == []
    assert parsed.errors == [RowError(1, "the header row lacks the column(s) quantity; no row "
                                         "of the file was read")]


def test_rows_of_one_shipment_that_disagree_are_all_rejected():
    data = csv_bytes("1001,1,A,1,2024-05-06,UPS,,T1", "1001,2,B,1,2024-05-06,FedEx,,T1",
                     "1002,1,A,1,2024-05-06,UPS,,T2")

    parsed = fmt.read_shipments(data)

    assert [s.order_number for s in parsed.shipments] == ["1002"]
    assert [e.line_number for e in parsed.errors] == [1, 2]
    assert "disagree on carrier" in parsed.errors[0].reason


def test_shipment_keys_are_stable_across_redeliveries_even_without_ids():
    first = fmt.read_shipments(csv_bytes("1001,1,A,1,2024-05-06,UPS", "1001,2,B,1,2024-05-06,UPS"))
    again = fmt.read_shipments(csv_bytes("1001,2,B,1,2024-05-06,UPS", "1001,1,A,1,2024-05-06,UPS",
                                         newline="\n"))

    assert len(first.shipments) == 1
    assert first.shipments[0].key == again.shipments[0].key
    assert first.shipments[0].key.startswith("1001|n:")


def test_nothing_crashes_on_garbage():
    for data in (b"", b"\r\n\r\n", b"\x00\x01\x02", b'"unterminated,1,2\n', b"\xff\xfe\x00A",
                 b",,,,,,\n", "🙂".encode() * 10):
        parsed = fmt.read_shipments(data)
        inventory = fmt.read_inventory(data)
        assert isinstance(parsed.errors, list) and isinstance(inventory.errors, list)


# -- inventory reader ----------------------------------------------------------------------


def test_it_reads_inventory_positionally_or_with_a_header():
    positional = fmt.read_inventory(csv_bytes('"A","5","7",""', '"B","-3"', "C,2,2,DC2"))
    header = fmt.read_inventory(csv_bytes("\ufeffFacility,Available,SKU", "DC2,4,C", bom=False))

    assert [(lv.sku, lv.available, lv.on_hand, lv.facility) for lv in positional.levels] == [
        ("A", 5, 7, ""), ("B", 0, None, ""), ("C", 2, 2, "DC2")]
    assert positional.errors == []
    assert [(lv.sku, lv.available, lv.facility) for lv in header.levels] == [("C", 4, "DC2")]


def test_inventory_bad_rows_are_reported_and_a_conflicting_repeat_keeps_the_first():
    parsed = fmt.read_inventory(csv_bytes("A,5", "B,lots", ",3", "A,6", "A,5", "C,1,2,3,4"))

    assert [(lv.sku, lv.available) for lv in parsed.levels] == [("A", 5)]
    assert parsed.errors == [
        RowError(2, "available 'lots' is not a whole number"),
        RowError(3, "sku is required"),
        RowError(4, "sku A is already listed on line 1 with other numbers; line 1 was kept"),
        RowError(6, "the row has 5 fields; an inventory row has 2 to 4"),
    ]


def test_the_error_report_lists_each_bad_row():
    report = fmt.error_report("shp_1.csv", [RowError(3, "quantity 'x' is not a whole number"),
                                            RowError(0, "bad\nlayout")], read_at=CREATED_AT)

    assert report.decode().splitlines() == [
        "DropStream read shp_1.csv at 2024-05-06T07:08:09Z and could not use these rows:",
        "file: bad layout",
        "line 3: quantity 'x' is not a whole number",
    ]

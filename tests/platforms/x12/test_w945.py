"""The 945 reader (specs/x12-warehouse.md §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dropstream.platforms.base import WarehouseShipment, WarehouseShipmentLine
from dropstream.platforms.x12.profile import MAN04_CN, N9_CN, W27_EQUIPMENT, PartnerProfile
from dropstream.platforms.x12.w945 import ShippedItem, read_945
from tests.platforms.x12.helpers import body_of, build, sample

HEADER = [["W06", "F", "HUB-9", "20260307", "WMS-9"], ["N1", "SF", "LAX-1 Warehouse", "ZZ", "LAX1"],
          ["W27", "U", "UPSN", "UPS Ground"]]


def read_one(body, profile=None):
    result = read_945(build([body]), profile)
    assert result.ok, result.rejected
    [advice] = result.documents
    return advice


def test_the_spec_sample_reads_to_the_values_shown():
    result = read_945(sample("945"))
    assert result.ok and result.warnings == ()
    [advice] = result.documents
    assert (advice.group_control_number, advice.set_control_number, advice.reporting_code,
            advice.order_number, advice.ship_date, advice.warehouse_shipment_id,
            advice.po_number) == ("7301", "0001", "F", "HUB-100234", date(2026, 3, 6),
                                  "WMS-41022", "PO-77812")
    assert (advice.transport_method, advice.carrier, advice.service, advice.payment_method,
            advice.bill_of_lading) == ("U", "UPSN", "UPS Ground", "PP", "BOL-88120")
    assert (advice.total_units, advice.weight, advice.weight_unit) == (Decimal(2),
                                                                       Decimal("9.8"), "LB")
    assert advice.shipments == (
        WarehouseShipment(key="HUB-100234:1Z999AA10123456784", order_number="HUB-100234",
                          carrier="UPSN", service="UPS Ground",
                          tracking_number="1Z999AA10123456784", ship_date=date(2026, 3, 6),
                          lines=(WarehouseShipmentLine(1, "TENT-4P-GRN", 1),),
                          warehouse_shipment_id="WMS-41022", source_rows=(12,)),
        WarehouseShipment(key="HUB-100234:1Z999AA10123456795", order_number="HUB-100234",
                          carrier="UPSN", service="UPS Ground",
                          tracking_number="1Z999AA10123456795", ship_date=date(2026, 3, 6),
                          lines=(WarehouseShipmentLine(2, "STOVE-01", 1),),
                          warehouse_shipment_id="WMS-41022", source_rows=(16,)))
    assert advice.items == (
        ShippedItem(1, "TENT-4P-GRN", "CP", 1, Decimal(2), Decimal(1), "EA",
                    "HUB-100234:1Z999AA10123456784"),
        ShippedItem(2, "STOVE-01", "CC", 1, Decimal(1), Decimal(0), "EA",
                    "HUB-100234:1Z999AA10123456795"))
    assert advice.items[0].status_text == "partial shipment, considered no backorder"
    assert not advice.items[0].canceled and not advice.items[0].backordered
    [ack] = result.acknowledgments
    assert (ack.functional_id, ack.control_number, ack.code, ack.included, ack.received,
            ack.accepted_count) == ("SW", "7301", "A", 1, 1, 1)


def test_several_w12_under_one_lx_and_man_are_one_package():
    advice = read_one(HEADER + [
        ["LX", "1"], ["MAN", "CP", "TRACK1"],
        ["W12", "CC", "2", "2", "0", "EA", "", "SK", "A"], ["N9", "LI", "1"],
        ["W12", "CC", "1", "1", "0", "EA", "", "SK", "B"], ["N9", "LI", "2"]])
    [shipment] = advice.shipments
    assert shipment.key == "HUB-9:TRACK1"
    assert shipment.lines == (WarehouseShipmentLine(1, "A", 2), WarehouseShipmentLine(2, "B", 1))
    assert (shipment.carrier, shipment.service, shipment.ship_date) == ("UPSN", "UPS Ground",
                                                                        date(2026, 3, 7))


def test_one_lx_per_line_with_the_same_tracking_merges_into_one_package():
    advice = read_one(HEADER + [
        ["LX", "1"], ["MAN", "CP", "T1"], ["W12", "CC", "1", "1", "", "", "", "SK", "A"],
        ["LX", "2"], ["MAN", "CP", "T1"], ["W12", "CC", "1", "1", "", "", "", "SK", "B"]])
    [shipment] = advice.shipments
    assert [line.sku for line in shipment.lines] == ["A", "B"]
    assert shipment.source_rows == (7, 10)


def test_repeated_man_in_one_lx_gives_one_package_each_with_lines_on_the_first():
    advice = read_one(HEADER + [
        ["LX", "1"], ["MAN", "CP", "T1"], ["MAN", "CP", "T2"],
        ["W12", "CC", "2", "2", "", "", "", "SK", "A"]])
    assert [(s.key, s.tracking_number, s.lines) for s in advice.shipments] == [
        ("HUB-9:T1", "T1", (WarehouseShipmentLine(None, "A", 2),)), ("HUB-9:T2", "T2", ())]
    assert advice.warnings == (
        "LX 1 lists 2 packages; its lines are recorded on T1, the others carry their tracking "
        "only",)


def test_canceled_and_backordered_lines_keep_their_status_and_ship_nothing():
    advice = read_one(HEADER + [
        ["LX", "1"], ["MAN", "CP", "T1"],
        ["W12", "BP", "3", "1", "2", "EA", "", "SK", "A"], ["N9", "LI", "1"],
        ["W12", "IC", "1", "", "", "EA", "", "SK", "B"], ["N9", "LI", "2"],
        ["LX", "2"], ["W12", "CU", "4", "0", "4", "EA", "", "SK", "C"], ["N9", "LI", "3"]])
    [shipment] = advice.shipments  # the canceled-only LX 2 is no package
    assert shipment.lines == (WarehouseShipmentLine(1, "A", 1),)
    assert [(i.line_number, i.status, i.quantity_shipped, i.canceled, i.backordered,
             i.package_key) for i in advice.items] == [
        (1, "BP", 1, False, True, "HUB-9:T1"), (2, "IC", 0, True, False, ""),
        (3, "CU", 0, True, False, "")]


def test_without_tracking_the_key_is_the_lx_with_shipment_id_and_date():
    advice = read_one([["W06", "F", "HUB-9", "20260307", "WMS-9"], ["N1", "SF", "W"],
                       ["LX", "1"], ["W12", "CC", "1", "1", "", "", "", "SK", "A"],
                       ["LX", "2"], ["W12", "CC", "1", "", "", "", "", "SK", "B"]])
    assert [(s.key, s.tracking_number, s.lines) for s in advice.shipments] == [
        ("HUB-9:WMS-9:20260307:LX1", "", (WarehouseShipmentLine(None, "A", 1),)),
        ("HUB-9:WMS-9:20260307:LX2", "", (WarehouseShipmentLine(None, "B", 1),))]


def test_ship_date_from_g62_when_w0603_is_empty():
    advice = read_one([["W06", "F", "HUB-9"], ["N1", "SF", "W"], ["G62", "11", "20260308"],
                       ["LX", "1"], ["W12", "CC", "1", "1", "", "", "", "SK", "A"]])
    assert advice.ship_date == date(2026, 3, 8)


def test_infoplus_style_tracking_in_man04():
    profile = PartnerProfile(tracking=(MAN04_CN,))
    advice = read_one(HEADER + [["LX", "1"], ["MAN", "2", "UPSN", "", "CN", "1ZINFO"],
                                ["W12", "CC", "1", "1", "", "", "", "SK", "A"]], profile)
    assert advice.shipments[0].tracking_number == "1ZINFO"


def test_header_tracking_in_w27_or_n9_applies_to_every_lx():
    w27 = [["W06", "F", "HUB-9", "20260307"], ["N1", "SF", "W"],
           ["W27", "M", "ODFL", "LTL", "PP", "", "", "PRO123"],
           ["LX", "1"], ["W12", "CC", "1", "1", "", "", "", "SK", "A"],
           ["LX", "2"], ["W12", "CC", "1", "1", "", "", "", "SK", "B"]]
    [shipment] = read_one(w27, PartnerProfile(tracking=(W27_EQUIPMENT,))).shipments
    assert (shipment.key, shipment.tracking_number, len(shipment.lines)) == (
        "HUB-9:PRO123", "PRO123", 2)
    n9 = [w27[0], w27[1], ["N9", "CN", "PRO9"], *w27[3:]]
    [shipment] = read_one(n9, PartnerProfile(tracking=(N9_CN,))).shipments
    assert shipment.tracking_number == "PRO9"


def test_order_reference_elsewhere_per_profile():
    body = [["W06", "F", "WHS-SHIP-1", "20260307", "HUB-9"], ["N1", "SF", "W"],
            ["N9", "CO", "HUB-N9"], ["LX", "1"], ["W12", "CC", "1", "1", "", "", "", "SK", "A"]]
    assert read_one(body, PartnerProfile(order_reference="W0604")).order_number == "HUB-9"
    assert read_one(body, PartnerProfile(order_reference="N9:CO")).order_number == "HUB-N9"
    result = read_945(build([body]), PartnerProfile(order_reference="N9:XX"))
    assert result.rejected[0].reasons == (
        "segment N9 at position 3: mandatory segment missing (no N9*XX carries the order "
        "reference)",)


def test_other_product_qualifiers_and_unknown_statuses_are_kept_with_warnings():
    advice = read_one(HEADER + [["LX", "1"], ["MAN", "CP", "T"],
                                ["W12", "ZZ", "1", "1", "", "", "", "VN", "V-1"]])
    assert advice.items[0].sku == "V-1" and advice.items[0].status == "ZZ"
    assert advice.warnings == (
        "W12 at position 7 has status 'ZZ', which the hub does not know; kept as sent",
        "W12 at position 7: product id qualifier 'VN', the profile expects SK; read as the SKU")


def test_unknown_segments_are_ignored_with_a_warning():
    body = body_of("945")
    result = read_945(build([body[:6] + [["W28", "1", "2"]] + body[6:]]))
    assert result.ok
    assert result.warnings == (
        "segment W28 at position 8 of set 0001 is not read by the hub; ignored",)


def test_business_errors_refuse_the_set_with_997_codes():
    result = read_945(build([HEADER + [
        ["LX", "1"], ["W12", "CC", "1", "1.5", "", "", "", "SK", "A"],
        ["W12", "CP", "1", "", "", "", "", "SK", "B"], ["W12", "CC", "1", "1"]]]))
    [ack] = result.acknowledgments
    assert [(e.segment_id, e.position, e.code, [(x.position, x.code) for x in e.elements])
            for e in ack.sets[0].segment_errors] == [
        ("W12", 6, "8", [(3, "6")]), ("W12", 7, "8", [(3, "2")]), ("W12", 8, "8", [(7, "2")])]


def test_missing_and_repeated_header_segments():
    result = read_945(build([[["N1", "SF", "W"], ["W06", "F", "HUB-9", "20260307"]],
                             [["W06", "F", "HUB-9", "20260307"], ["W06", "F", "HUB-9"]],
                             [["LX", "1"]]]))
    assert [[(e.segment_id, e.position, e.code) for e in s.segment_errors]
            for s in result.acknowledgments[0].sets] == [
        [("W06", 3, "7")], [("W06", 3, "5"), ("N1", 3, "3")], [("W06", 2, "3")]]


def test_a_weight_is_given_to_a_single_package_only():
    body = body_of("945")
    assert [seg[0] for seg in body[12:14]] == ["LX", "MAN"]
    advice = read_one(body[:12] + body[14:])  # the second LX and its MAN removed
    [shipment] = advice.shipments
    assert shipment.weight == Decimal("9.8")
    assert shipment.lines == (WarehouseShipmentLine(1, "TENT-4P-GRN", 1),
                              WarehouseShipmentLine(2, "STOVE-01", 1))

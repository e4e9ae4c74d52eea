"""The 846 reader (specs/x12-warehouse.md §4)."""

from __future__ import annotations

from datetime import date, datetime, time

from dropstream.platforms.base import InventoryLevel
from dropstream.platforms.x12.profile import PartnerProfile
from dropstream.platforms.x12.w846 import read_846
from tests.platforms.x12.helpers import body_of, build, sample

BIA = ["BIA", "00", "SI", "INV-2", "20260307", "0700"]


def read(bodies, profile=None):
    return read_846(build(bodies, functional_id="IB", set_id="846", group_control="7302"),
                    profile)


def test_the_spec_sample_reads_to_the_values_shown():
    result = read_846(sample("846"))
    assert result.ok and result.warnings == ()
    [report] = result.documents
    assert (report.group_control_number, report.set_control_number, report.purpose,
            report.report_type, report.report_id, report.report_date, report.report_time,
            report.as_of, report.facility) == (
        "7302", "0001", "00", "SI", "INV-20260306-01", date(2026, 3, 6), time(6, 0),
        datetime(2026, 3, 6, 6, 0), "LAX1")
    assert report.levels == (InventoryLevel("TENT-4P-GRN", 12, 14, "LAX1"),
                             InventoryLevel("STOVE-01", 0, 3, "LAX1"))
    assert report.on_hand_only == ()
    [ack] = result.acknowledgments
    assert (ack.functional_id, ack.control_number, ack.code) == ("IB", "7302", "A")


def test_as_of_falls_back_to_bia_and_dtm_wins_when_sent():
    [report] = read([[BIA, ["LIN", "", "SK", "A"], ["QTY", "33", "1"]]]).documents
    assert report.as_of == datetime(2026, 3, 7, 7, 0)
    [report] = read([[BIA, ["DTM", "007", "20260307", "065930"], ["LIN", "", "SK", "A"],
                      ["QTY", "33", "1"]]]).documents
    assert report.as_of == datetime(2026, 3, 7, 6, 59, 30)


def test_on_hand_only_reports_are_flagged_and_negative_quantities_kept():
    [report] = read([[BIA, ["LIN", "", "SK", "A"], ["QTY", "17", "5", "EA"],
                      ["LIN", "", "SK", "B"], ["QTY", "33", "-2"], ["QTY", "17", "0"]]]).documents
    assert report.levels == (InventoryLevel("A", 5, 5, ""), InventoryLevel("B", -2, 0, ""))
    assert report.on_hand_only == ("A",)


def test_other_qualifiers_per_profile_and_other_product_ids_with_a_warning():
    profile = PartnerProfile(available_qualifier="QA", on_hand_qualifier="02",
                             product_id_qualifier="VN")
    [report] = read([[BIA, ["LIN", "1", "UP", "0123", "VN", "V-1"], ["QTY", "QA", "4"],
                      ["QTY", "02", "6"], ["LIN", "2", "UP", "0456"], ["QTY", "QA", "1"]]],
                    profile).documents
    assert report.levels == (InventoryLevel("V-1", 4, 6, ""), InventoryLevel("0456", 1, None, ""))
    assert report.warnings == (
        "LIN at position 6: product id qualifier 'UP', the profile expects VN; read as the SKU",)


def test_per_location_quantities_inside_the_lin_loop():
    [report] = read([[BIA, ["N1", "WH", "Main", "ZZ", "LAX1"], ["LIN", "", "SK", "A"],
                      ["QTY", "33", "1"], ["N1", "WH", "East", "ZZ", "NJ1"], ["QTY", "33", "7"]]
                     ]).documents
    assert report.levels == (InventoryLevel("A", 1, None, "LAX1"),
                             InventoryLevel("A", 7, None, "NJ1"))


def test_split_reports_come_back_one_per_set():
    result = read([[BIA, ["LIN", "", "SK", "A"], ["QTY", "33", "1"]],
                   [BIA, ["LIN", "", "SK", "B"], ["QTY", "33", "2"]]])
    assert [(r.set_control_number, [lv.sku for lv in r.levels]) for r in result.documents] == [
        ("0001", ["A"]), ("0002", ["B"])]


def test_wrong_ctt_totals_refuse_the_set():
    body = body_of("846")
    assert body[-1] == ["CTT", "2", "29"]
    result = read([body[:-1] + [["CTT", "3", "28"]], body])
    assert [r.report_id for r in result.documents] == ["INV-20260306-01"]
    [ack] = result.acknowledgments
    assert ack.code == "P"
    assert ack.sets[0].messages() == [
        "one or more segments in error",
        "segment CTT at position 13: segment has data element errors (CTT01 says 3 line items, "
        "the set has 2 LIN)",
        "segment CTT at position 13: segment has data element errors (CTT02 hash total 28 is not "
        "the sum of the QTY02 values (29))"]


def test_bad_quantities():
    result = read([[BIA, ["LIN", "", "SK", "A"], ["QTY", "33", "1.5"]],
                   [BIA, ["LIN", "", "SK", "A"], ["QTY", "33", "", "", "MANY"], ["QTY", "17", "3"]],
                   [BIA, ["LIN", "", "SK", "A"], ["QTY", "33", "x1"]]])
    sets = result.acknowledgments[0].sets
    assert [(e.segment_id, [(x.position, x.code, x.bad_value) for x in e.elements])
            for e in sets[0].segment_errors] == [("QTY", [(2, "6", "1.5")])]
    assert sets[1].code == "A"
    assert result.documents[0].levels == (InventoryLevel("A", 3, 3, ""),)
    assert result.documents[0].warnings == (
        "QTY at position 4 for A has no numeric quantity ('MANY'); skipped",)
    assert [(x.position, x.code) for x in sets[2].segment_errors[0].elements] == [(2, "6")]


def test_missing_bia_or_lin():
    result = read([[["LIN", "", "SK", "A"]], [BIA, ["CTT", "0"]]])
    assert [[(e.segment_id, e.position, e.code) for e in s.segment_errors]
            for s in result.acknowledgments[0].sets] == [[("BIA", 2, "3")], [("LIN", 3, "3")]]

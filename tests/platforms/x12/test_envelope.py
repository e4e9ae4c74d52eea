"""The envelope reader: delimiters, tolerance, and every defect with its reason and 997 codes
(specs/x12-warehouse.md §1, §5.2, §7, §8 rows 1, 2, 12)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dropstream.platforms.x12.envelope import Delimiters, parse_interchange
from dropstream.platforms.x12.w945 import read_945
from dropstream.platforms.x12.w997 import write_997
from tests.platforms.x12.helpers import (
    body_of,
    build,
    isa,
    replace_line,
    sample,
    warehouse_envelope,
)

ISA_945 = ("ISA*00*          *00*          *ZZ*WHSRECEIVER    *ZZ*HUBSENDER      *260305*1432*"
           "U*00401*000002201*1*T*>")


def three_sets(*, damage=None) -> bytes:
    """A 945 group of three sets (orders A, B, C); ``damage(data)`` may spoil one."""
    bodies = []
    for order in ("HUB-A", "HUB-B", "HUB-C"):
        body = [list(seg) for seg in body_of("945")]
        body[0][2] = order
        bodies.append(body)
    data = build(bodies)
    return damage(data) if damage else data


def ack_lines(data: bytes) -> list[str]:
    result = read_945(data)
    out = write_997(result.acknowledgments, warehouse_envelope(9, 9))
    lines = out.decode().splitlines()
    return [line.rstrip("~") for line in lines if line.startswith("AK")]


# -- reading delimiters and tolerance -------------------------------------------------------------


def test_the_sample_envelope_is_read_exactly():
    interchange = parse_interchange(sample("945"))
    assert interchange.ok
    assert interchange.delimiters == Delimiters("*", ">", "~")
    assert (interchange.sender_qualifier, interchange.sender_id, interchange.receiver_qualifier,
            interchange.receiver_id) == ("ZZ", "WHSRECEIVER", "ZZ", "HUBSENDER")
    assert interchange.created_at == datetime(2026, 3, 5, 14, 32)
    assert (interchange.control_number, interchange.version, interchange.usage,
            interchange.acknowledgment_requested) == ("000002201", "00401", "T", "1")
    [group] = interchange.groups
    assert (group.functional_id, group.sender, group.receiver, group.date, group.time,
            group.control_number, group.version, group.included) == (
        "SW", "WHSRECEIVER", "HUBSENDER", "20260305", "1432", "7301", "004010", 1)
    [transaction_set] = group.sets
    assert (transaction_set.set_id, transaction_set.control_number) == ("945", "0001")
    assert [s.tag for s in transaction_set.segments][:3] == ["W06", "N1", "N1"]
    assert transaction_set.segments[0].position == 2  # ST = 1
    assert transaction_set.segments[0].index == 4  # ISA = 1


@pytest.mark.parametrize("element,component,terminator,suffix", [
    ("|", "^", "\n", ""), ("^", ":", "'", "\r\n"), ("*", ">", "~", ""),
    ("\x1d", "\x1f", "\x1c", ""),
])
def test_delimiters_come_from_each_isa(element, component, terminator, suffix):
    data = build([body_of("945")], element=element, component=component, terminator=terminator,
                 suffix=suffix)
    result = read_945(data)
    assert result.ok, result.rejected
    assert parse_interchange(data).delimiters == Delimiters(element, component, terminator)
    assert result.documents[0].shipments[1].tracking_number == "1Z999AA10123456795"


def test_bom_crlf_leading_whitespace_and_blank_lines_are_tolerated():
    text = sample("945").decode().replace("~\n", "~\r\n\r\n")
    result = read_945(b"\xef\xbb\xbf\r\n  " + text.encode())
    assert result.ok
    assert result.documents[0].order_number == "HUB-100234"


def test_latin_1_bytes_are_read_without_failing():
    data = replace_line(sample("945"), "N1*SF*LAX-1 Warehouse*ZZ*LAX1",
                        "N1*SF*LAX-1 Entrepôt*ZZ*LAX1")
    result = read_945(data.decode().encode("latin-1"))
    assert result.ok


# -- interchange-level defects: refused as a whole -------------------------------------------


@pytest.mark.parametrize("data,reason", [
    (b"", "empty file"),
    (b"order_number,sku\nA,1\n", "not an X12 interchange: it starts with 'order_numb', not ISA"),
    (sample("945").lower(), "not an X12 interchange: it starts with 'isa*00*   ', not ISA"),
    (sample("945")[:80],
     "the ISA is truncated: the file has 80 characters, the ISA alone needs 106"),
    (sample("945").replace(b"HUBSENDER      *", b"HUBSENDER     *", 1),
     "the ISA is not fixed width: element separators '*' at offsets"),
    (sample("945").replace(b"*00*          *00*", b"*00*~         *00*", 1),
     "character 106 '~' is not the first segment terminator: it already appears at character 8"),
    (sample("945").replace(b"*T*>~", b"*T*>A", 1),
     "unknown delimiters in the ISA: the segment terminator 'A' is not a usable delimiter"),
    (sample("945").replace(b"*T*>~", b"*T**~", 1),
     "unknown delimiters in the ISA: the element separator, component separator and segment "
     "terminator must differ"),
])
def test_an_unreadable_isa_is_refused_with_its_reason_and_nothing_to_acknowledge(data, reason):
    result = read_945(data)
    assert not result.ok
    assert len(result.reasons) == 1 and result.reasons[0].startswith(reason), result.reasons
    assert result.documents == () and result.acknowledgments == ()
    with pytest.raises(ValueError, match="nothing to acknowledge"):
        write_997(result.acknowledgments, warehouse_envelope(9, 9))


@pytest.mark.parametrize("old,new,reason", [
    ("IEA*1*000002201", "IEA*1*000002209", "ISA13 '000002201' and IEA02 '000002209' do not match"),
    ("IEA*1*000002201", "IEA*2*000002201",
     "IEA01 says '2' functional groups, the interchange has 1"),
    ("IEA*1*000002201", "", "the IEA trailer is missing"),
    ("IEA*1*000002201", "IEA*1*000002201~\nISA*00",
     "a second interchange follows the IEA (one per file)"),
    (ISA_945, ISA_945.replace("*00401*", "*00501*"),
     "ISA12 version '00501' is not supported (only 00401)"),
    (ISA_945, ISA_945.replace("*260305*", "*261305*"), "ISA09 '261305' is not a valid YYMMDD date"),
])
def test_interchange_trailer_defects_refuse_every_group_and_set(old, new, reason):
    result = read_945(replace_line(sample("945"), old, new))
    assert reason in result.reasons
    assert result.documents == ()
    [rejected] = result.rejected
    assert f"the interchange was refused: {reason}" in rejected.reasons
    [ack] = result.acknowledgments
    assert (ack.code, ack.errors, ack.accepted_count) == ("R", (), 0)
    assert [(s.code, s.errors) for s in ack.sets] == [("R", ())]
    assert ack_lines(replace_line(sample("945"), old, new)) == [
        "AK1*SW*7301", "AK2*945*0001", "AK5*R", "AK9*R*1*1*0"]


def test_a_file_without_final_terminator_is_refused():
    data = sample("945").rstrip(b"~\n")
    result = read_945(data)
    assert result.reasons == (
        "the file ends without a segment terminator after 'IEA*1*000002201'",
        "the IEA trailer is missing")


# -- group-level defects: AK9 R with AK905 codes ---------------------------------------------


@pytest.mark.parametrize("old,new,codes,reason", [
    ("GE*1*7301", "GE*2*7301", ("5",), "GE01 says '2' transaction sets, group 7301 has 1"),
    ("GE*1*7301", "GE*1*7399", ("4",), "GS06 '7301' and GE02 '7399' do not match"),
    ("GE*1*7301", "", ("3",), "functional group 7301 has no GE trailer"),
    ("GS*SW*WHSRECEIVER*HUBSENDER*20260305*1432*7301*X*004010",
     "GS*SW*WHSRECEIVER*HUBSENDER*20260305*1432*7301*X*005010", ("2",),
     "GS08 version '005010' is not 004010"),
    ("GS*SW*WHSRECEIVER*HUBSENDER*20260305*1432*7301*X*004010",
     "GS*SW*WHSRECEIVER*HUBSENDER*20260305*1432*73A1*X*004010", ("6", "4"),
     "GS06 group control number '73A1' is not 1 to 9 digits"),
])
def test_group_defects_reject_the_group_with_ak905_codes(old, new, codes, reason):
    data = replace_line(sample("945"), old, new)
    result = read_945(data)
    [ack] = result.acknowledgments
    assert (ack.code, ack.errors, ack.accepted_count) == ("R", codes, 0)
    assert reason in ack.reasons
    assert result.documents == ()
    lines = ack_lines(data)
    assert lines[-1] == "AK9*R*" + ("2" if "GE*2" in new else "1") + "*1*0*" + "*".join(codes)
    assert lines[-2] == "AK5*R"


def test_a_group_the_reader_does_not_handle_is_not_supported():
    data = build([body_of("846")], functional_id="IB", set_id="846")
    result = read_945(data)
    [ack] = result.acknowledgments
    assert (ack.code, ack.errors) == ("R", ("1",))
    assert [(s.code, s.errors) for s in ack.sets] == [("R", ("1",))]
    assert ack.reasons == ("a IB group is not read here",)


def test_an_unknown_functional_group():
    data = build([body_of("945")], functional_id="PO", set_id="850")
    [ack] = read_945(data).acknowledgments
    assert (ack.code, ack.errors) == ("R", ("1",))
    assert "GS01 'PO' is not a functional group the hub handles" in ack.reasons


# -- set-level defects: that set R, the others go through -----------------------------------------


def damage_second(old: str, new: str):
    def damage(data: bytes) -> bytes:
        text = data.decode()
        first = text.index("ST*945*0002~")
        end = text.index("ST*945*0003~")
        part = text[first:end]
        assert part.count(old) == 1, (old, part)
        return (text[:first] + part.replace(old, new) + text[end:]).encode()
    return damage


@pytest.mark.parametrize("old,new,codes,reason", [
    ("SE*19*0002~", "SE*18*0002~", ("4",),
     "SE01 says '18' segments, transaction set 0002 has 19"),
    ("SE*19*0002~", "SE*19*0009~", ("3",), "ST02 '0002' and SE02 '0009' do not match"),
    ("SE*19*0002~\n", "", ("2",), "transaction set 0002 has no SE trailer"),
    ("ST*945*0002~", "ST*945*0001~", ("23", "3"),
     "ST02 control number 0001 is used twice in the group"),
    ("ST*945*0002~", "ST*856*0002~", ("6",), "ST01 856 does not belong in a group of 945 sets"),
    ("ST*945*0002~", "ST*945*02~", ("7", "3"), "ST02 control number '02' is not 4 to 9 characters"),
])
def test_a_damaged_set_is_rejected_and_the_two_good_ones_are_read(old, new, codes, reason):
    data = three_sets(damage=damage_second(old, new))
    result = read_945(data)
    assert [advice.order_number for advice in result.documents] == ["HUB-A", "HUB-C"]
    [rejected] = result.rejected
    assert reason in rejected.reasons
    [ack] = result.acknowledgments
    assert (ack.code, ack.included, ack.received, ack.accepted_count) == ("P", 3, 3, 2)
    assert [(s.control_number, s.code, s.errors) for s in ack.sets][0] == ("0001", "A", ())
    assert [s.errors for s in ack.sets if s.code == "R"] == [codes]


def test_a_damaged_st_becomes_an_unidentified_set_between_two_good_ones():
    data = three_sets(damage=damage_second("ST*945*0002~", "SX*945*0002~"))
    result = read_945(data)
    assert [advice.order_number for advice in result.documents] == ["HUB-A", "HUB-C"]
    [ack] = result.acknowledgments
    assert [(s.set_id, s.control_number, s.code, s.errors) for s in ack.sets] == [
        ("945", "0001", "A", ()), ("945", "0002", "R", ("6",)), ("945", "0003", "A", ())]
    assert "segment SX at file segment 22 is not inside a transaction set (its ST is missing or " \
           "damaged)" in ack.sets[1].reasons
    assert ack_lines(data) == ["AK1*SW*7301", "AK2*945*0001", "AK5*A", "AK2*945*0002",
                               "AK5*R*6", "AK2*945*0003", "AK5*A", "AK9*P*3*3*2"]


def test_a_lower_case_segment_id_is_an_unrecognized_segment():
    data = three_sets(damage=damage_second("W12*CC*1*1*0*EA**SK*STOVE-01~",
                                           "w12*CC*1*1*0*EA**SK*STOVE-01~"))
    result = read_945(data)
    [ack] = result.acknowledgments
    bad = ack.sets[1]
    assert (bad.code, bad.errors) == ("R", ("5",))
    assert [(e.segment_id, e.position, e.code) for e in bad.segment_errors] == [("w12", 16, "1")]
    assert bad.messages() == [
        "one or more segments in error",
        "segment w12 at position 16: unrecognized segment ID ('w12' is not an X12 segment id)"]
    assert "AK3*w12*16**1" in ack_lines(data)


def test_element_errors_name_the_segment_element_and_value():
    data = three_sets(damage=damage_second("W06*F*HUB-B*20260306*", "W06*F*HUB-B*20261306*"))
    [ack] = read_945(data).acknowledgments
    [error] = ack.sets[1].segment_errors
    assert (error.segment_id, error.position, error.code) == ("W06", 2, "8")
    assert [(e.position, e.reference, e.code, e.bad_value) for e in error.elements] == [
        (3, 373, "8", "20261306")]
    lines = ack_lines(data)
    assert lines[3:7] == ["AK2*945*0002", "AK3*W06*2**8", "AK4*3*373*8*20261306", "AK5*R*5"]
    assert lines[-1] == "AK9*P*3*3*2"


def test_every_set_bad_rejects_the_group():
    data = build([[["W06", "F"], ["N1", "SF", "X"]]])
    result = read_945(data)
    [ack] = result.acknowledgments
    assert (ack.code, ack.accepted_count) == ("R", 0)
    assert result.rejected[0].reasons == (
        "segment W06 at position 2: segment has data element errors; element 2 (data element "
        "324) conditional required data element missing (W0602 (the order reference) is empty)",
        "segment W06 at position 2: segment has data element errors; element 3 (data element "
        "373) conditional required data element missing (no ship date in W0603 or G62*11)")


def test_isa_helper_matches_the_sample():
    assert isa(control="000002201").replace("*0*T*", "*1*T*") == ISA_945

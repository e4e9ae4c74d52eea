"""The 997 reader and writer (specs/x12-warehouse.md §5)."""

from __future__ import annotations

import pytest

from dropstream.platforms.x12.acks import GroupAck, SetAck
from dropstream.platforms.x12.inbound import of_type, read_inbound
from dropstream.platforms.x12.w846 import InventoryReport
from dropstream.platforms.x12.w940 import read_940
from dropstream.platforms.x12.w945 import ShippingAdvice
from dropstream.platforms.x12.w997 import Acknowledgment, read_997, write_997
from tests.platforms.x12.helpers import (
    SAMPLE_ENVELOPE,
    build,
    replace_line,
    sample,
    warehouse_envelope,
)


def test_the_accepting_sample_reads_to_the_values_shown():
    result = read_997(sample("997_accept"))
    assert result.ok and result.acknowledgments == ()  # a 997 is never acknowledged
    [received] = result.documents
    assert (received.group_control_number, received.set_control_number) == ("7303", "0001")
    ack = received.acknowledged
    assert (ack.functional_id, ack.control_number, ack.code, ack.included, ack.received,
            ack.accepted_count, ack.errors, ack.accepted, ack.text) == (
        "OW", "5001", "A", 1, 1, 1, (), True, "accepted")
    assert ack.sets == (SetAck("940", "0001", "A"),)


def test_the_rejecting_sample_reads_to_the_codes_and_their_text():
    [received] = read_997(sample("997_reject")).documents
    ack = received.acknowledged
    assert (ack.control_number, ack.code, ack.accepted_count, ack.accepted) == ("5002", "R", 0,
                                                                                False)
    [set_ack] = ack.sets
    assert (set_ack.set_id, set_ack.control_number, set_ack.code, set_ack.errors) == (
        "940", "0001", "R", ("5",))
    [error] = set_ack.segment_errors
    assert (error.segment_id, error.position, error.loop_id, error.code) == ("W01", 13, "", "8")
    [element] = error.elements
    assert (element.position, element.component, element.reference, element.code,
            element.bad_value) == (2, None, 355, "7", "XX")
    assert set_ack.text == "rejected"
    assert set_ack.messages() == [
        "one or more segments in error",
        "segment W01 at position 13: segment has data element errors; element 2 (data element "
        "355) invalid code value 'XX'"]


def test_the_writer_reproduces_the_accepting_sample_from_the_940_read():
    result = read_940(sample("940"))
    assert write_997(result.acknowledgments, warehouse_envelope(2203, 7303)) == \
        sample("997_accept")


def test_the_writer_reproduces_the_rejecting_sample_for_a_bad_unit():
    data = replace_line(sample("940"), "W01*2*EA**SK*TENT-4P-GRN", "W01*2*XX**SK*TENT-4P-GRN")
    data = data.replace(b"*5001*", b"*5002*").replace(b"GE*1*5001~", b"GE*1*5002~")
    result = read_940(data)
    assert result.documents == ()
    assert write_997(result.acknowledgments, warehouse_envelope(2204, 7304)) == \
        sample("997_reject")


def test_p_is_accepted_in_ak501_and_components_in_ak401():
    body = [["AK1", "SW", "12"], ["AK2", "945", "0001"], ["AK3", "W12", "7", "0300", "8"],
            ["AK4", "3>1", "382", "6", "1.5"], ["AK5", "P", "5"], ["AK2", "945", "0002"],
            ["AK5", "A"], ["AK9", "P", "2", "2", "1", "5"]]
    [received] = read_997(build([body], functional_id="FA", set_id="997")).documents
    ack = received.acknowledged
    assert (ack.code, ack.errors, ack.text) == (
        "P", ("5",), "partially accepted, at least one transaction set was rejected")
    assert ack.messages() == ["number of included transaction sets does not match actual count"]
    first = ack.sets[0]
    assert first.code == "P"
    assert first.segment_errors[0].loop_id == "0300"
    element = first.segment_errors[0].elements[0]
    assert (element.position, element.component, element.reference) == (3, 1, 382)


def test_malformed_997_sets_are_refused():
    result = read_997(build([
        [["AK2", "940", "0001"], ["AK5", "A"], ["AK9", "A", "1", "1", "1"]],
        [["AK1", "OW", "1"], ["AK2", "940", "0001"], ["AK9", "A", "1", "1", "1"]],
        [["AK1", "OW", "1"], ["AK4", "1", "", "1"], ["AK9", "Q", "1", "1", "1"]],
        [["AK1", "OW", "1"], ["AK2", "940", "0001"], ["AK5", "A"]],
    ], functional_id="FA", set_id="997"))
    assert result.documents == ()
    assert [r.reasons for r in result.rejected] == [
        ("segment AK1 at position 2: mandatory segment missing (AK1 must follow ST)",),
        ("segment AK5 at position 4: mandatory segment missing (AK2 0001 has no AK5)",),
        ("segment AK4 at position 3: unexpected segment (outside an AK2 loop)",
         "segment AK9 at position 4: segment has data element errors; element 1 (data element "
         "715) invalid code value 'Q'"),
        ("segment AK9 at position 5: mandatory segment missing (the AK9 is missing)",)]


def test_acknowledgments_of_997s_are_not_written():
    with pytest.raises(ValueError, match="nothing to acknowledge"):
        write_997([GroupAck("FA", "1", "A", 1, 1, 1)], SAMPLE_ENVELOPE)


def test_the_hub_never_sends_ak501_p():
    with pytest.raises(ValueError, match="never sends AK501 = P"):
        write_997([GroupAck("SW", "1", "P", 1, 1, 0, sets=(SetAck("945", "0001", "P"),))],
                  SAMPLE_ENVELOPE)


def test_several_groups_get_one_997_set_each_and_odd_values_are_cleaned():
    acks = [GroupAck("SW", "7301", "A", 1, 1, 1, sets=(SetAck("945", "0001", "A"),)),
            GroupAck("IB", "7302", "R", 1, 1, 0, sets=(SetAck(
                "846", "0001", "R", ("5",), (), ()),)),
            GroupAck("SW", "7305", "R", 1, 1, 0, sets=(SetAck("945", "", "R", ("6", "2")),))]
    lines = write_997(acks, SAMPLE_ENVELOPE).decode().splitlines()
    assert lines[2:] == [
        "ST*997*0001~", "AK1*SW*7301~", "AK2*945*0001~", "AK5*A~", "AK9*A*1*1*1~",
        "SE*6*0001~", "ST*997*0002~", "AK1*IB*7302~", "AK2*846*0001~", "AK5*R*5~",
        "AK9*R*1*1*0~", "SE*6*0002~", "ST*997*0003~", "AK1*SW*7305~", "AK9*R*1*1*0~",
        "SE*4*0003~", "GE*3*5001~", "IEA*1*000000101~"]
    assert lines[1] == "GS*FA*HUBSENDER*WHSRECEIVER*20260305*1432*5001*X*004010~"


def test_read_inbound_reads_945_846_and_997_groups_alike():
    for name, kind in (("945", ShippingAdvice), ("846", InventoryReport),
                       ("997_reject", Acknowledgment)):
        result = read_inbound(sample(name))
        assert result.ok
        assert len(of_type(result, kind)) == 1
    assert [a.functional_id for a in read_inbound(sample("945")).acknowledgments] == ["SW"]
    [ack] = read_inbound(sample("940")).acknowledgments
    assert (ack.code, ack.errors) == ("R", ("1",))

"""The simulator's own X12 reader and writer (§1.2 delimiters, §7 encoding rules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dropstream.sandbox.edi.x12 import (
    Delimiters,
    EnvelopeParties,
    OutgoingSet,
    X12Error,
    envelope,
    parse,
    quantity,
    render,
    segment,
)
from tests.sandbox.edi.edifiles import SPEC_940

PARTIES = EnvelopeParties("ZZ", "WHSRECEIVER", "ZZ", "HUBSENDER", "WHSRECEIVER", "HUBSENDER")
WHEN = datetime(2026, 3, 5, 14, 32, tzinfo=UTC)


def test_it_reads_the_spec_sample_and_its_envelope():
    interchange = parse(SPEC_940.encode())

    assert interchange.delimiters == Delimiters("*", ">", "~", "\n")
    assert (interchange.sender, interchange.receiver, interchange.control,
            interchange.usage) == ("HUBSENDER", "WHSRECEIVER", "000000101", "T")
    [group] = interchange.groups
    assert (group.functional_id, group.control, group.ge.get(1)) == ("OW", "5001", "1")
    [ts] = group.sets
    assert (ts.set_id, ts.control, ts.se.get(1), len(ts.body) + 2) == ("940", "0001", "21", 21)
    assert ts.body[11].tag == "W01" and ts.position_of(11) == 13
    assert interchange.problems == []


@pytest.mark.parametrize("element, component, terminator, suffix", [
    ("|", "^", "~", ""), ("^", ":", "\n", ""), ("*", ">", "'", "\r\n"), ("|", ">", "~", "\n")])
def test_delimiters_come_from_each_isa(element, component, terminator, suffix):
    text = SPEC_940.replace("~\n", "\x00").replace("*", element).replace(">", "\x01")
    text = text.replace("\x01", component).replace("\x00", terminator + suffix)

    interchange = parse(text.encode())

    assert interchange.delimiters == Delimiters(element, component, terminator, suffix)
    [ts] = interchange.groups[0].sets
    assert [seg.tag for seg in ts.body][:2] == ["W05", "N1"]
    assert ts.body[0].elements == ("N", "HUB-100234", "PO-77812")
    assert ts.se.get(1) == "21"


def test_a_bom_and_crlf_are_tolerated_but_not_a_missing_isa():
    assert parse(b"\xef\xbb\xbf" + SPEC_940.replace("\n", "\r\n").encode()).control == \
        "000000101"
    for bad, message in ((b"", "empty"), (b"hello world", "ISA"),
                         (SPEC_940[:90].encode(), "cut short"),
                         (SPEC_940.replace("HUBSENDER      ", "HUBSENDER", 1).encode(),
                          "fixed-width")):
        with pytest.raises(X12Error, match=message):
            parse(bad)


def test_missing_trailers_are_kept_as_none_for_the_997():
    text = SPEC_940.replace("SE*21*0001~\n", "").replace("IEA*1*000000101~\n", "")

    interchange = parse(text.encode())

    assert interchange.groups[0].sets[0].se is None
    assert interchange.groups[0].ge is not None
    assert "the IEA trailer is missing" in interchange.problems


def test_writing_trims_trailing_elements_cleans_values_and_pads_only_the_isa():
    delimiters = Delimiters("*", ">", "~", "\n")
    sets = [OutgoingSet("945", [segment("W01", 2, "EA", "", "SK", "X", "", ""),
                                segment("NTE", "WHI", "a*b~c>d\r\ne")])]

    segments = envelope("SW", sets, parties=PARTIES, when=WHEN, isa13=42, gs06=7,
                        delimiters=delimiters)
    text = render(segments, delimiters)

    lines = text.splitlines()
    assert len(lines[0]) == 106
    assert lines[0] == ("ISA*00*          *00*          *ZZ*WHSRECEIVER    *ZZ*HUBSENDER      "
                        "*260305*1432*U*00401*000000042*0*T*>~")
    assert lines[1:] == ["GS*SW*WHSRECEIVER*HUBSENDER*20260305*1432*7*X*004010~",
                         "ST*945*0001~", "W01*2*EA**SK*X~", "NTE*WHI*a b c d  e~",
                         "SE*4*0001~", "GE*1*7~", "IEA*1*000000042~"]


@pytest.mark.parametrize("delimiters", [Delimiters("|", "^", "~", ""),
                                        Delimiters("^", ">", "\n", ""),
                                        Delimiters("*", ":", "~", "\r\n")])
def test_what_it_writes_it_reads_back_with_any_separators(delimiters):
    sets = [OutgoingSet("846", [segment("BIA", "00", "SI", "INV-1", "20260305"),
                                segment("QTY", "33", 12, "EA")])]
    text = render(envelope("IB", sets, parties=PARTIES, when=WHEN, isa13=5, gs06=6,
                           delimiters=delimiters), delimiters)

    interchange = parse(text.encode())

    assert interchange.delimiters == delimiters
    assert interchange.isa.get(16) == delimiters.component
    assert [seg.elements for seg in interchange.groups[0].sets[0].body] == [
        ("00", "SI", "INV-1", "20260305"), ("33", "12", "EA")]
    assert interchange.problems == []


def test_quantities_have_decimals_only_when_needed():
    assert [quantity(value) for value in (3, 2.5, "2.50", 0, 14.0)] == ["3", "2.5", "2.5", "0",
                                                                       "14"]


def test_bad_delimiter_choices_are_refused():
    for bad in (("*", "*", "~"), ("A", ">", "~"), ("*", ">", " ")):
        with pytest.raises(ValueError):
            Delimiters(*bad)

"""Inputs the fuzzer (tests/fuzz, benchmarks/fuzz.py) found that broke the X12 readers; each is
also a file in ``tests/corpus/``."""

from __future__ import annotations

from dropstream.platforms.x12.envelope import parse_interchange
from dropstream.platforms.x12.inbound import read_inbound
from dropstream.platforms.x12.mapping import problems_of
from tests.platforms.x12.helpers import sample


def test_a_file_holding_nul_is_refused_whole_with_the_reason():
    # Element values with NUL reached the problems text, the 997's bad values and shipments:
    # none of them can be stored in PostgreSQL.
    data = sample("945").replace(b"UPSN", b"UP\x00N", 1)

    result = read_inbound(data)

    assert result.documents == ()
    assert result.interchange.delimiters is None
    assert result.interchange.reasons[0].startswith("the file holds a NUL character (at "
                                                    "character ")
    assert all("\x00" not in problem for problem in problems_of(result))


def test_a_ge01_of_thousands_of_digits_is_a_count_error_not_a_crash():
    # int() of a 5,000-digit GE01 raised ValueError out of a reader that never raises.
    text = sample("945").decode("ascii")
    start = text.index("GE*") + 3
    end = text.index("*", start)
    data = (text[:start] + "9" * 5000 + text[end:]).encode("ascii")

    interchange = parse_interchange(data)

    group = interchange.groups[0]
    assert group.included is None
    assert "5" in group.errors
    assert any(reason.startswith("GE01 says") for reason in group.reasons)


def test_unicode_digits_are_not_x12_numbers():
    # \d matched "٣" (and int() read it): GE01 is ASCII digits only.
    text = sample("945").decode("ascii")
    start = text.index("GE*") + 3
    end = text.index("*", start)
    data = (text[:start] + "\u0661" + text[end:]).encode("utf-8")

    group = parse_interchange(data).groups[0]

    assert group.included is None
    assert "5" in group.errors

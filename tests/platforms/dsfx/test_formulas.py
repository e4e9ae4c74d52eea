"""No value the hub writes into an order file can start a spreadsheet formula (issue 18 #8).

A spreadsheet executes a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR — also
after leading spaces, and after a line break the writer turns into a space. ``+``/``-`` are
harmless only when the whole value is a number (``-5``, ``+15550100``).
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dropstream.platforms.base import Address
from dropstream.platforms.dsfx import format as fmt
from tests.platforms.dsfx.factories import CREATED_AT, make_order

TRIGGERS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"  # with the full-width forms
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")

# Mostly the characters that matter, so hypothesis finds the edges quickly; any text too.
risky = st.text(st.sampled_from([*TRIGGERS, "\n", "\x0b", " ", "\u00a0", "1", "0", ".", "e",
                                 "E", "'", "A", "|", "!", "(", "\u2028", "\u0663", "\u00b2"]),
                max_size=12)
texts = st.one_of(risky, st.text(max_size=30))


def is_safe(written: str) -> bool:
    """True when a spreadsheet would read ``written`` as text or as a plain number."""
    if NUMBER.fullmatch(written.strip()):
        return True
    first, first_visible = written[:1], written.lstrip()[:1]
    return all(c == "" or c not in TRIGGERS for c in (first, first_visible))


@given(texts)
@example("+1+cmd|' /C calc'!A0")
@example("-1+1")
@example("\n=HYPERLINK(\"http://x\")")
@example("\r\n@SUM(A1)")
@example(" \t=1+1")
@example("+\u0663")  # a non-ASCII digit is not a number to a spreadsheet
def test_no_written_value_starts_a_formula_unless_it_is_a_number(value):
    written = fmt._clean_value(value, True)

    assert is_safe(written), (value, written)
    assert not CONTROL.search(written)
    # Neutralising only ever adds one leading quote; the text itself is kept.
    assert written in (CONTROL.sub(" ", value), "'" + CONTROL.sub(" ", value))


@settings(max_examples=60, deadline=None)
@given(texts)
@example("\x1b")  # empty once written: found by CI
def test_every_field_of_a_written_order_file_is_safe(value):
    # The format refuses a name or street that is empty once written (control characters only).
    required = value if fmt._as_written(value) else "x"
    ship_to = Address(name=required, street1=required, city="X", state="NY",
                      postal_code="10001", country="US", phone=value)
    order = make_order(ship_to=ship_to, bill_to=ship_to, customer_notes=value,
                       po_number=value, gift_message=value)

    content = fmt.write_orders([order], created_at=CREATED_AT).content

    for row in csv.reader(io.StringIO(content.decode("utf-8"), newline="")):
        for cell in row:
            assert is_safe(cell), (value, cell)


@pytest.mark.parametrize(("value", "written"), [
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-1+1", "'-1+1"),
    ("\n=HYPERLINK(\"x\")", "' =HYPERLINK(\"x\")"),
    ("  =1+1", "'  =1+1"),
    ("+1 555 0100", "'+1 555 0100"),
    ("+15550100", "+15550100"),
    ("-12.50", "-12.50"),
    ("1e5", "1e5"),
    ("\tTab", " Tab"),
    ("Plain", "Plain"),
    ("", ""),
    ("\t", " "),
])
def test_exact_values(value, written):
    assert fmt._clean_value(value, True) == written


def test_neutralise_alone_also_quotes_a_leading_tab_or_cr():
    assert fmt.neutralise("\t") == "'\t"
    assert fmt.neutralise("\r=1") == "'\r=1"
    assert fmt.neutralise(" -5 ") == " -5 "

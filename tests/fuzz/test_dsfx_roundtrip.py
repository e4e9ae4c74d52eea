"""DSFX round trips over generated data with hostile text:

- orders → ``write_orders`` → the warehouse's reader (the sandbox's ``parse_order_file``) give
  back every order number, line number, SKU (as the writer cleans it) and quantity;
- shipment and inventory rows written the way warehouses write CSV (header or not, any column
  order, minimal or full quoting, LF or CRLF, a BOM) → ``read_shipments`` / ``read_inventory``
  give back the same packages and levels, with no row error.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream.platforms.base import WarehouseOrderLine
from dropstream.platforms.dsfx.format import (
    INVENTORY_COLUMNS,
    SHIPMENT_COLUMNS,
    _as_written,
    _clean_value,
    dsfx_order_number,
    read_inventory,
    read_shipments,
    write_orders,
)
from dropstream.sandbox.warehouse.orders import parse_order_file
from tests.platforms.dsfx.factories import CREATED_AT, make_order

FEW = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
               database=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NASTY = st.sampled_from(list(',"\'\r\n\t;=+-@|*~\x00\x7f\u2028\u00e9\u738b\U0001f600 '))
TEXT = st.text(alphabet=st.one_of(NASTY, st.characters(codec="utf-8", exclude_characters="\x00")),
               max_size=30)
# Values a warehouse writes in a cell: printable, no NUL, not only spaces (the reader trims).
CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
               min_size=1, max_size=20).map(str.strip).filter(bool)
NUMBER = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=12)


@st.composite
def order_batches(draw):
    numbers = draw(st.lists(NUMBER, min_size=1, max_size=3, unique=True))
    orders = []
    for number in numbers:
        skus = draw(st.lists(st.text(alphabet=st.one_of(NASTY, st.characters(codec="utf-8")),
                                     min_size=1, max_size=12)
                             .filter(lambda s: _as_written(s) and "\x00" not in s
                                     and s.encode("utf-8", "surrogatepass").decode(
                                         "utf-8", "ignore") == s),
                             min_size=1, max_size=4))
        lines = tuple(WarehouseOrderLine(i, sku, draw(st.integers(1, 10**6)),
                                         Decimal(draw(st.integers(0, 10**6))) / 100)
                      for i, sku in enumerate(skus, start=1))
        orders.append(make_order(number, lines=lines, customer_notes=draw(TEXT),
                                 gift_message=draw(TEXT), po_number=draw(TEXT)))
    return orders


@FEW
@given(order_batches(), st.sampled_from([1, 2, 3]))
def test_written_order_files_read_back_with_every_number_line_sku_and_quantity(orders, version):
    written = write_orders(orders, created_at=CREATED_AT, ph_version=version, facility="LAX")

    received = parse_order_file(written.name, written.content)

    assert [r.order_number for r in received] == [dsfx_order_number(o.order_number)
                                                  for o in orders]
    assert [r.ph_version for r in received] == [version] * len(orders)
    for order, got in zip(orders, received, strict=True):
        assert [(li.line_number, li.sku, li.quantity) for li in got.lines] == [
            (li.line_number, _clean_value(li.sku, True).strip(), li.quantity)
            for li in order.lines]


def _csv(header: tuple[str, ...], rows: list[dict[str, str]], *, with_header: bool,
         order: list[int], quoting: int, newline: str, bom: bool) -> bytes:
    columns = [header[i] for i in order]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=quoting, lineterminator=newline)
    if with_header:
        writer.writerow(columns)
    writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


LAYOUT = st.fixed_dictionaries({
    "quoting": st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    "newline": st.sampled_from(["\r\n", "\n"]), "bom": st.booleans()})


@st.composite
def packages(draw):
    """(rows, expected {key: (carrier, tracking, {line: quantity})}) for a few packages."""
    rows, expected = [], {}
    for index in range(draw(st.integers(1, 4))):
        order_number, carrier = draw(CELL), draw(CELL)
        tracking = f"T{index}-" + draw(CELL)
        quantities = draw(st.dictionaries(st.integers(1, 50), st.integers(1, 999),
                                          min_size=1, max_size=3))
        for line, quantity in quantities.items():
            rows.append({"order_number": order_number, "line_number": str(line),
                         "quantity": str(quantity), "ship_date": "2024-05-07",
                         "carrier": carrier, "tracking_number": tracking})
        expected[f"{order_number}|t:{tracking}"] = (carrier, tracking, quantities)
    return rows, expected


@FEW
@given(packages(), LAYOUT, st.permutations(range(len(SHIPMENT_COLUMNS))))
def test_shipment_rows_written_any_csv_way_read_back_as_the_same_packages(made, layout, order):
    rows, expected = made
    data = _csv(SHIPMENT_COLUMNS, rows, with_header=True, order=list(order), **layout)

    parsed = read_shipments(data)

    assert parsed.errors == []
    assert {s.key: (s.carrier, s.tracking_number,
                    {li.line_number: li.quantity for li in s.lines})
            for s in parsed.shipments} == expected
    assert {s.ship_date for s in parsed.shipments} == {date(2024, 5, 7)}


@FEW
@given(st.dictionaries(CELL, st.tuples(st.integers(-50, 10**6), st.integers(0, 10**6)),
                       min_size=1, max_size=6),
       LAYOUT, st.booleans())
def test_inventory_rows_read_back_as_the_same_levels(levels, layout, with_header):
    rows = [{"sku": sku, "available": str(a), "on_hand": str(h), "facility": "LAX"}
            for sku, (a, h) in levels.items()]
    order = list(range(len(INVENTORY_COLUMNS)))  # positional files keep the published order
    data = _csv(INVENTORY_COLUMNS, rows, with_header=with_header, order=order, **layout)

    parsed = read_inventory(data)

    assert parsed.errors == []
    assert {lv.sku: (lv.available, lv.on_hand) for lv in parsed.levels} == {
        sku: (max(0, a), h) for sku, (a, h) in levels.items()}

"""Reading DSFX order files the way a strict warehouse would (specs/dsfx.md, "Order files").

Its own reader over the ``csv`` module, independent of the hub's format code. A file is taken
whole or rejected whole: ``parse_order_file`` returns every order, or raises ``OrderFileError``
listing every problem with its line number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

# PH field counts per layout version (specs/dsfx.md, "PH version 1" and "version 2 and 3").
PH_VERSIONS = {25: 1, 27: 2, 28: 3}
PD_FIELDS = 6
MAX_REASONS = 100

ORDER_NUMBER = re.compile(r"^[A-Za-z0-9_-]+$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
STATE_CODE = re.compile(r"^[A-Z]{2}$")
QUANTITY = re.compile(r"^[0-9]{1,9}$")  # int() of thousands of digits raises
MONEY = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
PAYMENT_TYPES = ("", "P", "C", "T")

# 0-based positions of PH version 1; versions 2 and 3 shift everything from 3 on by one.
_V1_REQUIRED = {3: "ship-to name", 4: "ship-to address 1", 6: "ship-to city",
                7: "ship-to state", 8: "ship-to postal code", 9: "ship-to country",
                19: "ship method"}


class OrderFileError(Exception):
    """The file breaks the DSFX order format; ``reasons`` holds one line per problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons[:3]))
        self.reasons = reasons


@dataclass(frozen=True)
class OrderLine:
    line_number: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReceivedOrder:
    """One order as the warehouse reads it: only what it needs to pick, pack and ship."""

    order_number: str
    ph_version: int
    ship_method: str
    country: str
    facility: str
    lines: tuple[OrderLine, ...]


def is_order_file_name(name: str) -> bool:
    """True for names the warehouse picks up: ``ord_…csv``, not a ``.part`` upload."""
    return name.startswith("ord_") and name.endswith(".csv") and not name.endswith(".part")


def ph_field(fields: list[str], v1_position: int) -> str:
    """The field at its version-1 0-based position, shifted for versions 2 and 3."""
    version = PH_VERSIONS[len(fields)]
    index = v1_position if version == 1 or v1_position < 3 else v1_position + 1
    return fields[index].strip()


@dataclass
class _OpenOrder:
    order_number: str
    ph_version: int
    ship_method: str
    country: str
    facility: str
    line_no: int
    lines: list[OrderLine]


def _check_ph(fields: list[str], line_no: int, reasons: list[str]) -> _OpenOrder | None:
    """Validate one PH row; append problems to ``reasons``; return the order when usable."""
    if len(fields) not in PH_VERSIONS:
        reasons.append(f"line {line_no}: PH has {len(fields)} fields; version 1 has 25, "
                       "version 2 has 27, version 3 has 28")
        return None
    version = PH_VERSIONS[len(fields)]
    order_number = fields[1].strip()
    problems = []
    if not ORDER_NUMBER.match(order_number):
        problems.append(f"order number {order_number!r} may hold only letters, digits, "
                        "'-' and '_'")
    for position, label in _V1_REQUIRED.items():
        if not ph_field(fields, position):
            problems.append(f"{label} is empty")
    country = ph_field(fields, 9)
    if country and not COUNTRY.match(country):
        problems.append(f"ship-to country {country!r} is not an ISO 3166 alpha-2 code")
    state = ph_field(fields, 7)
    if country in ("US", "CA") and state and not STATE_CODE.match(state):
        problems.append(f"ship-to state {state!r} is not a 2-letter postal code")
    payment = ph_field(fields, 20)
    if payment not in PAYMENT_TYPES:
        problems.append(f"ship payment type {payment!r} is not P, C or T")
    order_date = ph_field(fields, 22)
    if order_date and not _is_iso_datetime(order_date):
        problems.append(f"order date {order_date!r} is not ISO 8601")
    if problems:
        reasons.extend(f"line {line_no}: {problem}" for problem in problems)
        return None
    facility = fields[27].strip() if version == 3 else ""
    return _OpenOrder(order_number, version, ph_field(fields, 19), country, facility, line_no, [])


def _check_pd(fields: list[str], line_no: int, order: _OpenOrder | None, after_bad_ph: bool,
              reasons: list[str]) -> OrderLine | None:
    """Validate one PD row against its open order; return the line when usable.

    ``after_bad_ph``: the PH before it was already reported, so a missing order is not news.
    """
    if len(fields) != PD_FIELDS:
        reasons.append(f"line {line_no}: PD has {len(fields)} fields, expected {PD_FIELDS}")
        return None
    order_number, line_text, sku, quantity, price = (value.strip() for value in fields[1:])
    problems = []
    if order is None:
        if not after_bad_ph:
            problems.append("PD without a PH before it")
    elif order_number != order.order_number:
        problems.append(f"PD order number {order_number!r} differs from its PH "
                        f"{order.order_number!r}")
    if not QUANTITY.match(line_text) or int(line_text) < 1:
        problems.append(f"line number {line_text[:20]!r} is not a whole number from 1 "
                        "(at most 9 digits)")
    elif order is not None and any(line.line_number == int(line_text) for line in order.lines):
        problems.append(f"line number {line_text} appears twice in order {order.order_number}")
    if not sku:
        problems.append("SKU is empty")
    if not QUANTITY.match(quantity) or int(quantity) < 1:
        problems.append(f"quantity {quantity[:20]!r} is not a whole number above 0 "
                        "(at most 9 digits)")
    if not MONEY.match(price) or not _is_decimal(price):
        problems.append(f"unit price {price!r} is not a number with two decimals")
    if problems:
        reasons.extend(f"line {line_no}: {problem}" for problem in problems)
        return None
    return OrderLine(int(line_text), sku, int(quantity))


def _is_iso_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_decimal(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _rows(text: str, reasons: list[str]):
    """Yield (line number, fields) for each non-blank record; a CSV error ends the file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reasons.append(f"line {reader.line_num}: not valid CSV ({exc})")
            return
        if any(value.strip() for value in fields):
            yield reader.line_num, fields


def parse_order_file(name: str, data: bytes) -> list[ReceivedOrder]:
    """Return the orders in one order file, in file order.

    Raises OrderFileError listing every problem (line by line) when any row is malformed,
    when an order has no PD lines, or when the name does not carry the first order's number.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrderFileError([f"not UTF-8 (byte {exc.start} cannot be decoded)"]) from None
    reasons: list[str] = []
    orders: list[_OpenOrder] = []
    current: _OpenOrder | None = None
    after_bad_ph = False
    seen: set[str] = set()
    for line_no, fields in _rows(text, reasons):
        record_type = fields[0].strip()
        if any("\x00" in value for value in fields):
            reasons.append(f"line {line_no}: the record holds a NUL character")
            if record_type == "PH":
                current, after_bad_ph = None, True
            continue
        if record_type == "PH":
            current = _check_ph(fields, line_no, reasons)
            after_bad_ph = current is None
            if current is not None:
                if current.order_number in seen:
                    reasons.append(f"line {line_no}: order {current.order_number} appears "
                                   "twice in the file")
                seen.add(current.order_number)
                orders.append(current)
        elif record_type == "PD":
            line = _check_pd(fields, line_no, current, after_bad_ph, reasons)
            if line is not None and current is not None:
                current.lines.append(line)
        else:
            reasons.append(f"line {line_no}: record type {record_type[:20]!r} is not PH or PD")
    for order in orders:
        if not order.lines:
            reasons.append(f"line {order.line_no}: order {order.order_number} has no PD lines")
    if not orders and not reasons:
        reasons.append("the file holds no PH record")
    if orders and not name.startswith(f"ord_{orders[0].order_number}_"):
        reasons.append(f"file name {name!r} does not carry the first order's number "
                       f"(expected ord_{orders[0].order_number}_<datetime>.csv)")
    if reasons:
        raise OrderFileError(reasons[:MAX_REASONS])
    return [ReceivedOrder(order.order_number, order.ph_version, order.ship_method, order.country,
                          order.facility, tuple(order.lines)) for order in orders]

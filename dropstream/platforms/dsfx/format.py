"""DSFX file formats (specs/dsfx.md): the order-file writer and the shipment/inventory readers.

Pure functions: bytes and dataclasses in, bytes and dataclasses out, no I/O.

Writer rules (every one from specs/dsfx.md "CSV conventions" and "Order files"):

- every field double-quoted, UTF-8 without BOM, CRLF, no header row;
- PH version 1 (25 fields), 2 (27: customer email at 4, notes at 27) or 3 (28: + facility);
- dates UTC with ``Z``; money with two decimals;
- order numbers keep only letters, digits, ``-`` and ``_`` (others become ``-``;
  ``dsfx_order_number`` is the mapping, deterministic so it can be recomputed any time);
- values a spreadsheet would execute get a leading ``'`` (``neutralise``);
- **ours:** line breaks and other control characters inside a value become spaces, because the
  published format is one record per line and warehouse parsers split on line ends.

Readers accept a UTF-8 BOM, LF or CRLF, quoted or unquoted fields, and an optional header row
(case-insensitive names; spaces and ``-`` read as ``_``; any column order). Each bad row becomes a
RowError with its line number (the first physical line of the record) and the reason; the
good rows go through. A row that cannot be matched to an order or line, or that ships more
than was ordered, needs the hub's database: callers add those RowErrors themselves.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from dropstream.platforms.base import (
    Address,
    InventoryLevel,
    RowError,
    WarehouseOrder,
    WarehouseShipment,
    WarehouseShipmentLine,
)
from dropstream.platforms.errors import OrderDataError

ORDER_PREFIX = "ord_"
SHIPMENT_PREFIX = "shp_"
INVENTORY_PREFIX = "inv_"
SUFFIX = ".csv"
INVENTORY_LAYOUT = "1"
PH_VERSIONS = (1, 2, 3)
CENT = Decimal("0.01")

# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------

_ORDER_NUMBER_BAD = re.compile(r"[^A-Za-z0-9_-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def dsfx_order_number(order_number: str) -> str:
    """The order number as written: letters, digits, ``-`` and ``_``; anything else is ``-``.

    Raises OrderDataError when nothing is left (an empty order number).
    """
    cleaned = _ORDER_NUMBER_BAD.sub("-", order_number.strip())
    if not cleaned:
        raise OrderDataError("the order has no order number", field="order_number",
                             external_id=order_number)
    return cleaned


# What starts a formula in a spreadsheet cell (OWASP "CSV injection"), with the full-width
# forms some spreadsheets convert. ``+``/``-`` start one too unless the value is a plain number:
# ``+1+cmd|' /C calc'!A0`` and ``-1+1`` are formulas, ``-5`` and ``+15550100`` are numbers.
_FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# ASCII digits only: str.isdigit() also accepts "²" and "٣", which no spreadsheet reads as a
# number.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would execute it (specs/dsfx.md).

    A value executes when its first character, or its first after leading whitespace
    (spreadsheets skip it), is ``=``, ``+``, ``-``, ``@``, tab or CR — except a plain number.
    """
    if not value:
        return value
    visible = value.lstrip()
    starts = {value[0], visible[:1]}
    if not starts & _FORMULA_START:
        return value
    if _PLAIN_NUMBER.fullmatch(visible.rstrip()):
        return value
    return "'" + value


def order_file_name(first_order_number: str, created_at: datetime) -> str:
    """``ord_<ORDERNUMBER>_<YYMMDDHHMMSS>.csv`` with the created time in UTC."""
    stamp = _utc(created_at).strftime("%y%m%d%H%M%S")
    return f"{ORDER_PREFIX}{dsfx_order_number(first_order_number)}_{stamp}{SUFFIX}"


@dataclass(frozen=True)
class OrderFile:
    """A written order file: its name, bytes, and the order numbers as the hub and as written."""

    name: str
    content: bytes
    order_numbers: tuple[str, ...]
    written_numbers: tuple[str, ...]

    @property
    def renamed(self) -> dict[str, str]:
        """Order numbers that the order-number rule changed: hub number → written number."""
        return {a: b for a, b in zip(self.order_numbers, self.written_numbers, strict=True)
                if a != b}


REQUIRED_SHIP_TO = ("name", "street1", "city", "state", "postal_code", "country")


def _as_written(value: object) -> str:
    """The text the writer puts in a cell, trimmed: a value of only control characters (a SKU
    of "\x7f") is empty once written, and the warehouse refuses the whole file for it."""
    return _CONTROL.sub(" ", "" if value is None else str(value)).strip()


def order_problems(order: WarehouseOrder) -> list[tuple[str, str]]:
    """(field, message) for every value the published format requires and the order lacks.

    The writer checks these again; the hub's ``prepare`` checks them first through
    ``WarehouseRules`` so one bad order never reaches a batch.
    """
    problems: list[tuple[str, str]] = []
    if not _ORDER_NUMBER_BAD.sub("-", order.order_number.strip()):
        problems.append(("order_number", "the order has no order number"))
    for name in REQUIRED_SHIP_TO:
        if not _as_written(getattr(order.ship_to, name)):
            problems.append((f"ship_to.{name}", f"the ship-to {name.replace('_', ' ')} is "
                                                "required by the warehouse"))
    country = order.ship_to.country.strip()
    if country and not re.fullmatch(r"[A-Za-z]{2}", country):
        problems.append(("ship_to.country", f"ship-to country {country!r} is not an ISO "
                                            "alpha-2 code"))
    if not order.ship_method.strip():
        problems.append(("ship_method", "the order has no warehouse ship method; map its "
                                        "shipping method to a carrier code"))
    if not order.lines:
        problems.append(("lines", "the order has no lines"))
    seen: set[int] = set()
    for line in order.lines:
        where = f"lines[{line.line_number}]"
        if line.line_number < 1 or line.line_number in seen:
            problems.append((f"{where}.line_number", f"line number {line.line_number} is not "
                                                     "a new positive number"))
        seen.add(line.line_number)
        if not _as_written(line.sku):
            problems.append((f"{where}.sku", f"line {line.line_number} has no SKU"))
        if line.quantity < 1:
            problems.append((f"{where}.quantity", f"line {line.line_number} has quantity "
                                                  f"{line.quantity}; it must be at least 1"))
    return problems


def write_orders(
    orders: Sequence[WarehouseOrder],
    *,
    created_at: datetime,
    ph_version: int = 2,
    neutralise_formulas: bool = True,
    source_code: str = "",
    facility: str = "",
) -> OrderFile:
    """One order file holding ``orders`` in the given order.

    ``source_code`` and ``facility`` fill PH fields an order leaves empty. Raises ValueError for
    an unknown PH version or no orders, and OrderDataError (naming the field and the order) for
    the first order the format cannot carry, or when two orders become the same written number.
    """
    if ph_version not in PH_VERSIONS:
        raise ValueError(f"PH version must be 1, 2 or 3, not {ph_version!r}")
    if not orders:
        raise ValueError("an order file needs at least one order")
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    written: dict[str, str] = {}
    for order in orders:
        problems = order_problems(order)
        if problems:
            field_name, message = problems[0]
            raise OrderDataError(f"order {order.order_number}: {message}", field=field_name,
                                 external_id=order.order_number)
        number = dsfx_order_number(order.order_number)
        if written.setdefault(number, order.order_number) != order.order_number:
            raise OrderDataError(
                f"orders {written[number]} and {order.order_number} would both be written as "
                f"{number}; send them in separate files", field="order_number",
                external_id=order.order_number)

        def clean(value: object, *, _neutralise: bool = neutralise_formulas) -> str:
            return _clean_value(value, _neutralise)

        writer.writerow(ph_row(order, number, ph_version, clean, source_code, facility))
        for line in order.lines:
            writer.writerow(["PD", number, str(line.line_number), clean(line.sku),
                             str(line.quantity), money(line.unit_price)])
    numbers = tuple(dsfx_order_number(o.order_number) for o in orders)
    return OrderFile(name=order_file_name(orders[0].order_number, created_at),
                     content=buffer.getvalue().encode("utf-8"),
                     order_numbers=tuple(o.order_number for o in orders),
                     written_numbers=numbers)


def ph_row(order: WarehouseOrder, number: str, version: int, clean, source_code: str = "",
           facility: str = "") -> list[str]:
    """The PH record for one order (``clean`` neutralises and flattens each text value)."""
    ship = order.ship_to
    bill = order.bill_to or Address()
    payment = "P"
    row = ["PH", number, clean(order.po_number)]
    if version >= 2:
        row.append(clean(order.customer_email))
    row += [clean(ship.name), clean(ship.street1), clean(ship.street2), clean(ship.city),
            clean(ship.state.upper()), clean(ship.postal_code), clean(ship.country.upper()),
            clean(ship.company), clean(ship.phone),
            clean(bill.name), clean(bill.street1), clean(bill.street2), clean(bill.city),
            clean(bill.state.upper()), clean(bill.postal_code), clean(bill.country.upper()),
            clean(order.ship_method), payment, "", iso_utc(order.ordered_at),
            clean(order.source_code or source_code), clean(order.gift_message)]
    if version >= 2:
        row.append(clean(order.customer_notes))
    if version >= 3:
        row.append(clean(order.facility or facility))
    return row


def _clean_value(value: object, neutralise_formulas: bool) -> str:
    # Flatten first, then neutralise: checking first let "\n=HYPERLINK(…)" through as
    # " =HYPERLINK(…)", a formula once the spreadsheet skips the space.
    text = _CONTROL.sub(" ", "" if value is None else str(value))
    return neutralise(text) if neutralise_formulas else text


def money(value: Decimal | int | float | str) -> str:
    """Two decimals, half up: ``Decimal('3.5')`` → ``"3.50"``."""
    return str(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))


def iso_utc(moment: datetime | None) -> str:
    """``2020-03-07T00:00:00Z``; a naive time is taken as UTC; None gives ""."""
    if moment is None:
        return ""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Readers: shared
# --------------------------------------------------------------------------------------------

SHIPMENT_COLUMNS = ("order_number", "line_number", "sku", "quantity", "ship_date", "carrier",
                    "service", "tracking_number", "shipment_id", "weight", "cost")
SHIPMENT_REQUIRED = ("order_number", "quantity", "ship_date", "carrier")
SHIPMENT_MIN_FIELDS = 6  # positional rows reach at least "carrier"

INVENTORY_COLUMNS = ("sku", "available", "on_hand", "facility")
INVENTORY_REQUIRED = ("sku", "available")
INVENTORY_MIN_FIELDS = 2


class _BadRow(ValueError):
    """One row's problem; the message becomes a RowError reason."""


@dataclass
class _Layout:
    """Column name → index, from a header row or the positional layout."""

    columns: dict[str, int]
    width: int
    header_line: int | None = None
    ignored: list[str] = field(default_factory=list)


def _records(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) per non-blank CSV record of ``data``.

    Bytes that are not UTF-8 survive as surrogates, so only the rows holding them fail.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, [f"\x00csv-error:{exc}"]
            continue
        if not any(cell.strip() for cell in row):
            continue
        yield start, row


def _shown(text: str, limit: int = 40) -> str:
    """``text`` fit for an error report: bytes that are not UTF-8, NUL and other control
    characters as ``?``, cut to ``limit`` characters."""
    cleaned = "".join("?" if "\udc80" <= ch <= "\udcff" else ch for ch in text)
    cleaned = _CONTROL.sub("?", cleaned)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def _normalise_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _layout(first: list[str], known: Sequence[str], required: Sequence[str],
            header_line: int) -> _Layout | None:
    """A header layout when ``first`` looks like a header row, else None.

    A row is a header when more than half its non-empty cells are known column names.
    """
    names = [_normalise_name(c) for c in first]
    filled = [n for n in names if n]
    if not filled or sum(n in known for n in filled) * 2 <= len(filled):
        return None
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(names):
        if name in known and name not in columns:
            columns[name] = index
        elif name:
            ignored.append(_shown(first[index].strip()))
    return _Layout(columns, len(first), header_line, ignored)


def _fields(row: list[str], layout: _Layout, min_fields: int, kind: str) -> dict[str, str]:
    if row and row[0].startswith("\x00csv-error:"):
        raise _BadRow(f"the row is not valid CSV ({_shown(row[0][11:], 120)})")
    if any("\udc80" <= ch <= "\udcff" for cell in row for ch in cell):
        raise _BadRow("the row is not UTF-8 text")
    # UTF-8 allows NUL, a database's text does not: storing the row's values would crash the
    # run instead of reporting this one row.
    if any("\x00" in cell for cell in row):
        raise _BadRow("the row holds a NUL character")
    width = len(row)
    # Trailing empty cells (a spreadsheet's extra commas) do not change the count.
    while width > layout.width and not row[width - 1].strip():
        width -= 1
    if layout.header_line is not None:
        if width != layout.width:
            raise _BadRow(f"the row has {width} fields; the header on line "
                          f"{layout.header_line} has {layout.width}")
    elif width < min_fields or width > layout.width:
        raise _BadRow(f"the row has {width} fields; {kind} row has {min_fields} to "
                      f"{layout.width}")
    return {name: row[index].strip() for name, index in layout.columns.items()
            if index < len(row)}


# ASCII digits only (int() also reads "١٢", "1_000" and 4,000-digit numbers), at most nine
# of them so every quantity fits the database's integer columns.
_WHOLE = re.compile(r"[+-]?[0-9]{1,9}")


def _whole(value: str, name: str, *, minimum: int | None = None) -> int:
    if not _WHOLE.fullmatch(value):
        if re.fullmatch(r"[+-]?[0-9]+", value):
            raise _BadRow(f"{name} {_shown(value)!r} has more than 9 digits")
        raise _BadRow(f"{name} {_shown(value)!r} is not a whole number")
    number = int(value)
    if minimum is not None and number < minimum:
        raise _BadRow(f"{name} {number} must be at least {minimum}")
    return number


def _decimal(value: str, name: str) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _BadRow(f"{name} {_shown(value)!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise _BadRow(f"{name} {_shown(value)!r} must be zero or more")
    return number


def _date(value: str, name: str) -> date:
    """An ISO 8601 date or date-time; the date as written (the warehouse's own calendar)."""
    if not value:
        raise _BadRow(f"{name} is required")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise _BadRow(f"{name} {_shown(value)!r} is not an ISO 8601 date") from None


def _start(records: Iterator[tuple[int, list[str]]], known: Sequence[str],
           required: Sequence[str], min_fields: int,
           errors: list[RowError]) -> tuple[_Layout | None, list[tuple[int, list[str]]]]:
    """The layout and the data records; a header missing a required column stops the file."""
    rows = list(records)
    if not rows:
        return None, []
    line, first = rows[0]
    layout = _layout(first, known, required, line)
    if layout is None:
        return _Layout({name: i for i, name in enumerate(known)}, len(known)), rows
    missing = [name for name in required if name not in layout.columns]
    if "order_number" in required and not ({"line_number", "sku"} & set(layout.columns)):
        missing.append("line_number or sku")
    if missing:
        errors.append(RowError(line, "the header row lacks the column(s) " + ", ".join(missing)
                               + "; no row of the file was read"))
        return None, []
    if layout.ignored:
        errors.append(RowError(line, "unknown column(s) ignored: " + ", ".join(layout.ignored)))
    return layout, rows[1:]


# --------------------------------------------------------------------------------------------
# Shipment files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ShipmentRow:
    line: int
    order_number: str
    line_number: int | None
    sku: str
    quantity: int
    ship_date: date
    carrier: str
    service: str
    tracking_number: str
    shipment_id: str
    weight: Decimal | None
    cost: Decimal | None


@dataclass
class ShipmentFile:
    """A parsed shipment file: the shipments of its good rows, and every bad row."""

    shipments: list[WarehouseShipment]
    errors: list[RowError]


@dataclass
class InventoryFile:
    """A parsed inventory file: one level per (SKU, facility), and every bad row."""

    levels: list[InventoryLevel]
    errors: list[RowError]


def read_shipments(data: bytes) -> ShipmentFile:
    """Parse a shipment file (layout 1) into shipments grouped per package; never raises.

    Rows sharing (order number, shipment id — or tracking number when there is no shipment id)
    form one WarehouseShipment. Its ``key`` is ``"<order>|s:<shipment id>"`` or
    ``"<order>|t:<tracking>"``; rows with neither form one untracked shipment per order whose
    key is a digest of its date, carrier, service and lines, so the same content re-delivered
    under another name has the same key. A group whose rows disagree on carrier, service, date
    or tracking is rejected whole: posting half of a package would be wrong either way.
    """
    errors: list[RowError] = []
    layout, rows = _start(_records(data), SHIPMENT_COLUMNS, SHIPMENT_REQUIRED,
                          SHIPMENT_MIN_FIELDS, errors)
    good: list[_ShipmentRow] = []
    for line, row in rows:
        try:
            good.append(_shipment_row(line, _fields(row, layout, SHIPMENT_MIN_FIELDS,
                                                    "a shipment")))
        except _BadRow as exc:
            errors.append(RowError(line, str(exc)))
    shipments: list[WarehouseShipment] = []
    for group in _group(good).values():
        shipment = _shipment(group, errors)
        if shipment is not None:
            shipments.append(shipment)
    errors.sort(key=lambda e: e.line_number)
    return ShipmentFile(shipments, errors)


def _shipment_row(line: int, values: dict[str, str]) -> _ShipmentRow:
    order_number = values.get("order_number", "")
    if not order_number:
        raise _BadRow("order_number is required")
    raw_line = values.get("line_number", "")
    sku = values.get("sku", "")
    if not raw_line and not sku:
        raise _BadRow("either line_number or sku is required")
    line_number = _whole(raw_line, "line_number", minimum=1) if raw_line else None
    quantity_text = values.get("quantity", "")
    if not quantity_text:
        raise _BadRow("quantity is required")
    quantity = _whole(quantity_text, "quantity", minimum=1)
    ship_date = _date(values.get("ship_date", ""), "ship_date")
    carrier = values.get("carrier", "")
    if not carrier:
        raise _BadRow("carrier is required")
    return _ShipmentRow(line, order_number, line_number, sku, quantity, ship_date, carrier,
                        values.get("service", ""), values.get("tracking_number", ""),
                        values.get("shipment_id", ""), _decimal(values.get("weight", ""),
                                                                "weight"),
                        _decimal(values.get("cost", ""), "cost"))


def _group(rows: Iterable[_ShipmentRow]) -> dict[tuple[str, str], list[_ShipmentRow]]:
    groups: dict[tuple[str, str], list[_ShipmentRow]] = {}
    for row in rows:
        if row.shipment_id:
            key = f"s:{row.shipment_id}"
        elif row.tracking_number:
            key = f"t:{row.tracking_number}"
        else:
            key = "n:"
        groups.setdefault((row.order_number, key), []).append(row)
    return groups


def _shipment(rows: list[_ShipmentRow], errors: list[RowError]) -> WarehouseShipment | None:
    first = rows[0]
    for name in ("carrier", "service", "ship_date", "tracking_number"):
        values = {getattr(r, name) for r in rows}
        if len(values) > 1:
            lines = ", ".join(str(r.line) for r in rows)
            for row in rows:
                errors.append(RowError(row.line, f"the rows of this shipment (lines {lines}) "
                                                 f"disagree on {name}; none of them was used"))
            return None
    quantities: dict[tuple[int | None, str], int] = {}
    for row in rows:
        line_key = (row.line_number, row.sku if row.line_number is None else "")
        quantities[line_key] = quantities.get(line_key, 0) + row.quantity
    skus = {(r.line_number, r.sku if r.line_number is None else ""): r.sku for r in rows}
    lines = tuple(WarehouseShipmentLine(line_number, skus[(line_number, sku)], qty)
                  for (line_number, sku), qty in quantities.items())
    key_kind = "s" if first.shipment_id else "t" if first.tracking_number else "n"
    if key_kind == "s":
        key = f"{first.order_number}|s:{first.shipment_id}"
    elif key_kind == "t":
        key = f"{first.order_number}|t:{first.tracking_number}"
    else:
        content = "|".join([first.ship_date.isoformat(), first.carrier, first.service]
                           + sorted(f"{ln.line_number}:{ln.sku}:{ln.quantity}" for ln in lines))
        key = f"{first.order_number}|n:{hashlib.sha256(content.encode()).hexdigest()[:16]}"
    weights = [r.weight for r in rows if r.weight is not None]
    costs = [r.cost for r in rows if r.cost is not None]
    return WarehouseShipment(
        key=key, order_number=first.order_number, carrier=first.carrier, service=first.service,
        tracking_number=first.tracking_number, ship_date=first.ship_date, lines=lines,
        warehouse_shipment_id=first.shipment_id,
        # Rows of one package may each repeat the package's weight/cost; take the largest
        # rather than summing a repeated value.
        weight=max(weights) if weights else None, cost=max(costs) if costs else None,
        source_rows=tuple(r.line for r in rows))


# --------------------------------------------------------------------------------------------
# Inventory files
# --------------------------------------------------------------------------------------------


_STAMP = re.compile(r"(?<![0-9])([0-9]{14}|[0-9]{12})(?![0-9])")


def stamp_in_name(name: str) -> datetime | None:
    """The UTC time in a file name such as ``inv_1_261202101500.csv`` (YYMMDDHHMMSS, as the hub
    and the sandbox write) or ``…_20261202101500…`` (YYYYMMDDHHMMSS); None when there is none.

    The published format calls the stamp opaque, so this is a hint: the reader takes the earlier
    of it and the file's time on the server (a stamp in local time ahead of UTC would otherwise
    claim a snapshot later than the truth).
    """
    for digits in _STAMP.findall(name):
        pattern = "%Y%m%d%H%M%S" if len(digits) == 14 else "%y%m%d%H%M%S"
        try:
            return datetime.strptime(digits, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def inventory_layout_of(name: str) -> str:
    """The layout version in ``inv_<layout>_<datetime>.csv`` ("" when the name has none)."""
    if not name.startswith(INVENTORY_PREFIX):
        return ""
    return name[len(INVENTORY_PREFIX):].split("_", 1)[0]


def read_inventory(data: bytes) -> InventoryFile:
    """Parse an inventory file (layout 1); never raises.

    Negative ``available`` is read as 0 (specs/dsfx.md). A (SKU, facility) listed twice with
    different numbers keeps the first row and reports the later one; an identical repeat is
    ignored silently.
    """
    errors: list[RowError] = []
    layout, rows = _start(_records(data), INVENTORY_COLUMNS, INVENTORY_REQUIRED,
                          INVENTORY_MIN_FIELDS, errors)
    levels: dict[tuple[str, str], tuple[int, InventoryLevel]] = {}
    for line, row in rows:
        try:
            values = _fields(row, layout, INVENTORY_MIN_FIELDS, "an inventory")
            sku = values.get("sku", "")
            if not sku:
                raise _BadRow("sku is required")
            available_text = values.get("available", "")
            if not available_text:
                raise _BadRow("available is required")
            available = max(0, _whole(available_text, "available"))
            on_hand_text = values.get("on_hand", "")
            on_hand = _whole(on_hand_text, "on_hand") if on_hand_text else None
            level = InventoryLevel(sku, available, on_hand, values.get("facility", ""))
        except _BadRow as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (level.sku, level.facility)
        if key in levels:
            first_line, kept = levels[key]
            if kept != level:
                errors.append(RowError(line, f"sku {level.sku} is already listed on line "
                                             f"{first_line} with other numbers; line "
                                             f"{first_line} was kept"))
            continue
        levels[key] = (line, level)
    errors.sort(key=lambda e: e.line_number)
    return InventoryFile([level for _, level in levels.values()], errors)


def error_report(name: str, errors: Sequence[RowError], *, read_at: datetime) -> bytes:
    """The text of ``<name>.error.txt``: one line per bad row, line 0 meaning the whole file."""
    lines = [f"DropStream read {name} at {iso_utc(read_at)} and could not use these rows:"]
    for error in sorted(errors, key=lambda e: e.line_number):
        where = f"line {error.line_number}" if error.line_number else "file"
        lines.append(f"{where}: {_CONTROL.sub(' ', error.reason)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")

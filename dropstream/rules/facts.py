"""What a rule sees of an order: plain CEL maps built from an ``Order`` or from pasted JSON.

``order`` (a CEL map) has these keys; every key is always present, so a typo is a "no such key"
error, not a silent mismatch:

    id                 int        the hub's order id (0 for a pasted order without one)
    external_id        string     the store's order id
    display_id         string     the store's order number as shown to people
    store_id           int
    connection_id      int        where the order goes now (a ``route`` earlier changes it)
    store_status       string     the store's status text (``paid``)
    customer_email     string
    shipping_method    string     the store's shipping description (``UPS Ground``)
    carrier            string     carrier name for the warehouse (``set`` may change it)
    service_level      string
    warehouse_code     string
    currency           string     ISO code
    total              double     money as doubles (``order.total >= 100`` and ``>= 100.0``
    subtotal           double     both work: comparisons mix int and double; arithmetic needs
    shipping_amount    double     one type, e.g. ``order.total - 5.0``). subtotal = Σ price ×
    tax_amount         double     quantity over the lines
    discount_amount    double
    quantity           int        units over all lines
    line_count         int
    notes              string
    gift_message       string
    tags               list(string)   the hub has no order tags yet: always ``[]``
    ordered_at         timestamp  when the store took the order (created_at when unknown)
    created_at         timestamp  when the hub imported it
    ship_to, bill_to   map        name, company, street1, street2, city, state, postal_code,
                                  country, phone, email — all strings; state and country are
                                  ISO codes (``CO``, ``US``)
    lines              list(map)  the lines below, in the order of their ids

Each line (also bound as ``line`` in line rules):

    index              int        position in ``order.lines`` (0-based)
    id                 int        the OrderLine id (0 for a pasted line without one)
    sku                string     the store's SKU
    warehouse_sku      string     '' until mapped (``set`` may change it)
    name               string
    quantity           int        ordered
    quantity_shipped   int
    price              double     unit price
    total              double     price × quantity
    canceled           bool
    ships              bool       false for lines nothing is shipped for (gift cards)
    connection_id      int        where the line goes now (a line ``route`` changes it)
    stock              map(int, int)  available units by connection id, for splitting by stock;
                                  empty unless the caller loads stock (``load_stock``)

Bundle components (lines with a parent) are left out: rules see the order as the store sent it.
Lists are capped (``MAX_LINES``, ``MAX_TAGS``) so that macros over them stay bounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from celpy import celtypes

from dropstream.rules.errors import InvalidFacts

MAX_LINES = 1_000
MAX_TAGS = 100
MAX_TEXT = 10_000
ADDRESS_KEYS = ("name", "company", "street1", "street2", "city", "state", "postal_code",
                "country", "phone", "email")

# sku → {connection id → available units}
StockTable = Mapping[str, Mapping[int, int]]

# The keys above, for the compile-time check of field names (``order.shiping_method`` is
# refused when the rule is saved, not discovered on the first order). A nested dict is a map
# of known keys; ``LinesOf`` a list of such maps; None anything else.
ADDRESS_SCHEMA: dict[str, Any] = dict.fromkeys(ADDRESS_KEYS)
LINE_SCHEMA: dict[str, Any] = dict.fromkeys(
    ("index", "id", "sku", "warehouse_sku", "name", "quantity", "quantity_shipped", "price",
     "total", "canceled", "ships", "connection_id", "stock"))


@dataclass(frozen=True)
class LinesOf:
    """Schema of a list whose elements have ``element`` keys."""

    element: dict[str, Any]


ORDER_SCHEMA: dict[str, Any] = {
    **dict.fromkeys(("id", "external_id", "display_id", "store_id", "connection_id",
                     "store_status", "customer_email", "shipping_method", "carrier",
                     "service_level", "warehouse_code", "currency", "total", "subtotal",
                     "shipping_amount", "tax_amount", "discount_amount", "quantity",
                     "line_count", "notes", "gift_message", "tags", "ordered_at",
                     "created_at")),
    "ship_to": ADDRESS_SCHEMA, "bill_to": ADDRESS_SCHEMA, "lines": LinesOf(LINE_SCHEMA),
}
SCHEMAS: dict[str, Any] = {"order": ORDER_SCHEMA, "line": LINE_SCHEMA}


class FactMap(celtypes.MapType):
    """A CEL map of facts. Reading a field (transpiled as ``.get(name)``) is the built-in dict
    lookup, skipping cel-python's key-type checks (our keys are strings): a missing key is a
    KeyError, which CEL reports as "no such key", as cel-python's own ``get`` does."""

    get = dict.__getitem__  # type: ignore[assignment]
    __getitem__ = dict.__getitem__
    # Built from values that are already CEL values: skip MapType's per-key checks.
    __init__ = dict.__init__  # type: ignore[assignment]


def fact_map(values: Mapping[Any, Any]) -> FactMap:
    """A FactMap holding ``values`` as they are (already CEL values)."""
    return FactMap(values)


# The built-in constructors: cel-python's re-check their argument (its IntType wraps an int64
# check in functools.wraps on every call), which was two thirds of building an order's facts.
# Our values are already of the right type and range (database columns; checked JSON).

def _text(value: str | None) -> celtypes.StringType:
    return str.__new__(celtypes.StringType, value or "")


def _double(value: float) -> celtypes.DoubleType:
    return float.__new__(celtypes.DoubleType, value)


def _money(value: Decimal | float | int | None) -> celtypes.DoubleType:
    return float.__new__(celtypes.DoubleType, float(value or 0))


def _int(value: int | None) -> celtypes.IntType:
    return int.__new__(celtypes.IntType, int(value or 0))


def _bool(value: bool) -> celtypes.BoolType:
    return celtypes.BoolType(bool(value))


def _time(value: datetime) -> celtypes.TimestampType:
    return celtypes.TimestampType(value if value.tzinfo else value.replace(tzinfo=UTC))


@dataclass(frozen=True)
class OrderFacts:
    """The ``order`` map, and the OrderLine id of each entry of ``order.lines`` (None for a
    pasted line without one)."""

    order: FactMap
    line_ids: tuple[int | None, ...] = field(default=())

    @property
    def lines(self) -> list[FactMap]:
        return self.order["lines"]

    def with_order(self, order: FactMap) -> OrderFacts:
        """The same facts with the ``order`` map replaced (the engine's ``set`` and ``route``)."""
        return OrderFacts(order=order, line_ids=self.line_ids)


@dataclass(frozen=True)
class _LineValues:
    id: int
    sku: str
    warehouse_sku: str
    name: str
    quantity: int
    quantity_shipped: int
    price: Decimal | float
    canceled: bool
    ships: bool


def _line_map(index: int, line: _LineValues, connection_id: int,
              stock: StockTable | None) -> FactMap:
    price = float(line.price or 0)
    available = {}
    if stock is not None:
        by_connection = stock.get(line.warehouse_sku or line.sku) or stock.get(line.sku) or {}
        available = {_int(c): _int(q) for c, q in by_connection.items()}
    return fact_map({
        "index": _int(index),
        "id": _int(line.id),
        "sku": _text(line.sku),
        "warehouse_sku": _text(line.warehouse_sku),
        "name": _text(line.name),
        "quantity": _int(line.quantity),
        "quantity_shipped": _int(line.quantity_shipped),
        "price": _double(price),
        "total": _double(round(price * line.quantity, 2)),
        "canceled": _bool(line.canceled),
        "ships": _bool(line.ships),
        "connection_id": _int(connection_id),
        "stock": fact_map(available),
    })


def _address_map(parts: Mapping[str, str]) -> FactMap:
    return fact_map({key: _text(parts.get(key)) for key in ADDRESS_KEYS})


def _order_map(values: Mapping[str, Any], lines: list[FactMap], tags: Iterable[str]) -> FactMap:
    created_at = values["created_at"]
    ordered_at = values["ordered_at"] or created_at
    subtotal = sum(float(line["total"]) for line in lines)
    return fact_map({
        "id": _int(values["id"]),
        "external_id": _text(values["external_id"]),
        "display_id": _text(values["display_id"]),
        "store_id": _int(values["store_id"]),
        "connection_id": _int(values["connection_id"]),
        "store_status": _text(values["store_status"]),
        "customer_email": _text(values["customer_email"]),
        "shipping_method": _text(values["shipping_method"]),
        "carrier": _text(values["carrier"]),
        "service_level": _text(values["service_level"]),
        "warehouse_code": _text(values["warehouse_code"]),
        "currency": _text(values["currency"]),
        "total": _money(values["total"]),
        "subtotal": _double(round(subtotal, 2)),
        "shipping_amount": _money(values["shipping_amount"]),
        "tax_amount": _money(values["tax_amount"]),
        "discount_amount": _money(values["discount_amount"]),
        "quantity": _int(sum(int(line["quantity"]) for line in lines)),
        "line_count": _int(len(lines)),
        "notes": _text(values["notes"]),
        "gift_message": _text(values["gift_message"]),
        "tags": celtypes.ListType(_text(tag) for tag in tags),
        "ordered_at": _time(ordered_at),
        "created_at": _time(created_at),
        "ship_to": _address_map(values["ship_to"]),
        "bill_to": _address_map(values["bill_to"]),
        "lines": celtypes.ListType(lines),
    })


# --- from the database ----------------------------------------------------------------------

def facts_from_order(order: Any, *, stock: StockTable | None = None) -> OrderFacts:
    """The facts of an ``orders.Order``: one query for its lines (none when prefetched).

    ``stock`` (from ``load_stock``) fills each line's ``stock`` map. Raises InvalidFacts when
    the order has more than MAX_LINES lines.
    """
    rows = [line for line in order.lines.all() if line.parent_id is None]
    rows.sort(key=lambda line: line.pk)
    if len(rows) > MAX_LINES:
        raise InvalidFacts({"lines": f"{len(rows):,} lines; rules handle at most "
                                     f"{MAX_LINES:,}"})
    lines = [_line_map(index, _LineValues(
        id=row.pk, sku=row.store_sku, warehouse_sku=row.warehouse_sku, name=row.name,
        quantity=row.quantity_ordered, quantity_shipped=row.quantity_shipped,
        price=row.unit_price, canceled=row.canceled, ships=row.ships),
        order.connection_id, stock) for index, row in enumerate(rows)]
    values = {
        "id": order.pk, "external_id": order.external_id,
        "display_id": order.external_display_id, "store_id": order.store_id,
        "connection_id": order.connection_id, "store_status": order.store_status,
        "customer_email": order.customer_email,
        "shipping_method": order.external_shipping_description,
        "carrier": order.shipping_carrier_name,
        "service_level": order.shipping_carrier_service_level,
        "warehouse_code": order.shipping_warehouse_code, "currency": order.currency_code,
        "total": order.total_amount, "shipping_amount": order.shipping_amount,
        "tax_amount": order.tax_amount, "discount_amount": order.discount_amount,
        "notes": order.notes, "gift_message": order.gift_message,
        "ordered_at": order.ordered_at, "created_at": order.created_at,
        "ship_to": {key: getattr(order, f"ship_{key}") for key in ADDRESS_KEYS},
        "bill_to": {key: getattr(order, f"bill_{key}") for key in ADDRESS_KEYS},
    }
    return OrderFacts(order=_order_map(values, lines, ()),
                      line_ids=tuple(row.pk for row in rows))


def load_line_stock(store: Any, lines: Iterable[Any]) -> dict[str, dict[int, int]]:
    """``load_stock`` for order lines (``OrderLine`` rows), keyed so that ``facts_from_order``
    finds each line: by its warehouse SKU once mapped, and by its store SKU through the store's
    listings before (warehouses count stock by their own SKU). Three queries."""
    from dropstream.catalog.models import Listing

    rows = list(lines)
    store_skus = {line.store_sku for line in rows if line.store_sku}
    mapped = dict(Listing.objects.filter(store_id=store.pk, store_sku__in=store_skus)
                  .values_list("store_sku", "product__sku"))
    table = load_stock(store, store_skus | set(mapped.values())
                       | {line.warehouse_sku for line in rows if line.warehouse_sku})
    for store_sku, warehouse_sku in mapped.items():
        if warehouse_sku in table:
            table[store_sku] = table[warehouse_sku]
    return table


def load_stock(store: Any, skus: Iterable[str]) -> dict[str, dict[int, int]]:
    """Available units of ``skus`` by connection, for every connection of ``store``: two
    queries. A SKU a warehouse does not list is absent for that connection; quantities of a
    warehouse's facilities are added up."""
    from dropstream.connections.models import Connection
    from dropstream.inventory.models import InventoryLevel

    wanted = set(skus)
    by_warehouse: dict[int, list[int]] = {}
    for connection_id, warehouse_id in Connection.objects.filter(
            store_id=store.pk).values_list("id", "warehouse_id"):
        by_warehouse.setdefault(warehouse_id, []).append(connection_id)
    table: dict[str, dict[int, int]] = {}
    levels = InventoryLevel.objects.filter(warehouse_id__in=list(by_warehouse), sku__in=wanted)
    for warehouse_id, sku, available in levels.values_list("warehouse_id", "sku", "available"):
        for connection_id in by_warehouse[warehouse_id]:
            per_sku = table.setdefault(sku, {})
            per_sku[connection_id] = per_sku.get(connection_id, 0) + available
    return table


# --- from pasted JSON (the API's order detail shape) -----------------------------------------

class _Reader:
    """Reads fields of pasted JSON, collecting ``path → message`` instead of stopping."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def text(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = data.get(key, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            self.errors[path] = "must be text"
            return ""
        if len(value) > MAX_TEXT:
            self.errors[path] = f"longer than {MAX_TEXT:,} characters"
            return ""
        return value

    def whole(self, data: Mapping[str, Any], key: str, path: str, *, default: int = 0) -> int:
        value = data.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            self.errors[path] = "must be a whole number, 0 or more"
            return default
        return value

    def money(self, data: Mapping[str, Any], key: str, path: str) -> Decimal:
        value = data.get(key, "0")
        if value is None:
            return Decimal(0)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.errors[path] = "must be an amount such as \"12.50\""
            return Decimal(0)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.errors[path] = "must be an amount such as \"12.50\""
            return Decimal(0)
        if not amount.is_finite() or not math.isfinite(float(amount)):
            self.errors[path] = "must be a finite amount"
            return Decimal(0)
        return amount

    def flag(self, data: Mapping[str, Any], key: str, path: str, *, default: bool) -> bool:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors[path] = "must be true or false"
            return default
        return value

    def time(self, data: Mapping[str, Any], key: str, path: str) -> datetime | None:
        value = data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.errors[path] = "must be an ISO 8601 time such as \"2026-11-01T12:00:00Z\""
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.errors[path] = "must be an ISO 8601 time such as \"2026-11-01T12:00:00Z\""
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def mapping(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = data.get(key) or {}
        if not isinstance(value, Mapping):
            self.errors[path] = "must be an object"
            return {}
        return value

    def address(self, data: Mapping[str, Any], key: str) -> dict[str, str]:
        parts = self.mapping(data, key, key)
        # The API spells the postal code ``zipcode``; accept our own name too.
        postal = "zipcode" if "zipcode" in parts else "postal_code"
        values = {part: self.text(parts, part, f"{key}.{part}")
                  for part in ADDRESS_KEYS if part != "postal_code"}
        values["postal_code"] = self.text(parts, postal, f"{key}.{postal}")
        return values


def facts_from_json(data: Any, *, now: datetime | None = None) -> OrderFacts:
    """The facts of a pasted order in the API's order-detail shape (``GET /orders/{id}`` with
    its ``items``); unknown keys are ignored, missing ones take empty values. Two facts are not
    in the API's objects and are read when given: ``store_status`` (default '') and an item's
    ``ships`` (default true).

    ``created_at`` defaults to ``now`` (or the current time). Raises InvalidFacts naming each
    wrong field (``items[1].qty_ordered``).
    """
    if not isinstance(data, Mapping):
        raise InvalidFacts({"order": "must be a JSON object"})
    read = _Reader()
    items = data.get("items", [])
    if not isinstance(items, list):
        read.errors["items"] = "must be a list"
        items = []
    top_level = [(i, item) for i, item in enumerate(items)
                 if not (isinstance(item, Mapping) and item.get("parent_id"))]
    if len(top_level) > MAX_LINES:
        raise InvalidFacts({"items": f"{len(top_level):,} items; rules handle at most "
                                     f"{MAX_LINES:,}"})
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        read.errors["tags"] = "must be a list of text"
        tags = []
    elif len(tags) > MAX_TAGS:
        read.errors["tags"] = f"more than {MAX_TAGS} tags"
        tags = []
    connection_id = read.whole(data, "connection_id", "connection_id")
    line_values = [_json_line(read, item, f"items[{i}]") for i, item in top_level]
    values = {
        "id": read.whole(data, "id", "id"),
        "external_id": read.text(data, "external_id", "external_id"),
        "display_id": read.text(data, "external_display_id", "external_display_id"),
        "store_id": read.whole(data, "store_id", "store_id"),
        "connection_id": connection_id,
        "store_status": read.text(data, "store_status", "store_status"),
        "customer_email": read.text(data, "customer_email", "customer_email"),
        "shipping_method": read.text(data, "external_shipping_description",
                                     "external_shipping_description"),
        "carrier": read.text(data, "shipping_carrier_name", "shipping_carrier_name"),
        "service_level": read.text(data, "shipping_carrier_service_level",
                                   "shipping_carrier_service_level"),
        "warehouse_code": read.text(data, "shipping_warehouse_code", "shipping_warehouse_code"),
        "currency": read.text(data, "currency_code", "currency_code") or "USD",
        "total": read.money(data, "total_amount", "total_amount"),
        "shipping_amount": read.money(data, "shipping_amount", "shipping_amount"),
        "tax_amount": read.money(data, "tax_amount", "tax_amount"),
        "discount_amount": read.money(data, "discount_amount", "discount_amount"),
        "notes": read.text(data, "notes", "notes"),
        "gift_message": read.text(data, "gift_message", "gift_message"),
        "ordered_at": read.time(data, "ordered_at", "ordered_at"),
        "created_at": read.time(data, "created_at", "created_at") or now or datetime.now(UTC),
        "ship_to": read.address(data, "shipping_address"),
        "bill_to": read.address(data, "billing_address"),
    }
    if read.errors:
        raise InvalidFacts(read.errors)
    lines = [_line_map(index, line, connection_id, None)
             for index, line in enumerate(line_values)]
    return OrderFacts(order=_order_map(values, lines, tags),
                      line_ids=tuple(line.id or None for line in line_values))


def _json_line(read: _Reader, item: Any, path: str) -> _LineValues:
    if not isinstance(item, Mapping):
        read.errors[path] = "must be an object"
        item = {}
    return _LineValues(
        id=read.whole(item, "id", f"{path}.id"),
        sku=read.text(item, "sku", f"{path}.sku"),
        warehouse_sku=read.text(item, "warehouse_sku", f"{path}.warehouse_sku"),
        name=read.text(item, "name", f"{path}.name"),
        quantity=read.whole(item, "qty_ordered", f"{path}.qty_ordered", default=1),
        quantity_shipped=read.whole(item, "qty_fulfilled", f"{path}.qty_fulfilled"),
        price=read.money(item, "unit_price", f"{path}.unit_price"),
        canceled=read.flag(item, "canceled", f"{path}.canceled", default=False),
        ships=read.flag(item, "ships", f"{path}.ships", default=True),
    )

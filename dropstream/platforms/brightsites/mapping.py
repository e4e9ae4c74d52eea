"""Bright Sites JSON → the hub's values. Pure functions: dict in, dataclasses out, no I/O.

Shapes follow specs/brightsites-api.md: §7.2 (order list rows), §7.3/§7.4 (show order and line
items), §8 (shipments), §9.3 (store-wide inventory rows). Money is parsed as Decimal, never float
(§3). State and country *names* become ISO codes with pycountry; an unknown name is an error on
that order, never a guess.

Errors: ``order_from_json`` raises only OrderDataError (``field`` is the dotted path, e.g.
``shipping_address.state`` or ``line_items[2].quantity``). The list/inventory row parsers raise
BadResponse naming the field, because a wrong list row is the server's fault, not one order's.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import pycountry

from dropstream.platforms.base import (
    Address,
    OrderSummary,
    StoreOrder,
    StoreOrderLine,
    StoreShipment,
)
from dropstream.platforms.errors import BadResponse, OrderDataError

# §7.3: shipping is the required adjustment noted "shipment"; tax is "sales tax" and
# "shipping sales tax".
SHIPPING_NOTES = frozenset({"shipment", "shipping"})
TAX_NOTES = frozenset({"sales tax", "shipping sales tax"})
# Adjustments whose negative amounts are discounts. balance_adjustments are budget/balance
# payments (a way to pay), not a price reduction, so they are left out.
DISCOUNT_LISTS = ("coupons_adjustments", "custom_adjustments")
_GIFT_MESSAGE = re.compile(r"gift\s*(message|note|card)", re.IGNORECASE)
_MONEY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# Explicit spellings the vendor's storefronts are known to use besides pycountry's names.
_COUNTRY_ALIASES = {
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US",
    "uk": "GB", "great britain": "GB", "england": "GB",
}
# US military "states" that pycountry does not list (USPS codes).
_EXTRA_STATES = {
    "US": {"armed forces americas": "AA", "armed forces europe": "AE",
           "armed forces pacific": "AP"},
}


class _Bad(Exception):
    """Internal: a value at ``field`` is wrong; turned into OrderDataError/BadResponse."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------


def _obj(value: Any, field: str, *, required: bool = True) -> Mapping[str, Any]:
    """A JSON object; ``{}`` for null when not required. Raises _Bad otherwise."""
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise _Bad(field, "must be an object" if value is not None else "is missing")
    return value


def _list(value: Any, field: str, *, required: bool = False) -> Sequence[Any]:
    """A JSON array; ``[]`` for null when not required."""
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise _Bad(field, "must be a list" if value is not None else "is missing")
    return value


def _text(value: Any, field: str, *, required: bool = False) -> str:
    """A trimmed string; null and "" mean nothing (§3). Numbers are accepted as their text."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise _Bad(field, f"must be text, not {type(value).__name__}")
    if "\x00" in text:
        raise _Bad(field, "contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(field, "is not valid Unicode text") from None
    if required and not text:
        raise _Bad(field, "is missing or empty")
    return text


# Past these no database column holds the value (ids are 64-bit, quantities 32-bit integers).
LARGEST_ID = 2**63 - 1
LARGEST_QUANTITY = 2**31 - 1


def _int_id(value: Any, field: str, *, largest: int = LARGEST_ID) -> int:
    """A positive integer id; digit strings are coerced (§3: one example shows "1234")."""
    if isinstance(value, bool):
        raise _Bad(field, "must be a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        if len(value.strip()) > len(str(largest)):  # int() of 5,000 digits raises
            raise _Bad(field, f"must be at most {largest}")
        number = int(value.strip())
    elif value is None:
        raise _Bad(field, "is missing")
    else:
        raise _Bad(field, f"must be a number, not {value!r:.40}")
    if number <= 0:
        raise _Bad(field, "must be a positive number"
                   + (f", not {number}" if number > -10**20 else ""))
    if number > largest:
        raise _Bad(field, f"must be at most {largest}")
    return number


def _quantity(value: Any, field: str) -> int:
    """A positive whole quantity; "2" and 2.0 are accepted, 2.5 is not."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _int_id(value, field, largest=LARGEST_QUANTITY)


def _money(value: Any, field: str, *, default: Decimal | None = None) -> Decimal:
    """A decimal amount from a money string such as "146.15" or "-4.0" (§3), never a float."""
    if value is None or value == "":
        if default is not None:
            return default
        raise _Bad(field, "is missing")
    if isinstance(value, bool):
        raise _Bad(field, "must be an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(field, "must be a finite amount")
        return Decimal(str(value))
    if isinstance(value, str) and _MONEY.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern already excludes these
            pass
    raise _Bad(field, f"must be an amount such as \"12.5\", not {value!r:.40}")


def parse_timestamp(value: Any, field: str) -> datetime:
    """An aware UTC datetime from any ISO 8601 form (§3: "…000Z" or "…-06:00"). Raises _Bad."""
    if not isinstance(value, str) or not value.strip():
        raise _Bad(field, "must be an ISO 8601 date-time" if value else "is missing")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise _Bad(field, f"is not an ISO 8601 date-time: {value!r:.40}") from None
    if parsed.tzinfo is None:
        # §3: without a zone, v2.x means UTC.
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(field, f"is out of range: {value!r:.40}") from None


# --------------------------------------------------------------------------------------------
# Countries and states
# --------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for exact name comparison ("Québec" == "quebec")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name", "alpha_2", "alpha_3"):
            name = getattr(country, attr, None)
            if name:
                index.setdefault(_fold(name), country.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        index.setdefault(_fold(alias), code)
    return index


@lru_cache(maxsize=256)
def _state_index(country_code: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country_code) or ():
        short = sub.code.split("-", 1)[1]
        index.setdefault(_fold(sub.name), short)
        index.setdefault(_fold(short), short)
        index.setdefault(_fold(sub.code), short)
    for name, short in _EXTRA_STATES.get(country_code, {}).items():
        index.setdefault(_fold(name), short)
        index.setdefault(_fold(short), short)
    return index


def country_code(name: str, field: str) -> str:
    """ISO 3166-1 alpha-2 for a country name such as "United States". Raises _Bad if unknown."""
    code = _country_index().get(_fold(name))
    if code is None:
        raise _Bad(field, f"is not a country name we know: {name!r:.60}")
    return code


def state_code(name: str, country: str, field: str) -> str:
    """The postal/ISO 3166-2 code of a state or province ("New York" → "NY", "Ontario" → "ON").

    Raises _Bad for a name that is not a subdivision of ``country``.
    """
    code = _state_index(country).get(_fold(name))
    if code is None:
        raise _Bad(field, f"is not a state or province of {country} we know: {name!r:.60}")
    return code


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


def unwrap_order(payload: Any) -> Any:
    """The order object of a pushed body, which may be bare or ``{"order": {...}}`` (issue 3)."""
    if (isinstance(payload, Mapping) and "order_id" not in payload
            and isinstance(payload.get("order"), Mapping)):
        return payload["order"]
    return payload


def _address(contact_raw: Any, address_raw: Any, prefix: str, *, required: bool) -> Address | None:
    contact = _obj(contact_raw, f"{prefix}_contact", required=False)
    address = _obj(address_raw, f"{prefix}_address", required=required)
    if not required and not any(v not in (None, "") for v in address.values()):
        return None
    where = f"{prefix}_address"
    first = _text(contact.get("first_name"), f"{prefix}_contact.first_name")
    last = _text(contact.get("last_name"), f"{prefix}_contact.last_name")
    company = _text(address.get("company"), f"{where}.company")
    name = " ".join(part for part in (first, last) if part)
    if required and not name and not company:
        raise _Bad(f"{prefix}_contact.first_name", "is missing: the address has no name or company")
    country_name = _text(address.get("country"), f"{where}.country", required=True)
    country = country_code(country_name, f"{where}.country")
    state_name = _text(address.get("state"), f"{where}.state")
    state = state_code(state_name, country, f"{where}.state") if state_name else ""
    return Address(
        name=name,
        company=company,
        street1=_text(address.get("first_address"), f"{where}.first_address", required=required),
        street2=_text(address.get("second_address"), f"{where}.second_address"),
        city=_text(address.get("city"), f"{where}.city", required=required),
        state=state,
        postal_code=_text(address.get("zip"), f"{where}.zip"),
        country=country,
        phone=_text(contact.get("phone"), f"{prefix}_contact.phone"),
        email=_text(contact.get("email"), f"{prefix}_contact.email"),
    )


def _line(raw: Any, field: str) -> StoreOrderLine:
    line = _obj(raw, field)
    sku = _text(line.get("final_sku"), f"{field}.final_sku")
    gift = line.get("gift_certificate")
    if gift is not None:
        _obj(gift, f"{field}.gift_certificate")
    quantity = _quantity(line.get("quantity"), f"{field}.quantity")
    if line.get("unit_price") not in (None, ""):
        unit_price = _money(line.get("unit_price"), f"{field}.unit_price")
    elif line.get("product_price") in (None, ""):
        raise _Bad(f"{field}.unit_price", "is missing")
    else:
        # §7.4: unit_price = product_price + options_price in every example.
        unit_price = (_money(line.get("product_price"), f"{field}.product_price")
                      + _money(line.get("options_price"), f"{field}.options_price",
                               default=Decimal("0")))
    return StoreOrderLine(
        external_line_id=str(_int_id(line.get("id"), f"{field}.id")),
        sku=sku,
        name=_text(line.get("name"), f"{field}.name"),
        quantity=quantity,
        unit_price=unit_price,
        # §7.4: gift certificates and lines without a final_sku are not physical goods.
        requires_shipping=bool(sku) and gift is None,
    )


def _adjustments(order: Mapping[str, Any], key: str) -> list[tuple[str, Decimal]]:
    """(lower-cased note, amount) for each element of the adjustment list ``key``."""
    rows = []
    for index, raw in enumerate(_list(order.get(key), key)):
        field = f"{key}[{index}]"
        item = _obj(raw, field)
        note = _text(item.get("note"), f"{field}.note").casefold()
        rows.append((note, _money(item.get("amount"), f"{field}.amount")))
    return rows


def _gift_message(order: Mapping[str, Any]) -> str:
    """A checkout answer titled like "Gift message" (custom_data_collections, §7.3), if any."""
    direct = _text(order.get("gift_message"), "gift_message")
    if direct:
        return direct
    for index, raw in enumerate(_list(order.get("custom_data_collections"),
                                      "custom_data_collections")):
        field = f"custom_data_collections[{index}]"
        collection = _obj(raw, field)
        title = _text(collection.get("title"), f"{field}.title")
        for a_index, attr_raw in enumerate(_list(collection.get("attributes"),
                                                 f"{field}.attributes")):
            attr_field = f"{field}.attributes[{a_index}]"
            attr = _obj(attr_raw, attr_field)
            key = _text(attr.get("key"), f"{attr_field}.key")
            value = _text(attr.get("value"), f"{attr_field}.value")
            if value and (_GIFT_MESSAGE.search(title) or _GIFT_MESSAGE.search(key)):
                return value
    return ""


def _notes(order: Mapping[str, Any]) -> str:
    """Order comments, oldest first, without the hub's own ("API") notes."""
    texts = []
    for index, raw in enumerate(_list(order.get("notes"), "notes")):
        field = f"notes[{index}]"
        note = _obj(raw, field)
        text = _text(note.get("note"), f"{field}.note")
        if text and _text(note.get("username"), f"{field}.username") != "API":
            texts.append(text)
    return "\n".join(texts)


def _order(order: Mapping[str, Any]) -> StoreOrder:
    external_id = str(_int_id(order.get("order_id"), "order_id"))
    created_raw = order.get("created_at") or order.get("date")  # "date" before v2.0.0
    ordered_at = parse_timestamp(created_raw, "created_at")
    updated_raw = order.get("updated_at")
    updated_at = parse_timestamp(updated_raw, "updated_at") if updated_raw else ordered_at
    raw_lines = _list(order.get("line_items"), "line_items", required=True)
    if not raw_lines:
        raise _Bad("line_items", "is empty: the order has no line items")
    lines = tuple(_line(raw, f"line_items[{i}]") for i, raw in enumerate(raw_lines))
    ship_to = _address(order.get("shipping_contact"), order.get("shipping_address"),
                       "shipping", required=True)
    assert ship_to is not None  # required=True never returns None
    bill_to = _address(order.get("billing_contact"), order.get("billing_address"),
                       "billing", required=False)
    shipment = _obj(order.get("shipment"), "shipment", required=False)
    method = (_text(shipment.get("shipping_method"), "shipment.shipping_method")
              or _text(order.get("shipping_method"), "shipping_method"))

    required = _adjustments(order, "required_adjustments")
    shipping_rows = [amount for note, amount in required if note in SHIPPING_NOTES]
    if shipping_rows:
        shipping = sum(shipping_rows, Decimal("0"))
    else:
        shipping = _money(shipment.get("cost"), "shipment.cost", default=Decimal("0"))
    tax_rows = [amount for note, amount in required if note in TAX_NOTES]
    if tax_rows:
        tax = sum(tax_rows, Decimal("0"))
    else:
        tax = sum((_money(_obj(raw, f"line_items[{i}]").get("tax_price"),
                          f"line_items[{i}].tax_price", default=Decimal("0"))
                   for i, raw in enumerate(raw_lines)), Decimal("0"))
    discount = Decimal("0")
    for key in DISCOUNT_LISTS:
        discount -= sum((amount for _, amount in _adjustments(order, key) if amount < 0),
                        Decimal("0"))
    _adjustments(order, "balance_adjustments")  # validated, not a discount (see DISCOUNT_LISTS)

    customer_email = _text(order.get("customer_email"), "customer_email") or ship_to.email
    site_id = order.get("site_id")
    return StoreOrder(
        external_id=external_id,
        display_id=external_id,
        status=_text(order.get("status"), "status", required=True),
        ordered_at=ordered_at,
        updated_at=updated_at,
        customer_email=customer_email,
        ship_to=ship_to,
        bill_to=bill_to,
        shipping_method=method,
        lines=lines,
        shipping_amount=shipping,
        tax_amount=tax,
        discount_amount=discount,
        total_amount=_money(order.get("grand_total"), "grand_total", default=Decimal("0")),
        currency="USD",  # §3: no currency field; the store's single currency
        notes=_notes(order),
        gift_message=_gift_message(order),
        site_id=str(_int_id(site_id, "site_id")) if site_id not in (None, "") else "",
    )


def order_from_json(payload: Any) -> StoreOrder:
    """Map show-order JSON (§7.3), bare or wrapped in ``{"order": …}``, to a StoreOrder.

    Raises OrderDataError (``field`` = dotted path of the first bad value) for any input that
    cannot be mapped; nothing else escapes.
    """
    order = unwrap_order(payload)
    external_id = None
    if isinstance(order, Mapping):
        raw_id = order.get("order_id")
        if isinstance(raw_id, int | str) and not isinstance(raw_id, bool):
            external_id = str(raw_id)[:40]
    try:
        return _order(_obj(order, "order"))
    except _Bad as bad:
        where = f"Bright Sites order {external_id}" if external_id else "Bright Sites order"
        raise OrderDataError(f"{where}: {bad.field} {bad.problem}", field=bad.field,
                             external_id=external_id) from None
    except RecursionError:
        raise OrderDataError("Bright Sites order: the order JSON is nested too deeply",
                             field="order", external_id=external_id) from None


# --------------------------------------------------------------------------------------------
# List rows (§7.2), shipments (§8) and inventory rows (§9.3)
# --------------------------------------------------------------------------------------------


def _bad_response(bad: _Bad, what: str) -> BadResponse:
    return BadResponse(f"Bright Sites sent {what} with a wrong {bad.field}: {bad.problem}",
                       field=bad.field)


def summary_from_row(row: Any, field: str) -> OrderSummary:
    """An OrderSummary from one ``GET /orders`` row. Raises BadResponse naming the field."""
    try:
        item = _obj(row, field)
        order_id = str(_int_id(item.get("order_id"), f"{field}.order_id"))
        created_raw = item.get("created_at")
        created = parse_timestamp(created_raw, f"{field}.created_at") if created_raw else None
        updated_raw = item.get("updated_at")
        updated = (parse_timestamp(updated_raw, f"{field}.updated_at") if updated_raw
                   else created)
        if updated is None:
            raise _Bad(f"{field}.updated_at", "is missing")
        return OrderSummary(external_id=order_id, display_id=order_id, updated_at=updated,
                            created_at=created,
                            status=_text(item.get("status"), f"{field}.status"))
    except _Bad as bad:
        raise _bad_response(bad, "an order list row") from None


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One store-wide inventory record (§9.3): where a final_sku's level lives."""

    final_sku: str
    product_id: int
    record_id: int
    inventory: int
    track: bool


def inventory_from_row(row: Any, field: str) -> InventoryRow:
    """An InventoryRow from one ``GET /inventories`` row. Raises BadResponse naming the field."""
    try:
        item = _obj(row, field)
        level = item.get("inventory")
        if level is None:
            level = 0
        if isinstance(level, bool) or not isinstance(level, int):
            raise _Bad(f"{field}.inventory", "must be a whole number")
        if abs(level) > LARGEST_QUANTITY:  # compared with, and stored as, a 32-bit level
            raise _Bad(f"{field}.inventory", f"must be at most {LARGEST_QUANTITY}")
        track = item.get("track")
        return InventoryRow(
            final_sku=_text(item.get("final_sku"), f"{field}.final_sku"),
            product_id=_int_id(item.get("product_id"), f"{field}.product_id"),
            record_id=_int_id(item.get("id"), f"{field}.id"),
            inventory=level,
            track=track in (True, 1, "true", "1", None),
        )
    except _Bad as bad:
        raise _bad_response(bad, "an inventory row") from None


def shipping_method_for(shipment: StoreShipment) -> str:
    """The free-text shipping method carrying the carrier (§8.3): "UPS" + "Ground"."""
    return " ".join(part.strip() for part in (shipment.carrier, shipment.service)
                    if part and part.strip())


def shipment_body(shipment: StoreShipment, *, notify_customer: bool) -> dict[str, Any]:
    """The ``POST /orders/:id/shipments`` body (§8.3) for one hub shipment."""
    body: dict[str, Any] = {
        "tracking_number": shipment.tracking_number,
        "send_shipping_confirmation": bool(notify_customer),
        "ship_date": shipment.ship_date.isoformat(),
        "line_items": [{"id": _line_id_number(line.external_line_id), "quantity": line.quantity}
                       for line in shipment.lines],
    }
    method = shipping_method_for(shipment)
    if method:
        body["shipping_method"] = method
    return {"shipment": body}


def _line_id_number(external_line_id: str) -> int | str:
    text = str(external_line_id).strip()
    return int(text) if text.isdigit() else text


def _line_counts(lines: Any) -> dict[str, int] | None:
    counts: dict[str, int] = {}
    if not isinstance(lines, list):
        return None
    for item in lines:
        if not isinstance(item, Mapping):
            return None
        line_id, quantity = item.get("id"), item.get("quantity")
        if isinstance(quantity, str) and quantity.strip().isdigit():
            quantity = int(quantity)
        if line_id is None or isinstance(quantity, bool) or not isinstance(quantity, int):
            return None
        key = str(line_id).strip()
        counts[key] = counts.get(key, 0) + quantity
    return counts


def shipment_matches(remote: Any, shipment: StoreShipment) -> bool:
    """Whether a store shipment (§8.2) is this hub shipment: same tracking number and lines."""
    if not isinstance(remote, Mapping):
        return False
    tracking = remote.get("tracking_number") or ""
    if not isinstance(tracking, str) or tracking.strip() != shipment.tracking_number.strip():
        return False
    wanted: dict[str, int] = {}
    for line in shipment.lines:
        key = str(line.external_line_id).strip()
        wanted[key] = wanted.get(key, 0) + line.quantity
    return _line_counts(remote.get("line_items")) == wanted


def shipment_id(remote: Any) -> str:
    """The id of a created shipment; raises BadResponse when the body has none."""
    if isinstance(remote, Mapping):
        value = remote.get("id")
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
            try:
                # Cut to the column (64): a longer id is no Bright Sites id, and the shipment
                # is posted already, so refusing it would post it again on every retry.
                return _text(value, "id", required=True)[:64]
            except _Bad as bad:  # NUL or a lone surrogate: no column stores the id
                raise _bad_response(bad, "the created shipment") from None
    raise BadResponse("Bright Sites answered the shipment request without a shipment id",
                      field="id")

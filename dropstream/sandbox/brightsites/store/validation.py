"""Reading queries and checking request bodies, with the error answers of §5.

Query helpers take the parsed query string (name → values); body checks return clean values or
raise ApiError 422 in shape A listing every bad field (§5.1, §5.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dropstream.sandbox.brightsites.wire import (
    ORDER_STATUSES,
    RULE_ARRAY_OF_HASHES,
    RULE_BOOLEAN,
    RULE_HASH,
    RULE_NUMBER,
    RULE_ORDER_DATE,
    RULE_SHIP_DATE,
    RULE_STATUS,
    RULE_STRING,
    ApiError,
    ShapeA,
    as_bool,
    as_int,
    invalid_parameter,
    parse_filter_time,
    parse_order_date,
    parse_ship_date,
)

Query = Mapping[str, list[str]]
DEFAULT_PER_PAGE = 50  # §4 (observed)
MAX_PER_PAGE = 500  # §4 (documented since 2.1.1)
ADDRESS_KEYS = ("first_address", "company", "second_address", "city", "state", "country", "zip")
CONTACT_KEYS = ("first_name", "last_name", "email", "phone")


def one(query: Query, name: str) -> str | None:
    """The last value of ``name`` in the query, or None when absent."""
    values = query.get(name)
    return values[-1] if values else None


def many(query: Query, name: str) -> list[str]:
    """``name=a`` or ``name[]=a&name[]=b`` (§3 array encoding assumption)."""
    return list(query.get(name, [])) + list(query.get(f"{name}[]", []))


def paging(query: Query, errors: ShapeA) -> tuple[int, int]:
    """§4: page from 1 (< 1 → 1), per_page default 50, clamped to 500."""
    page, per_page = 1, DEFAULT_PER_PAGE
    raw_page, raw_per_page = one(query, "page"), one(query, "per_page")
    if raw_page not in (None, ""):
        value = as_int(raw_page)
        if value is None:
            errors.add("page", raw_page, RULE_NUMBER)
        else:
            page = max(value, 1)
    if raw_per_page not in (None, ""):
        value = as_int(raw_per_page)
        if value is None:
            errors.add("per_page", raw_per_page, RULE_NUMBER)
        else:
            per_page = min(max(value, 1), MAX_PER_PAGE)
    return page, per_page


def time_filter(query: Query, name: str, errors: ShapeA) -> datetime | None:
    """The time in filter ``name`` (§3), or None when absent; an unreadable one is added to
    ``errors`` and gives None."""
    raw = one(query, name)
    if raw in (None, ""):
        return None
    try:
        return parse_filter_time(raw)
    except ValueError:
        errors.add(name, raw, "Invalid date format. Valid format: ISO 8601")
        return None


def object_in(body: Any, key: str) -> dict[str, Any]:
    """``body[key]`` when ``body`` is an object holding an object there; raises ApiError 422
    (shape A, "Must be a Hash") otherwise, before any other field is checked."""
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise ApiError(422, {"errors": {key: invalid_parameter(key, value, RULE_HASH)}})
    return value


def page_meta(total: int, offset: int, limit: int) -> dict[str, int]:
    """The ``meta`` object of a listing (§4)."""
    return {"total": total, "offset": offset, "limit": limit}


def in_window(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    """Whether ``moment`` is within [start, end]; a missing bound does not limit."""
    return (start is None or moment >= start) and (end is None or moment <= end)


def validate_order_update(body: Any) -> dict[str, Any]:
    """§7.5 keys → clean values. Raises ApiError 422 shape A listing every bad field."""
    order = object_in(body, "order")
    errors = ShapeA()
    changes: dict[str, Any] = {}
    if "status" in order:
        if not isinstance(order["status"], str) or order["status"] not in ORDER_STATUSES:
            errors.add("status", order["status"], RULE_STATUS)
        else:
            changes["status"] = order["status"]
    for key in ("shipping_method", "tracking_number", "note"):
        if key in order:
            if not isinstance(order[key], str):
                errors.add(key, order[key], RULE_STRING)
            else:
                changes[key] = order[key]
    for key in ("ship_date", "in_hands_date"):
        if key in order:
            parsed = parse_order_date(order[key])
            if parsed is None:
                errors.add(key, order[key], RULE_ORDER_DATE)
            else:
                changes[key] = parsed
    take_flag(order, "send_shipping_confirmation", errors, changes)
    for part, keys in (("shipping_address", ADDRESS_KEYS), ("billing_address", ADDRESS_KEYS),
                       ("shipping_contact", CONTACT_KEYS), ("billing_contact", CONTACT_KEYS)):
        if part not in order:
            continue
        value = order[part]
        if not isinstance(value, dict):
            errors.add(part, value, RULE_HASH)
            continue
        clean = {}
        for key in keys:
            if key in value:
                if not isinstance(value[key], str):
                    errors.add(f"{part}[{key}]", value[key], RULE_STRING)
                else:
                    clean[key] = value[key]
        changes[part] = clean
    errors.raise_if_any()
    return changes


def validate_shipment(body: Any) -> dict[str, Any]:
    """§8.3 structure (both modes). Raises ApiError 422 shape A."""
    shipment = object_in(body, "shipment")
    errors = ShapeA()
    fields: dict[str, Any] = {}
    for key in ("tracking_number", "shipping_method", "note"):
        value = shipment.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.add(key, value, RULE_STRING)
        elif key == "note" and len(value) > 255:
            errors.add(key, value, f"{RULE_STRING} (max 255 characters)")
        else:
            fields[key] = value
    if shipment.get("ship_date") is not None:
        parsed = parse_ship_date(shipment["ship_date"])
        if parsed is None:
            errors.add("ship_date", shipment["ship_date"], RULE_SHIP_DATE)
        else:
            fields["ship_date"] = parsed
    take_flag(shipment, "send_shipping_confirmation", errors, fields)
    items = shipment.get("line_items")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        errors.add("line_items", items, RULE_ARRAY_OF_HASHES)
    else:
        clean = []
        for item in items:
            line_id, quantity = as_int(item.get("id")), as_int(item.get("quantity"))
            if line_id is None:
                errors.add("line_items", items, "id " + RULE_NUMBER)
            elif quantity is None:
                errors.add("line_items", items, "quantity " + RULE_NUMBER)
            else:
                clean.append({"id": line_id, "quantity": quantity})
        fields["line_items"] = clean
    errors.raise_if_any()
    return fields


def record_changes(item: dict[str, Any], name: str, errors: ShapeA) -> dict[str, Any]:
    """inventory/trigger (numbers), track/allow_negative (booleans) of one record update."""
    change: dict[str, Any] = {}
    for key in ("inventory", "trigger"):
        if key in item:
            value = as_int(item[key])
            if value is None:
                errors.add(f"{name}[{key}]", item[key], RULE_NUMBER)
            else:
                change[key] = value
    for key in ("track", "allow_negative"):
        take_flag(item, key, errors, change, shown=f"{name}[{key}]")
    return change


def take_flag(source: Mapping[str, Any], key: str, errors: ShapeA, clean: dict[str, Any], *,
              shown: str | None = None) -> None:
    """Copy ``source[key]``, when present, into ``clean`` as a boolean (true, false, 1, 0); any
    other value is added to ``errors`` under ``shown`` (default: ``key``) instead."""
    if key not in source:
        return
    flag = as_bool(source[key])
    if flag is None:
        errors.add(shown or key, source[key], RULE_BOOLEAN)
    else:
        clean[key] = flag

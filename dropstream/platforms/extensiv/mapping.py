"""Hub values ↔ Extensiv JSON (spec §5.2 create body, §5.3/§5.4 orders read back, §6.1 stock).

No request is made here. Reading an answer raises BadResponse (``field`` names the member) for
a value of the wrong shape — a list where a number belongs, ``NaN``, a number too large for
the hub, text holding NUL — never a TypeError from deep inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dropstream.platforms import answers
from dropstream.platforms.answers import LARGEST
from dropstream.platforms.base import (
    InventoryLevel,
    WarehouseOrder,
    WarehouseShipment,
    WarehouseShipmentLine,
)
from dropstream.platforms.extensiv.client import ITEM_REL, ci, embedded

WMS_DATE = "%Y-%m-%dT%H:%M:%S"
STATUS_OPEN, STATUS_CLOSED, STATUS_CANCELED = 0, 1, 2
ROUTING_SEPARATOR = "/"


def routing(ship_method: str) -> dict[str, str]:
    """The shipping map's warehouse code as ``routingInfo``: ``UPS/03`` → carrier UPS, mode 03
    (§5.2: the carrier name as configured in the WMS, the mode its service code); a code with
    no ``/`` is the carrier alone."""
    carrier, _, mode = (ship_method or "").partition(ROUTING_SEPARATOR)
    info = {"carrier": carrier.strip()} if carrier.strip() else {}
    if mode.strip():
        info["mode"] = mode.strip()
    return info


def order_body(order: WarehouseOrder, *, customer_id: int, facility_id: int) -> dict[str, Any]:
    """The §5.2 create body. Each item's ``externalId`` is the hub's line number, so packages
    (which name ``orderItemId``s) map back to the hub's lines."""
    ship = order.ship_to
    body: dict[str, Any] = {
        "customerIdentifier": {"id": customer_id},
        "facilityIdentifier": {"id": facility_id},
        "referenceNum": order.order_number,
        "shipTo": {"companyName": ship.company, "name": ship.name, "address1": ship.street1,
                   "address2": ship.street2, "city": ship.city, "state": ship.state,
                   "zip": ship.postal_code, "country": ship.country,
                   "phoneNumber": ship.phone, "emailAddress": ship.email or order.customer_email},
        "orderItems": [{"itemIdentifier": {"sku": line.sku}, "qty": line.quantity,
                        "externalId": str(line.line_number)} for line in order.lines],
    }
    if order.po_number:
        body["poNum"] = order.po_number
    notes = "\n".join(text for text in (order.customer_notes, order.gift_message) if text)
    if notes:
        body["notes"] = notes
    info = routing(order.ship_method)
    if info:
        body["routingInfo"] = info
    if order.bill_to is not None:
        bill = order.bill_to
        body["billTo"] = {"companyName": bill.company, "name": bill.name,
                          "address1": bill.street1, "address2": bill.street2, "city": bill.city,
                          "state": bill.state, "zip": bill.postal_code, "country": bill.country}
    return body


# --------------------------------------------------------------------------------------------
# Orders read back
# --------------------------------------------------------------------------------------------


PLATFORM = "Extensiv"


def _number(value: Any, field: str) -> float:
    return answers.number(PLATFORM, value, field)


def _whole(value: Any, field: str) -> int:
    return answers.whole(PLATFORM, value, field)


def _text(value: Any, field: str) -> str:
    return answers.text(PLATFORM, value, field)


def _records(value: Any, field: str) -> list[Any]:
    return answers.records(PLATFORM, value, field)


def read_only(order: Mapping[str, Any]) -> Mapping[str, Any]:
    value = ci(order, "readOnly")
    return value if isinstance(value, Mapping) else {}


def order_id(order: Mapping[str, Any]) -> int:
    return _whole(ci(read_only(order), "orderId"), "readOnly.orderId")


def status(order: Mapping[str, Any]) -> int:
    value = ci(read_only(order), "status")
    return _whole(value, "readOnly.status") if value is not None else STATUS_OPEN


def modified(order: Mapping[str, Any]) -> str:
    return _text(ci(read_only(order), "lastModifiedDate"), "readOnly.lastModifiedDate")


def created_by(order: Mapping[str, Any], *, user_login: str, user_login_id: str) -> bool:
    """Whether the hub's user created it (§2.1: the user login "identifies which connection
    created a transaction"); other integrations' orders of the customer are not the hub's."""
    who = ci(read_only(order), "createdByIdentifier")
    if not isinstance(who, Mapping):
        return True  # nothing said: keep it (the hub matches by reference anyway)
    name = _text(ci(who, "name"), "readOnly.createdByIdentifier.name")
    number = _text(ci(who, "id"), "readOnly.createdByIdentifier.id")
    if user_login:
        return name.lower() == user_login.lower()
    return not user_login_id or number == str(user_login_id)


def wms_time(text: str) -> datetime | None:
    """An unqualified WMS timestamp (§3), as a naive datetime in the WMS's own frame."""
    try:
        return datetime.strptime(text[:19], WMS_DATE)
    except (TypeError, ValueError):
        return None


def shift(text: str, seconds: int) -> str:
    """``text`` (an unqualified timestamp) moved back ``seconds``, in the same frame."""
    moment = wms_time(text)
    return (moment - timedelta(seconds=seconds)).strftime(WMS_DATE) if moment else text


def _ship_date(order: Mapping[str, Any]) -> date:
    moment = wms_time(_text(ci(read_only(order), "shipDate"), "readOnly.shipDate"))
    return moment.date() if moment else datetime.now(UTC).date()


def _lines_by_item(order: Mapping[str, Any]) -> dict[int, tuple[int | None, str]]:
    """orderItemId → (hub line number from the item's ``externalId``, SKU)."""
    lines: dict[int, tuple[int | None, str]] = {}
    items = embedded(order, ITEM_REL) or _records(ci(order, "orderItems"), "orderItems")
    for index, item in enumerate(items):
        item_id = ci(read_only(item), "orderItemId")
        if item_id is None:
            continue
        where = f"orderItems[{index}]"
        external = _text(ci(item, "externalId"), f"{where}.externalId")
        sku = _text(ci(ci(item, "itemIdentifier"), "sku"), f"{where}.itemIdentifier.sku")
        number = int(external) if external.isascii() and external.isdigit() \
            and len(external) <= 9 else None
        lines[_whole(item_id, f"{where}.readOnly.orderItemId")] = (number, sku)
    return lines


def _quantity(value: Any, field: str) -> int:
    return int(round(_number(value, field)))


def shipments(order: Mapping[str, Any]) -> list[WarehouseShipment]:
    """One hub shipment per package of a closed order (§5.4), lines from ``packageContents``
    mapped through ``orderItemId``; carrier and service from ``routingInfo`` (the WMS does not
    say which package used which service)."""
    reference = _text(ci(order, "referenceNum"), "referenceNum")
    route = ci(order, "routingInfo") or {}
    carrier = _text(ci(route, "carrier"), "routingInfo.carrier")
    service = _text(ci(route, "mode"), "routingInfo.mode")
    order_tracking = _text(ci(route, "trackingNumber"), "routingInfo.trackingNumber")
    shipped_on = _ship_date(order)
    items = _lines_by_item(order)
    packages = _records(ci(read_only(order), "packages"), "readOnly.packages")
    found: list[WarehouseShipment] = []
    for index, package in enumerate(packages):
        where = f"readOnly.packages[{index}]"
        raw_id = ci(package, "packageId")
        # A package without an id keeps the key it always had ("<reference>|None").
        package_id = "None" if raw_id is None else _text(raw_id, f"{where}.packageId")
        lines: list[WarehouseShipmentLine] = []
        contents = _records(ci(package, "packageContents"), f"{where}.packageContents")
        for number_in_package, content in enumerate(contents):
            inside = f"{where}.packageContents[{number_in_package}]"
            item_id = _whole(ci(content, "orderItemId"), f"{inside}.orderItemId")
            number, sku = items.get(item_id, (None, ""))
            quantity = _quantity(ci(content, "qty"), f"{inside}.qty")
            if quantity > 0:
                lines.append(WarehouseShipmentLine(line_number=number, sku=sku,
                                                   quantity=quantity))
        tracking = _text(ci(package, "trackingNumber"), f"{where}.trackingNumber") \
            or order_tracking
        weight = _number(ci(package, "weight"), f"{where}.weight")
        found.append(WarehouseShipment(
            key=f"{reference}|{package_id}", order_number=reference, carrier=carrier,
            service=service, tracking_number=tracking, ship_date=shipped_on,
            lines=tuple(lines), warehouse_shipment_id=package_id,
            weight=Decimal(str(weight)) if weight else None))
    if not found:
        # Closed without packages (a confirm with only an order-level tracking number): the
        # items as they stand are what shipped.
        lines = []
        for index, item in enumerate(embedded(order, ITEM_REL)):
            where = f"orderItems[{index}]"
            item_id = _whole(ci(read_only(item), "orderItemId"), f"{where}.readOnly.orderItemId")
            number, sku = items.get(item_id, (None, ""))
            quantity = _quantity(ci(item, "qty"), f"{where}.qty")
            if quantity > 0:
                lines.append(WarehouseShipmentLine(line_number=number, sku=sku,
                                                   quantity=quantity))
        found.append(WarehouseShipment(
            key=f"{reference}|order-{order_id(order)}", order_number=reference,
            carrier=carrier, service=service, tracking_number=order_tracking,
            ship_date=shipped_on, lines=tuple(lines),
            warehouse_shipment_id=str(order_id(order))))
    return found


# --------------------------------------------------------------------------------------------
# Stock
# --------------------------------------------------------------------------------------------


def levels(rows: Iterable[Mapping[str, Any]]) -> list[InventoryLevel]:
    """``available`` (and ``onHand``) per SKU, summed over the facilities read (§6.1)."""
    available: dict[str, float] = {}
    on_hand: dict[str, float] = {}
    names: dict[str, str] = {}
    for index, row in enumerate(rows):
        where = f"summaries[{index}]"
        sku = _text(ci(ci(row, "itemIdentifier"), "sku"), f"{where}.itemIdentifier.sku")
        if not sku:
            continue
        key = sku.lower()
        names.setdefault(key, sku)
        available[key] = available.get(key, 0.0) + _number(ci(row, "available"),
                                                           f"{where}.available")
        on_hand[key] = on_hand.get(key, 0.0) + _number(ci(row, "onHand"), f"{where}.onHand")
    # A sum over facilities can pass LARGEST where each row did not: capped, not an overflow.
    return [InventoryLevel(sku=names[key], available=min(max(int(available[key]), 0), LARGEST),
                           on_hand=max(min(int(on_hand[key]), LARGEST), -LARGEST))
            for key in sorted(names)]

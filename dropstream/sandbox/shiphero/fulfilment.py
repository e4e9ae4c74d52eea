"""The fulfilment driver: what the warehouse does to an order (spec §13 #9).

``ship_order`` makes one ``Shipment`` with one ``ShippingLabel`` per package, each carrying
its own tracking number, carrier, method and cost (§5.2: package-level values; the hub builds
one shipment per label) and the line quantities packed in it. Stock leaves the warehouse
(§13 #14), the order becomes ``fulfilled`` when every unit shipped, else
``settings.partial_fulfillment_status``. Shipment Update (§11.3) and Inventory Update (§10.2)
fire. ``pick_order`` marks picking as started (which can block a cancel, §6).

Package spec (Python and control endpoint)::

    {"lines": {"<partner_line_item_id | line id | sku>": 1, ...},   # default: all allocated
     "tracking_number": "1Z...", "carrier": "ups", "method": "Ground", "cost": "8.12",
     "shipping_name": "UPS Ground", "box_code": "B1",
     "dimensions": {"weight": "2.0", "length": "10", "width": "8", "height": "4"}}
"""

from __future__ import annotations

from typing import Any

from dropstream.sandbox.shiphero import payloads, stock
from dropstream.sandbox.shiphero.errors import ControlError
from dropstream.sandbox.shiphero.model import (
    HistoryEntry,
    LineItem,
    Order,
    Shipment,
    ShipmentLine,
    ShippingLabel,
)
from dropstream.sandbox.shiphero.state import Event, SimState

_PACKAGE_KEYS = {"lines", "tracking_number", "carrier", "method", "cost", "shipping_name",
                 "box_code", "dimensions"}


def pick_order(state: SimState, order: Order) -> Order:
    if order.canceled:
        raise ControlError("the order is canceled")
    order.picked = True
    order.updated_at = state.clock.now()
    order.order_history.append(HistoryEntry(order.updated_at, "Picking started"))
    return order


def ship_order(state: SimState, order: Order, packages: list[dict[str, Any]] | None = None, *,
               force: bool = False, shipped_off_shiphero: bool = False) -> Shipment:
    """Ship ``packages`` (default: one package with every allocated unit). Raises
    ControlError when the order cannot ship that."""
    if order.canceled:
        raise ControlError("the order is canceled")
    if order.on_hold and not force:
        held = ", ".join(name for name, on in order.holds.items() if on)
        raise ControlError(f"the order is on hold ({held}); release it or pass force")
    plan = _plan(order, packages or [{}])
    totals: dict[int, int] = {}
    for lines in plan:
        for line, quantity in lines:
            totals[line.legacy_id] = totals.get(line.legacy_id, 0) + quantity
    by_id = {line.legacy_id: line for line in order.line_items}
    warehouses = {by_id[lid].warehouse.legacy_id for lid in totals if by_id[lid].warehouse}
    for lid, quantity in totals.items():
        line = by_id[lid]
        if quantity > line.quantity_allocated:
            raise ControlError(f"line {line.partner_line_item_id!r} has {line.quantity_allocated}"
                               f" allocated unit(s); cannot ship {quantity}")
    if not totals:
        raise ControlError("nothing to ship: no allocated units in the packages")
    if len(warehouses) != 1:
        raise ControlError("the lines are allocated in different warehouses: ship each "
                           "warehouse's lines separately")
    complete = all(totals.get(line.legacy_id, 0) >= line.open_quantity
                   for line in order.line_items)
    if (not complete and not order.allow_partial and not force
            and state.settings.partial_shipping == "respect_allow_partial"):
        raise ControlError("the order does not allow partial shipments (allow_partial false); "
                           "ship every open unit or pass force")
    return _record(state, order, plan, packages or [{}], shipped_off_shiphero)


def _plan(order: Order, packages: list[dict[str, Any]]) -> list[list[tuple[LineItem, int]]]:
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise ControlError("packages must be a list of objects")
    plan = []
    for number, package in enumerate(packages, start=1):
        unknown = set(package) - _PACKAGE_KEYS
        if unknown:
            raise ControlError(f"package {number}: unknown key(s) {', '.join(sorted(unknown))}")
        raw = package.get("lines")
        if raw is None:
            if len(packages) != 1:
                raise ControlError("with several packages, each needs its lines")
            plan.append([(line, line.quantity_allocated) for line in order.line_items
                         if line.quantity_allocated > 0])
            continue
        if not isinstance(raw, dict) or not raw:
            raise ControlError(f"package {number}: lines must map line keys to quantities")
        lines = []
        for key, quantity in raw.items():
            line = order.line(str(key))
            if line is None:
                raise ControlError(f"package {number}: no line {key!r} on the order")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise ControlError(f"package {number}: quantity for {key!r} must be >= 1")
            lines.append((line, quantity))
        plan.append(lines)
    return plan


def _record(state: SimState, order: Order, plan: list[list[tuple[LineItem, int]]],
            packages: list[dict[str, Any]], shipped_off_shiphero: bool) -> Shipment:
    now = state.clock.now()
    warehouse = next(line for package in plan for line, _ in package).warehouse
    assert warehouse is not None
    shipment = Shipment(legacy_id=state.ids.legacy("Shipment"), order=order, warehouse=warehouse,
                        created_date=now, address=dict(order.shipping_address),
                        shipped_off_shiphero=shipped_off_shiphero)
    carrier_default = (order.shipping_lines or {}).get("carrier") or "ups"
    method_default = (order.shipping_lines or {}).get("method") or "Ground"
    rows = []
    for number, (lines, package) in enumerate(zip(plan, packages, strict=True), start=1):
        label_id = state.ids.legacy("ShippingLabel")
        carrier = str(package.get("carrier") or carrier_default)
        method = str(package.get("method") or method_default)
        label = ShippingLabel(
            legacy_id=label_id, shipment=shipment, package_number=number,
            tracking_number=str(package.get("tracking_number") or f"SIM{label_id}"),
            carrier=carrier, shipping_method=method,
            shipping_name=str(package.get("shipping_name") or f"{carrier} {method}"),
            cost=str(package.get("cost") or "0.00"), created_date=now,
            box_code=package.get("box_code"), dimensions=_dimensions(package.get("dimensions")))
        shipment.shipping_labels.append(label)
        for line, quantity in lines:
            # Only allocated units ship, and an accepted unknown SKU is never allocated.
            assert line.product is not None
            row = state.stock_row(line.product, warehouse)
            stock.ship_units(row, line, quantity)
            rows.append(row)
            line.updated_at = now
            shipment.lines.append(ShipmentLine(legacy_id=state.ids.legacy("ShipmentLineItem"),
                                               shipment=shipment, line_item=line,
                                               quantity=quantity, label=label))
    order.shipments.append(shipment)
    done = all(line.quantity_shipped >= line.quantity for line in order.line_items)
    order.fulfillment_status = "fulfilled" if done else state.settings.partial_fulfillment_status
    order.updated_at = now
    order.order_history.append(HistoryEntry(
        now, f"Shipment {shipment.legacy_id} created with {len(plan)} package(s)"))
    unique_rows = list(dict.fromkeys(rows))
    for row in unique_rows:
        stock.recount_backorder(row)
        row.updated_at = now
    state.emit(Event("Shipment Update", order.account, order.shop_name,
                     payloads.shipment_updates(shipment, state.settings)))
    if unique_rows:
        stock.report_on_hand(state, unique_rows)
    return shipment


def _dimensions(raw: Any) -> dict[str, str]:
    base = {"weight": "1.00", "length": "10.00", "width": "8.00", "height": "4.00"}
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise ControlError("dimensions must be an object")
    return {key: str(raw.get(key, value)) for key, value in base.items()}

"""The warehouse's view of a hub order (``platforms.base.WarehouseOrder``): physical lines only,
by line number, SKUs translated, bundles expanded, carrier code mapped. ``prepare`` checks it
against the platform's rules; ``export`` sends it."""

from __future__ import annotations

from collections.abc import Iterable

from dropstream.orders.models import ADDRESS_PARTS, Order, OrderLine
from dropstream.platforms.base import Address, WarehouseOrder, WarehouseOrderLine


def address(order: Order, prefix: str) -> Address:
    return Address(**{part: getattr(order, f"{prefix}_{part}") for part in ADDRESS_PARTS})


def warehouse_order(order: Order, lines: Iterable[OrderLine], *, source_code: str = "",
                    facility: str = "") -> WarehouseOrder:
    """``order`` as the warehouse sees it; ``lines`` may hold any of its lines (the ones with a
    line number and not canceled are sent, by number)."""
    physical = sorted((line for line in lines if line.line_number is not None
                       and not line.canceled), key=lambda line: line.line_number)
    bill = address(order, "bill")
    return WarehouseOrder(
        order_number=order.warehouse_order_number,
        ordered_at=order.ordered_at or order.created_at,
        ship_to=address(order, "ship"),
        bill_to=bill if bill.name or bill.street1 else None,
        ship_method=order.shipping_warehouse_code,
        lines=tuple(WarehouseOrderLine(line_number=line.line_number, sku=line.warehouse_sku,
                                       quantity=line.quantity_ordered,
                                       unit_price=line.unit_price, name=line.name)
                    for line in physical),
        customer_email=order.customer_email,
        customer_notes=order.notes,
        gift_message=order.gift_message,
        source_code=source_code,
        facility=facility,
    )


def warehouse_orders(orders: list[Order], *, source_code: str = "",
                     facility: str = "") -> list[WarehouseOrder]:
    """The warehouse's view of saved ``orders``, their lines read in one query."""
    lines_by_order: dict[int, list[OrderLine]] = {}
    for line in (OrderLine.objects.filter(order__in=orders, line_number__isnull=False,
                                          canceled=False).order_by("order_id", "line_number")):
        lines_by_order.setdefault(line.order_id, []).append(line)
    return [warehouse_order(order, lines_by_order.get(order.pk, []), source_code=source_code,
                            facility=facility) for order in orders]

"""Builders for DSFX test values: orders, shipment and inventory files."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from dropstream.platforms.base import Address, WarehouseOrder, WarehouseOrderLine

ORDERED_AT = datetime(2020, 3, 7, tzinfo=UTC)
CREATED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def make_order(number: str = "1001", *, lines: int | tuple = 2, **changes) -> WarehouseOrder:
    """A complete order with ``lines`` lines (SKU-1, SKU-2…, quantities 1, 2…) or those given."""
    ship_to = Address(name="Joan Harry", street1="5050 Road N", city="Waterloo", state="ON",
                      postal_code="N1N 1N1", country="CA", phone="555-666-7777",
                      email="joan@example.com")
    values = dict(
        order_number=number, ordered_at=ORDERED_AT, ship_to=ship_to, bill_to=ship_to,
        ship_method="Ground",
        lines=lines if isinstance(lines, tuple) else tuple(
            WarehouseOrderLine(i, f"SKU-{i}", i, Decimal("9.5")) for i in range(1, lines + 1)),
        customer_email="joan@example.com", customer_notes="Leave at door", source_code="BS",
    )
    values.update(changes)
    return WarehouseOrder(**values)


def csv_bytes(*rows: str, newline: str = "\r\n", bom: bool = False) -> bytes:
    text = newline.join(rows) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")

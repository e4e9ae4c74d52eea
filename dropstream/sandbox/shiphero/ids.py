"""Identifiers: Relay ids, seeded legacy ids, request ids, cursors and message ids.

* Relay ids are base64 of ``"<Type>:<legacy_id>"`` (spec §4.2: ``T3JkZXI6MjAxNTM3Nzg3`` is
  ``Order:201537787``); ``legacy_id`` is the number. Inputs accept either form (§3, §14.8).
* ``request_id`` is 24 hex digits like the examples (§4.2).
* Cursors are ``base64("arrayconnection:<offset>")`` (§7: opaque; clients never build them).
* Everything is drawn from a ``random.Random`` seeded by the sandbox seed: same seed, same ids.
"""

from __future__ import annotations

import base64
import binascii
import random
import threading
import uuid

ENTITY_TYPES = ("Account", "Warehouse", "Product", "WarehouseProduct", "Order", "LineItem",
                "Shipment", "ShipmentLineItem", "ShippingLabel", "Webhook")

# First legacy id per entity type, before the seeded jitter (magnitudes as in §4.2/§5.3).
_BASES = {"Account": 7_000, "Warehouse": 76_000, "Product": 40_000_000,
          "WarehouseProduct": 90_000_000, "Order": 201_000_000, "LineItem": 828_000_000,
          "Shipment": 315_000_000, "ShipmentLineItem": 500_000_000, "ShippingLabel": 260_000_000,
          "Webhook": 3_000}


def relay_id(entity: str, legacy_id: int) -> str:
    return base64.b64encode(f"{entity}:{legacy_id}".encode()).decode()


def parse_relay_id(text: str) -> tuple[str, int] | None:
    """``"T3JkZXI6MjAx"`` → ``("Order", 201)``; None when it is not a Relay id."""
    try:
        decoded = base64.b64decode(text.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    entity, sep, number = decoded.partition(":")
    if not sep or entity not in ENTITY_TYPES or not number.isdigit():
        return None
    return entity, int(number)


def legacy_from(text: str | int | None, entity: str) -> int | None:
    """Accept a legacy number (int or digits) or a Relay id of ``entity``; None otherwise."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, int):
        return text
    value = text.strip()
    if value.isdigit():
        return int(value)
    parsed = parse_relay_id(value)
    if parsed is None or parsed[0] != entity:
        return None
    return parsed[1]


def cursor_for(offset: int) -> str:
    return base64.b64encode(f"arrayconnection:{offset}".encode()).decode()


def offset_from_cursor(cursor: str) -> int | None:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = decoded.partition(":")
    if prefix != "arrayconnection" or not number.isdigit():
        return None
    return int(number)


class IdSource:
    """Seeded, thread-safe source of legacy ids, request ids and webhook message ids."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"shiphero-ids:{seed}")
        self._next = {name: base + self._rng.randrange(1, 900) for name, base in _BASES.items()}

    def legacy(self, entity: str) -> int:
        with self._lock:
            value = self._next[entity]
            self._next[entity] = value + self._rng.randint(1, 7)
            return value

    def request_id(self) -> str:
        with self._lock:
            return f"{self._rng.getrandbits(96):024x}"

    def message_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

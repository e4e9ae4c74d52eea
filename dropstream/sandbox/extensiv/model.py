"""The records a simulated tenant holds, and the seedable id mint (§11 #20).

Stock (§6.1) is one ``StockRow`` per customer × facility × item; ``available`` is derived so the
invariant ``onHand = available + allocated + onHold`` always holds. Orders keep the writable
fields of the create body as sent (camelCase after key normalisation) and their read-only state
(§5.3) as attributes.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUS_OPEN, STATUS_CLOSED, STATUS_CANCELED = 0, 1, 2  # §5.3 WarehouseTransactionApiStatus
SOURCE_REST_API = 7  # §5.3 warehouseTransactionSourceType


class IdMint:
    """Deterministic ids per kind: each kind starts at a seed-chosen base and counts up."""

    _RANGES = {"order": (200_000, 899_999), "order_item": (900_000, 1_899_999),
               "package": (10, 9_999), "package_content": (10, 9_999),
               "item": (1_000, 8_999), "receive_item": (50_000, 89_999),
               "rowversion": (700_000, 999_999)}

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"extensiv:{seed}")
        self._next = {kind: rng.randint(low, high) for kind, (low, high) in self._RANGES.items()}
        self._lock = threading.Lock()

    def next(self, kind: str) -> int:
        with self._lock:
            value = self._next[kind]
            self._next[kind] = value + 1
            return value


@dataclass
class Customer:
    id: int
    name: str
    external_id: str = ""

    def identifier(self) -> dict[str, Any]:
        return {"externalId": self.external_id, "name": self.name, "id": self.id}


@dataclass
class Facility:
    id: int
    name: str
    time_zone: str = "UTC"  # a Windows zone name, as Extensiv facilities carry (§3)

    def identifier(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id}


@dataclass
class Item:
    item_id: int
    customer_id: int
    sku: str
    description: str = ""

    def identifier(self) -> dict[str, Any]:
        return {"sku": self.sku, "id": self.item_id}


@dataclass
class StockRow:
    customer_id: int
    facility_id: int
    item: Item
    receive_item_id: int
    total_received: float = 0.0
    on_hand: float = 0.0
    on_hold: float = 0.0
    allocated: float = 0.0

    @property
    def available(self) -> float:
        return self.on_hand - self.allocated - self.on_hold


@dataclass
class OrderItem:
    order_item_id: int
    item: Item
    qty: float
    extra: dict[str, Any] = field(default_factory=dict)  # qualifier, externalId, notes, …
    allocated: float = 0.0
    receive_item_id: int | None = None  # the stock row the allocation came from
    row_version: int = 1

    @property
    def fully_allocated(self) -> bool:
        return self.allocated >= self.qty


@dataclass
class PackageContent:
    package_content_id: int
    package_id: int
    order_item_id: int
    receive_item_id: int
    qty: float
    created: datetime


@dataclass
class Package:
    package_id: int
    tracking_number: str
    created: datetime
    weight: float = 0.0
    length: float = 0.0
    width: float = 0.0
    height: float = 0.0
    description: str = ""
    contents: list[PackageContent] = field(default_factory=list)


@dataclass
class Order:
    order_id: int
    customer: Customer
    facility: Facility
    reference_num: str
    fields: dict[str, Any]  # the writable header fields as sent (no identifiers, no items)
    items: list[OrderItem]
    created: datetime
    modified: datetime
    created_by: dict[str, Any]
    rowversion: int
    status: int = STATUS_OPEN
    is_closed: bool = False
    process_date: datetime | None = None
    ship_date: datetime | None = None
    pick_started: bool = False
    pick_done: datetime | None = None
    pack_started: bool = False
    pack_done: datetime | None = None
    packages: list[Package] = field(default_factory=list)
    batch_id: int | None = None

    @property
    def fully_allocated(self) -> bool:
        return bool(self.items) and all(line.fully_allocated for line in self.items)

    def line(self, order_item_id: int) -> OrderItem | None:
        return next((line for line in self.items if line.order_item_id == order_item_id), None)

"""The simulator's records: accounts, warehouses, products and stock, orders, shipments,
webhooks. Attribute and property names are the GraphQL field names of spec §4–§11, so the
schema's default resolver reads them directly; ``id`` is always the Relay id (§13 #3) and
``*_id`` fields point at Relay ids too (§5.3 example: ``order_id``, ``warehouse_id``).

Inventory math (§10.1, assumption): ``available = max(0, on_hand − allocated −
reserve_inventory − non_sellable_quantity)``; ``backorder`` = ordered units that no stock
covers, per warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dropstream.sandbox.shiphero.ids import relay_id


@dataclass(eq=False)
class Account:
    """A brand (self-fulfilling) account, a 3PL, or a 3PL's customer (``parent`` set), §3."""

    legacy_id: int
    username: str
    email: str
    is_3pl: bool = False
    parent: Account | None = None
    status: str = "active"  # or "suspended" (§2.1: tokens then stop working)
    customers: list[Account] = field(default_factory=list)
    warehouses: list[Warehouse] = field(default_factory=list)
    products: dict[str, Product] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)

    ENTITY = "Account"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def fulfiller(self) -> Account:
        """Whose warehouses ship this account's orders: the 3PL for a customer account."""
        return self.parent or self

    def all_warehouses(self) -> list[Warehouse]:
        return self.fulfiller.warehouses


@dataclass(eq=False)
class Warehouse:
    legacy_id: int
    account: Account
    identifier: str
    profile: str = "default"
    address: dict[str, Any] = field(default_factory=dict)

    ENTITY = "Warehouse"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def account_id(self) -> str:
        return self.account.id


@dataclass(eq=False)
class Product:
    legacy_id: int
    account: Account
    sku: str
    name: str
    price: str
    barcode: str | None
    created_at: datetime
    updated_at: datetime
    active: bool = True
    stock: dict[int, WarehouseProduct] = field(default_factory=dict)  # by warehouse legacy id

    ENTITY = "Product"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def warehouse_products(self) -> list[WarehouseProduct]:
        return list(self.stock.values())


@dataclass(eq=False)
class WarehouseProduct:
    legacy_id: int
    product: Product
    warehouse: Warehouse
    created_at: datetime
    updated_at: datetime
    on_hand: int = 0
    allocated: int = 0
    backorder: int = 0
    reserve_inventory: int = 0
    non_sellable_quantity: int = 0
    sell_ahead: int = 0
    inventory_bin: str = ""
    active: bool = True

    ENTITY = "WarehouseProduct"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.allocated - self.reserve_inventory
                   - self.non_sellable_quantity)

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def account_id(self) -> str:
        return self.product.account.id

    @property
    def warehouse_id(self) -> str:
        return self.warehouse.id

    @property
    def warehouse_identifier(self) -> str:
        return self.warehouse.identifier


@dataclass(eq=False)
class LineItem:
    legacy_id: int
    order: Order
    sku: str
    partner_line_item_id: str
    quantity: int
    price: str
    product: Product | None
    created_at: datetime
    updated_at: datetime
    product_name: str | None = None
    option_title: str | None = None
    barcode: str | None = None
    warehouse: Warehouse | None = None
    pinned: bool = False  # warehouse_id given on the input line
    quantity_allocated: int = 0  # allocated and not yet shipped
    quantity_shipped: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    ENTITY = "LineItem"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def product_id(self) -> str | None:
        return self.product.id if self.product else None

    @property
    def warehouse_id(self) -> str | None:
        return self.warehouse.id if self.warehouse else None

    @property
    def open_quantity(self) -> int:
        """Units still to ship (0 once the order is canceled)."""
        if self.order.canceled:
            return 0
        return self.quantity - self.quantity_shipped

    @property
    def quantity_pending_fulfillment(self) -> int:
        return self.open_quantity

    @property
    def backorder_quantity(self) -> int:
        return max(0, self.open_quantity - self.quantity_allocated)

    @property
    def fulfillment_status(self) -> str:
        if self.order.canceled:
            return self.order.fulfillment_status
        if self.quantity_shipped >= self.quantity:
            return "fulfilled"
        return "partially_fulfilled" if self.quantity_shipped else "pending"


@dataclass(eq=False)
class HistoryEntry:
    created_at: datetime
    information: str
    user_id: str | None = None


@dataclass(eq=False)
class Order:
    legacy_id: int
    account: Account
    order_number: str | None
    partner_order_id: str | None
    shop_name: str | None
    fulfillment_status: str
    order_date: datetime | None
    created_at: datetime
    updated_at: datetime
    shipping_address: dict[str, Any]
    email: str | None = None
    currency: str | None = None
    total_tax: str | None = None
    total_discounts: str | None = None
    subtotal: str | None = None
    total_price: str | None = None
    required_ship_date: datetime | None = None
    hold_until_date: datetime | None = None
    billing_address: dict[str, Any] | None = None
    shipping_lines: dict[str, Any] | None = None
    holds: dict[str, bool] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    allow_partial: bool = False
    allow_split: bool = False
    packing_note: str | None = None
    gift_note: str | None = None
    line_items: list[LineItem] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    order_history: list[HistoryEntry] = field(default_factory=list)
    picked: bool = False
    canceled: bool = False
    canceled_at: datetime | None = None
    cancel_reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    ENTITY = "Order"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def on_hold(self) -> bool:
        return any(self.holds.values())

    def line(self, key: str) -> LineItem | None:
        """A line by partner_line_item_id, Relay id, legacy id or (unique) SKU."""
        for line in self.line_items:
            if key in (line.partner_line_item_id, line.id, str(line.legacy_id)):
                return line
        matches = [line for line in self.line_items if line.sku == key]
        return matches[0] if len(matches) == 1 else None


@dataclass(eq=False)
class ShippingLabel:
    """One package of a shipment (§5.2: the hub makes one shipment per label)."""

    legacy_id: int
    shipment: Shipment
    package_number: int
    tracking_number: str
    carrier: str
    shipping_name: str
    shipping_method: str
    cost: str
    created_date: datetime
    box_code: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    status: str = "valid"  # §5.3: values undocumented, "valid" is a placeholder
    delivered: bool = False
    picked_up: bool = False
    refunded: bool = False
    needs_refund: bool = False
    profile: str = "default"
    source: str = "shiphero"
    insurance_amount: str = "0.00"

    ENTITY = "ShippingLabel"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def shipment_id(self) -> str:
        return self.shipment.id

    @property
    def order_id(self) -> str:
        return self.shipment.order.id

    @property
    def order_number(self) -> str | None:
        return self.shipment.order.order_number

    @property
    def account_id(self) -> str:
        return self.shipment.order.account.id

    @property
    def warehouse_id(self) -> str:
        return self.shipment.warehouse.id

    @property
    def warehouse(self) -> str:
        return self.shipment.warehouse.identifier

    @property
    def address(self) -> dict[str, Any]:
        return self.shipment.address


@dataclass(eq=False)
class ShipmentLine:
    legacy_id: int
    shipment: Shipment
    line_item: LineItem
    quantity: int
    label: ShippingLabel

    ENTITY = "ShipmentLineItem"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def line_item_id(self) -> str:
        return self.line_item.id

    @property
    def shipment_id(self) -> str:
        return self.shipment.id

    @property
    def shipping_label_id(self) -> str:
        return self.label.id


@dataclass(eq=False)
class Shipment:
    legacy_id: int
    order: Order
    warehouse: Warehouse
    created_date: datetime
    address: dict[str, Any]
    lines: list[ShipmentLine] = field(default_factory=list)
    shipping_labels: list[ShippingLabel] = field(default_factory=list)
    shipped_off_shiphero: bool = False
    dropshipment: bool = False
    completed: bool = True
    picked_up: bool = False
    delivered: bool = False
    needs_refund: bool = False
    refunded: bool = False
    profile: str = "default"
    user_id: str | None = None
    pending_shipment_id: str | None = None

    ENTITY = "Shipment"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def order_id(self) -> str:
        return self.order.id

    @property
    def warehouse_id(self) -> str:
        return self.warehouse.id


@dataclass(eq=False)
class Webhook:
    legacy_id: int
    account: Account
    name: str
    url: str
    shop_name: str | None
    shared_signature_secret: str
    created_at: datetime
    health: str = "HEALTHY"  # §11.2: HEALTHY / WARNING / UNHEALTHY (auto-disabled)
    enabled: bool = True
    send_signature: bool = True  # §11.2 caveat: the header is missing for some accounts
    consecutive_failures: int = 0
    source: str = "API"

    ENTITY = "Webhook"

    @property
    def id(self) -> str:
        return relay_id(self.ENTITY, self.legacy_id)

    @property
    def account_id(self) -> str:
        return self.account.id

    def describe(self) -> dict[str, Any]:
        """For the control endpoint: everything but the secret."""
        return {"id": self.id, "legacy_id": self.legacy_id, "account_id": self.account.legacy_id,
                "name": self.name, "url": self.url, "shop_name": self.shop_name,
                "health": self.health, "enabled": self.enabled,
                "send_signature": self.send_signature,
                "consecutive_failures": self.consecutive_failures}

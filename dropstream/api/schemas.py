"""Request and response bodies; field names are the reference's (specs/dropstream-reference.md
§1.2, §13.6, §13.7) wherever it has them, ours otherwise."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool, StringConstraints

from dropstream.api.types import NO_NUL, NOT_BLANK, DateString, Id, In, Quantity, Text, UtcTime

# Adapter values are scalars; nested objects have no meaning for any platform's settings, and
# NaN/∞ or NUL would break the JSON column.
AdapterValue = (Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
                | Annotated[int, Field(ge=-(2**53), le=2**53)]
                | Annotated[float, Field(allow_inf_nan=False)]
                | bool
                | None)
Adapter = Annotated[
    dict[Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)], AdapterValue],
    Field(max_length=50, description="The platform's settings (reference §14); secrets are "
                                     "write-only and shown masked"),
]
Url = Annotated[str, StringConstraints(max_length=200, pattern=r"^https?://[^\s\x00]+$")]
Location = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]


# --------------------------------------------------------------------------------- auth -----

class TokenIn(In):
    grant_type: Literal["client_credentials"] = "client_credentials"


class TokenOut(Schema):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


# ----------------------------------------------------------------------------- customers ----

class CustomerFields(In):
    street1: Text(200) | None = None
    street2: Text(200) | None = None
    street3: Text(200) | None = None
    city: Text(100) | None = None
    state: Text(100) | None = None
    zipcode: Text(20) | None = None
    country: Text(100) | None = None
    provider: Literal["dropstream"] | None = None


class CustomerIn(CustomerFields):
    company_name: Annotated[str, StringConstraints(min_length=1, max_length=200,
                                                   pattern=NOT_BLANK)]


class CustomerPatch(CustomerFields):
    company_name: Annotated[str, StringConstraints(min_length=1, max_length=200,
                                                   pattern=NOT_BLANK)] = None


class CustomerOut(Schema):
    id: int
    company_name: str
    street1: str | None
    street2: str | None
    street3: str | None
    city: str | None
    state: str | None
    zipcode: str | None
    country: str | None
    provider: str | None
    created_at: UtcTime


# -------------------------------------------------------------------- stores, warehouses ----

class StoreFields(In):
    name: Text(200) = ""
    description: Text(500) = ""
    url: Url | None = None
    platform: Text(50, min_length=1)
    adapter: Adapter = Field(default_factory=dict)
    # Orders created before this are not imported; default: when first enabled.
    import_since: DateString | None = None


class StoreIn(StoreFields):
    customer_id: Id


class StorePing(StoreFields):
    """The body of POST /stores; ``customer_id`` is accepted and not needed."""

    customer_id: Id | None = None


class NestedStoreIn(StoreFields):
    customer_id: Id | None = None


class StorePatch(In):
    name: Text(200) = None
    description: Text(500) = None
    url: Url | None = None
    enabled_at: DateString | None = None
    import_since: DateString | None = None
    adapter: Adapter = None


class StoreOut(Schema):
    id: int
    customer_id: int
    name: str
    description: str
    url: str | None
    platform: str
    created_at: UtcTime
    enabled_at: UtcTime | None
    import_since: UtcTime | None
    order_imported_at: UtcTime | None
    inventory_updated_at: UtcTime | None


class StoreDetail(StoreOut):
    adapter: dict[str, Any]


class WarehouseFields(In):
    description: Text(500) = ""
    platform: Text(50, min_length=1)
    adapter: Adapter = Field(default_factory=dict)


class WarehouseIn(WarehouseFields):
    customer_id: Id


class WarehousePing(WarehouseFields):
    customer_id: Id | None = None


class NestedWarehouseIn(WarehouseFields):
    customer_id: Id | None = None


class WarehousePatch(In):
    description: Text(500) = None
    enabled_at: DateString | None = None
    adapter: Adapter = None


class WarehouseOut(Schema):
    id: int
    customer_id: int
    description: str
    platform: str
    created_at: UtcTime
    enabled_at: UtcTime | None
    order_status_imported_at: UtcTime | None
    inventory_updated_at: UtcTime | None


class WarehouseDetail(WarehouseOut):
    adapter: dict[str, Any]


# ------------------------------------------------------------------- connections, channels ----

ChannelType = Literal["sales_order", "shipment", "inventory"]


class ChannelOut(Schema):
    id: int
    type: str
    enabled_at: UtcTime | None
    connection_id: int
    rules: list[dict[str, Any]]
    full_sync_rules: list[dict[str, Any]]
    next_run_at: UtcTime | None
    last_completed_at: UtcTime | None


class ConnectionOut(Schema):
    id: int
    customer_id: int
    warehouse_id: int
    store_id: int
    name: str
    connection_type: str
    created_at: UtcTime
    enabled_at: UtcTime | None
    locations: list[str]
    inventory_reserve: int
    zero_out_threshold: int
    unmapped_shipping_method: str
    imports_orders: bool
    counts_toward_store_stock: bool


class ConnectionDetail(ConnectionOut):
    channels: list[ChannelOut]


class ConnectionIn(In):
    """Existing objects by id, or new ones nested (reference §13.6); all or nothing."""

    name: Text(200) = ""
    customer_id: Id | None = None
    customer: CustomerIn | None = None
    store_id: Id | None = None
    store: NestedStoreIn | None = None
    warehouse_id: Id | None = None
    warehouse: NestedWarehouseIn | None = None
    locations: Annotated[list[Location], Field(max_length=100)] = Field(default_factory=list)


class ConnectionPatch(In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200,
                                           pattern=NOT_BLANK)] = None
    enabled_at: DateString | None = None
    locations: Annotated[list[Location], Field(max_length=100)] = None
    # DropStream's own options (not in the reference API): see docs/inventory.md.
    inventory_reserve: Quantity = None
    zero_out_threshold: Quantity = None
    unmapped_shipping_method: Literal["pass", "error"] = None
    # A store with several warehouses (issue 16): at most one connection of a store imports its
    # orders (a second is refused with 422 naming the one that does).
    imports_orders: StrictBool = None
    counts_toward_store_stock: StrictBool = None


RuleValue = AdapterValue | Annotated[list[AdapterValue], Field(max_length=20)]
Rule = Annotated[dict[Annotated[str, StringConstraints(max_length=50, pattern=NO_NUL)], RuleValue],
                 Field(max_length=20)]


class ChannelPatch(In):
    enabled_at: DateString | None = None
    rules: Annotated[list[Rule], Field(max_length=50)] = None
    full_sync_rules: Annotated[list[Rule], Field(max_length=50)] = None


class ChannelPatched(Schema):
    warnings: list[str]


class RunIn(In):
    mode: Literal["default", "full"] = "default"


class RunOut(Schema):
    id: int
    channel_id: int
    connection_id: int
    type: str
    mode: str
    trigger: str
    state: Literal["queued", "running", "succeeded", "failed"]
    counts: dict[str, Any]
    requests_used: int
    error: str
    queued_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None


# ----------------------------------------------------------------------- orders, shipments ----

class AddressOut(Schema):
    name: str
    company: str
    street1: str
    street2: str
    city: str
    state: str
    zipcode: str
    country: str
    phone: str
    email: str


class OrderOut(Schema):
    id: int
    store_id: int
    connection_id: int
    customer_id: int
    external_id: str
    external_display_id: str
    ordered_at: UtcTime | None
    created_at: UtcTime
    updated_at: UtcTime
    customer_email: str
    external_shipping_description: str
    shipping_carrier_name: str
    shipping_carrier_service_level: str
    shipping_warehouse_code: str
    shipping_amount: str
    tax_amount: str
    discount_amount: str
    total_amount: str
    currency_code: str
    notes: str
    gift_message: str
    fulfillment_state: str
    fulfillment_warehouse_id: int
    external_warehouse_order_id: str
    error_message: str
    shipping_address: AddressOut
    billing_address: AddressOut


class OrderItemOut(Schema):
    id: int
    external_order_item_id: str
    sku: str
    warehouse_sku: str
    name: str
    qty_ordered: int
    qty_fulfilled: int
    unit_price: str
    canceled: bool
    line_number: int | None
    parent_id: int | None
    shipment_id: int | None


class ActivityOut(Schema):
    at: UtcTime
    actor: str
    event: str
    message: str


class ShipmentItemRef(Schema):
    id: int


class ShipmentLineOut(Schema):
    order_item_id: int | None
    sku: str
    qty: int
    line_number: int | None


class ShipmentOut(Schema):
    id: int
    order_id: int | None
    connection_id: int
    store_id: int
    customer_id: int
    warehouse_id: int
    external_warehouse_order_id: str
    tracking_number: str
    carrier_name: str
    service_level: str
    shipped_at: UtcTime | None
    weight: str | None
    external_shipment_id: str
    state: str
    error_message: str
    created_at: UtcTime
    posted_at: UtcTime | None
    order_items: list[ShipmentItemRef]
    lines: list[ShipmentLineOut]


class OrderDetail(OrderOut):
    items: list[OrderItemOut]
    shipments: list[ShipmentOut]
    activity: list[ActivityOut]


class OrderEnvelope(Schema):
    order: OrderDetail


class Page(Schema):
    page: int
    limit: int
    total_count: int
    total_pages: int


class OrderPage(Page):
    orders: list[OrderOut]


class ShipmentPage(Page):
    shipments: list[ShipmentOut]


class OrderActionIn(In):
    force: bool = False


class OrderActionOut(Schema):
    id: int
    fulfillment_state: str


class ShipmentActionOut(Schema):
    id: int
    state: str
    order_id: int | None
    error_message: str


# ------------------------------------------------------------------------------- products ----

class BundleItem(In):
    product_id: Id
    qty: Annotated[int, Field(ge=1, le=1_000_000)] = 1


class ListingIn(In):
    store_id: Id
    store_sku: Annotated[str, StringConstraints(min_length=1, max_length=100,
                                                pattern=NOT_BLANK)]


Sku = Annotated[str, StringConstraints(min_length=1, max_length=100,
                                       pattern=NOT_BLANK)]


class ProductIn(In):
    customer_id: Id
    sku: Sku
    name: Text(300) = ""
    variant_of: Text(200) | None = None
    bundle: Annotated[list[BundleItem], Field(max_length=100)] = Field(default_factory=list)
    listings: Annotated[list[ListingIn], Field(max_length=100)] = Field(default_factory=list)


class ProductPatch(In):
    sku: Sku = None
    name: Text(300) = None
    variant_of: Text(200) | None = None
    bundle: Annotated[list[BundleItem], Field(max_length=100)] = None
    listings: Annotated[list[ListingIn], Field(max_length=100)] = None


class BundleOut(Schema):
    product_id: int
    qty: int


class ListingOut(Schema):
    id: int
    store_id: int
    store_sku: str


class ProductOut(Schema):
    id: int
    customer_id: int
    sku: str
    name: str
    variant_of: str | None
    created_at: UtcTime
    bundle: list[BundleOut]
    listings: list[ListingOut]


class ProductPage(Page):
    products: list[ProductOut]


# ---------------------------------------------------------------------------------- usage ----

class GuardOut(Schema):
    mode: str
    max_delay_minutes: int
    stretch_factor: float | None = Field(description="null when even no polling would fit")
    stopped: bool
    defaults_unconfirmed: bool
    month_start: UtcTime
    month_end: UtcTime


class StoreUsageOut(Schema):
    store_id: int
    customer_id: int
    name: str
    requests_today: int
    requests_month: int
    by_channel: dict[str, int]
    by_endpoint: dict[str, int]
    projection: int
    projected_overage_cost: str
    allowance: int
    overage_price: str
    guard: GuardOut


class UsageOut(Schema):
    stores: list[StoreUsageOut]


# ---------------------------------------------------------------------------------- rules ----
# Field checks are the rules domain's (rules/validation.py, 422 with its field → message map);
# these types only keep out what a database column cannot hold (NUL, over-long text, ids past
# 64 bits) so that no bad value reaches it as a 500.

RuleText = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]
RuleArgumentValue = (RuleText | bool | Annotated[int, Field(ge=-(2**53), le=2**53)]
                     | Annotated[float, Field(allow_inf_nan=False)] | None)
RuleArguments = Annotated[
    dict[Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)], RuleArgumentValue],
    Field(max_length=20, description="The action's arguments (docs/rules.md): set {field, "
                                     "value | expression}, hold {until | for_minutes | "
                                     "until_released}, route {connection_id}, split "
                                     "{split_by | connection_by_line}, fail {message}"),
]


class RuleFields(In):
    name: Text(200) = None
    scope: Text(16) = Field(None, description="order or line")
    condition: Text(10_000) = Field(None, description="a CEL expression over order (and line)")
    action: Text(16) = Field(None, description="accept, reject, set, hold, route, split, fail")
    arguments: RuleArguments = None


class RuleIn(RuleFields):
    name: Text(200)
    action: Text(16)
    hook: Text(32) = Field("order_import", description="order_import or shipment_notification")
    scope: Text(16) = "order"
    condition: Text(10_000) = "true"
    arguments: RuleArguments = Field(default_factory=dict)
    position: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        None, description="1-based place in the hook's list; default last")


class RulePatch(RuleFields):
    """Only the properties given change; hook and position stay (use move)."""


class RuleMoveIn(In):
    position: Annotated[int, Field(ge=1, le=1_000_000)]


class RuleOut(Schema):
    id: int
    store_id: int
    hook: str
    name: str
    position: int
    active: bool
    scope: str
    condition: str
    action: str
    arguments: dict[str, Any]
    created_at: UtcTime
    updated_at: UtcTime


class RuleDetail(RuleOut):
    problems: dict[str, str] = Field(description="what would refuse activation (the compiler's "
                                                 "message with line and column); empty when "
                                                 "the rule may be activated")


class RulePage(Page):
    rules: list[RuleOut]


class RuleTestIn(In):
    hook: Text(32) = "order_import"
    order_id: Id | None = Field(None, description="one of the store's orders")
    order: dict[str, Any] | None = Field(None, description="pasted order JSON, in the shape of "
                                                           "GET /api/orders/{id}")
    include_inactive: bool = Field(False, description="evaluate drafts too, in their places")
    now: DateString | None = Field(None, description="the clock the rules see; default now")


class TraceRowOut(Schema):
    rule_id: int | None
    rule_name: str
    position: int
    action: str
    line_index: int | None
    matched: bool | None
    error: str
    decision: str | None


class LineFieldsOut(Schema):
    line_index: int
    line_id: int | None
    fields: dict[str, str]


class LineConnectionOut(Schema):
    line_index: int
    line_id: int | None
    connection_id: int


class HoldOut(Schema):
    until: str | None
    description: str


class SplitGroupOut(Schema):
    key: str | int | bool
    line_indexes: list[int]
    connection_id: int | None


class SplitOut(Schema):
    by: str
    groups: list[SplitGroupOut]


class RuleTestOut(Schema):
    hook: str
    outcome: str = Field(description="accepted, rejected, failed or error")
    message: str
    error_rule_id: int | None
    trace: list[TraceRowOut]
    activity: list[str]
    order_fields: dict[str, str]
    line_fields: list[LineFieldsOut]
    rejected_lines: list[int]
    connection_id: int | None
    line_connections: list[LineConnectionOut]
    hold: HoldOut | None
    split: SplitOut | None

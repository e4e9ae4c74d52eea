"""The GraphQL schema the simulator executes with graphql-core: the subset of ShipHero's public
schema the hub uses (spec §3–§11), with names and nullability as the spec gives them
(schema-2022 plus later vendor additions such as ``Order.updated_at``).

Root fields return wrappers ``{request_id, complexity, data}`` (queries) or
``{request_id, complexity, <entity>}`` (mutations), §1. Lists are Relay connections whose
paging arguments sit on the wrapper's ``data`` field (§7). ``ISODateTime`` is an ISO 8601 string;
an invalid one fails GraphQL input coercion. Money values are strings (§4.2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graphql import GraphQLSchema, build_schema

from dropstream.sandbox.shiphero.clock import fmt_time, parse_time

_PAGING = "sort: String, before: String, after: String, first: Int, last: Int"
_DATES = ("created_from: ISODateTime, created_to: ISODateTime, updated_from: ISODateTime, "
          "updated_to: ISODateTime")

SDL = """
scalar ISODateTime

enum EntityType {
  Account Warehouse Product WarehouseProduct Order LineItem Shipment ShipmentLineItem
  ShippingLabel Webhook
}

type Query {
  account(analyze: Boolean): AccountQueryResult
  user_quota: UserQuota
  uuid(legacy_id: Int!, entity: EntityType!): LegacyIdQueryResult
  order(id: String!, customer_account_id: String, analyze: Boolean): OrderQueryResult
  orders(shop_name: String, partner_order_id: String, order_number: String,
         warehouse_id: String, allocated_warehouse_id: String, fulfillment_status: String,
         sku: String, email: String, updated_from: ISODateTime, updated_to: ISODateTime,
         order_date_from: ISODateTime, order_date_to: ISODateTime,
         customer_account_id: String, analyze: Boolean): OrdersQueryResult
  shipment(id: String!, customer_account_id: String, analyze: Boolean): ShipmentQueryResult
  shipments(order_id: String, date_from: ISODateTime, date_to: ISODateTime,
            order_date_from: ISODateTime, order_date_to: ISODateTime,
            customer_account_id: String, analyze: Boolean): ShipmentsQueryResult
  warehouse_products(warehouse_id: String, active: Boolean, sku: String,
                     customer_account_id: String, @DATES@,
                     analyze: Boolean): WarehouseProductsQueryResult
  products(sku: String, customer_account_id: String, @DATES@,
           analyze: Boolean): ProductsQueryResult
  product(id: String, sku: String, customer_account_id: String,
          analyze: Boolean): ProductQueryResult
  webhooks(customer_account_id: String, analyze: Boolean): WebhooksQueryResult
}

type Mutation {
  order_create(data: CreateOrderInput!): OrderMutationOutput
  order_cancel(data: CancelOrderInput!): OrderMutationOutput
  order_update_holds(data: UpdateOrderHoldsInput!): OrderMutationOutput
  webhook_create(data: CreateWebhookInput!): CreateWebhookOutput
  webhook_delete(data: DeleteWebhookInput!): MutationOutput
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type UserQuota {
  credits_remaining: Int
  max_available: Int
  increment_rate: Int
}

type LegacyId { id: String legacy_id: Int }
type LegacyIdQueryResult { request_id: String complexity: Int data: LegacyId }

type AccountQueryResult { request_id: String complexity: Int data: Account }
type OrderQueryResult { request_id: String complexity: Int data: Order }
type ShipmentQueryResult { request_id: String complexity: Int data: Shipment }
type ProductQueryResult { request_id: String complexity: Int data: Product }
type OrdersQueryResult {
  request_id: String complexity: Int data(@PAGING@): OrderConnection
}
type ShipmentsQueryResult {
  request_id: String complexity: Int data(@PAGING@): ShipmentConnection
}
type WarehouseProductsQueryResult {
  request_id: String complexity: Int data(@PAGING@): WarehouseProductConnection
}
type ProductsQueryResult {
  request_id: String complexity: Int data(@PAGING@): ProductConnection
}
type WebhooksQueryResult {
  request_id: String complexity: Int data(@PAGING@): WebhookConnection
}

type OrderMutationOutput { request_id: String complexity: Int order: Order }
type CreateWebhookOutput { request_id: String complexity: Int webhook: Webhook }
type MutationOutput { request_id: String complexity: Int }

type Account {
  id: String
  legacy_id: Int
  email: String
  username: String
  status: String
  is_3pl: Boolean
  customers(@PAGING@): AccountConnection
  warehouses: [Warehouse]
}
type AccountConnection { pageInfo: PageInfo! edges: [AccountEdge]! }
type AccountEdge { node: Account cursor: String! }

type Address {
  name: String address1: String address2: String city: String state: String
  country: String zip: String phone: String
}

type Warehouse {
  id: String
  legacy_id: Int
  account_id: String
  identifier: String
  profile: String
  address: Address
}

type OrderAddress {
  first_name: String last_name: String company: String address1: String address2: String
  city: String state: String state_code: String zip: String country: String
  country_code: String email: String phone: String
}

type ShippingLines { title: String carrier: String method: String price: String }

type OrderHolds {
  payment_hold: Boolean operator_hold: Boolean fraud_hold: Boolean address_hold: Boolean
  shipping_method_hold: Boolean client_hold: Boolean
}

type OrderHistory { created_at: ISODateTime information: String user_id: String }

type OrderLineItemAllocation {
  line_item_id: String sku: String quantity_allocated: Int warehouse_id: String
}
type OrderWarehouseAllocation {
  warehouse_id: String allocated_at: ISODateTime line_items: [OrderLineItemAllocation]
}

type Order {
  id: String
  legacy_id: Int
  account_id: String
  order_number: String
  partner_order_id: String
  shop_name: String
  fulfillment_status: String
  order_date: ISODateTime
  updated_at: ISODateTime
  required_ship_date: ISODateTime
  hold_until_date: ISODateTime
  email: String
  currency: String
  total_tax: String
  total_discounts: String
  subtotal: String
  total_price: String
  packing_note: String
  gift_note: String
  tags: [String]
  allow_partial: Boolean
  allow_split: Boolean
  shipping_lines: ShippingLines
  shipping_address: OrderAddress
  billing_address: OrderAddress
  holds: OrderHolds
  line_items(@PAGING@): LineItemConnection
  shipments: [Shipment]
  allocations: [OrderWarehouseAllocation]
  order_history: [OrderHistory]
}
type OrderConnection { pageInfo: PageInfo! edges: [OrderEdge]! }
type OrderEdge { node: Order cursor: String! }

type LineItem {
  id: String
  legacy_id: Int
  sku: String
  partner_line_item_id: String
  product_id: String
  quantity: Int
  price: String
  product_name: String
  option_title: String
  barcode: String
  fulfillment_status: String
  quantity_allocated: Int
  quantity_pending_fulfillment: Int
  quantity_shipped: Int
  backorder_quantity: Int
  warehouse_id: String
  created_at: ISODateTime
  updated_at: ISODateTime
}
type LineItemConnection { pageInfo: PageInfo! edges: [LineItemEdge]! }
type LineItemEdge { node: LineItem cursor: String! }

type Dimensions { weight: String length: String width: String height: String }

type ShippingLabel {
  id: String
  legacy_id: Int
  account_id: String
  shipment_id: String
  order_id: String
  box_id: String
  status: String
  tracking_number: String
  order_number: String
  carrier: String
  shipping_name: String
  shipping_method: String
  cost: String
  box_code: String
  delivered: Boolean
  picked_up: Boolean
  refunded: Boolean
  needs_refund: Boolean
  profile: String
  partner_fulfillment_id: String
  warehouse: String
  warehouse_id: String
  insurance_amount: String
  carrier_account_id: String
  source: String
  created_date: ISODateTime
  dimensions: Dimensions
  address: Address
}

type ShipmentLineItem {
  id: String
  legacy_id: Int
  line_item_id: String
  shipment_id: String
  shipping_label_id: String
  quantity: Int
  line_item: LineItem
}
type ShipmentLineItemConnection { pageInfo: PageInfo! edges: [ShipmentLineItemEdge]! }
type ShipmentLineItemEdge { node: ShipmentLineItem cursor: String! }

type Shipment {
  id: String
  legacy_id: Int
  order_id: String
  user_id: String
  warehouse_id: String
  pending_shipment_id: String
  address: Address
  profile: String
  picked_up: Boolean
  needs_refund: Boolean
  refunded: Boolean
  delivered: Boolean
  dropshipment: Boolean
  shipped_off_shiphero: Boolean
  completed: Boolean
  created_date: ISODateTime
  shipping_labels: [ShippingLabel]
  warehouse: Warehouse
  order: Order
  line_items(@PAGING@): ShipmentLineItemConnection
}
type ShipmentConnection { pageInfo: PageInfo! edges: [ShipmentEdge]! }
type ShipmentEdge { node: Shipment cursor: String! }

type WarehouseProduct {
  id: String
  legacy_id: Int
  account_id: String
  sku: String
  warehouse_id: String
  warehouse_identifier: String
  on_hand: Int
  allocated: Int
  available: Int
  backorder: Int
  reserve_inventory: Int
  non_sellable_quantity: Int
  sell_ahead: Int
  inventory_bin: String
  active: Boolean
  created_at: ISODateTime
  updated_at: ISODateTime
  product: Product
}
type WarehouseProductConnection { pageInfo: PageInfo! edges: [WarehouseProductEdge]! }
type WarehouseProductEdge { node: WarehouseProduct cursor: String! }

type Product {
  id: String
  legacy_id: Int
  account_id: String
  name: String
  sku: String
  price: String
  barcode: String
  active: Boolean
  created_at: ISODateTime
  updated_at: ISODateTime
  warehouse_products: [WarehouseProduct]
}
type ProductConnection { pageInfo: PageInfo! edges: [ProductEdge]! }
type ProductEdge { node: Product cursor: String! }

type Webhook {
  id: String
  legacy_id: Int
  account_id: String
  shop_name: String
  name: String
  url: String
  source: String
  shared_signature_secret: String
  health: String
}
type WebhookConnection { pageInfo: PageInfo! edges: [WebhookEdge]! }
type WebhookEdge { node: Webhook cursor: String! }

input CreateOrderAddressInput {
  first_name: String last_name: String company: String address1: String address2: String
  city: String state: String state_code: String zip: String country: String
  country_code: String email: String phone: String
}

input CreateShippingLinesInput {
  title: String!
  price: String!
  carrier: String
  method: String
}

input HoldsInput {
  payment_hold: Boolean operator_hold: Boolean fraud_hold: Boolean address_hold: Boolean
  client_hold: Boolean
}

input CreateLineItemInput {
  sku: String!
  partner_line_item_id: String!
  quantity: Int!
  price: String!
  product_name: String
  option_title: String
  fulfillment_status: String
  quantity_pending_fulfillment: Int
  custom_options: String
  custom_barcode: String
  eligible_for_return: Boolean
  customs_value: String
  barcode: String
  warehouse_id: String
}

input OrderNoteAttributeInput { name: String value: String }

input CreateOrderInput {
  customer_account_id: String
  order_number: String
  partner_order_id: String
  shop_name: String
  fulfillment_status: String
  order_date: ISODateTime
  total_tax: String
  subtotal: String
  total_discounts: String
  total_price: String
  currency: String
  email: String
  profile: String
  packing_note: String
  gift_note: String
  gift_invoice: Boolean
  required_ship_date: ISODateTime
  hold_until_date: ISODateTime
  shipping_lines: CreateShippingLinesInput
  shipping_address: CreateOrderAddressInput!
  billing_address: CreateOrderAddressInput
  holds: HoldsInput
  tags: [String]
  line_items: [CreateLineItemInput]
  allow_partial: Boolean
  allow_split: Boolean
  require_signature: Boolean
  adult_signature_required: Boolean
  insurance: Boolean
  insurance_amount: String
  saturday_delivery: Boolean
  alcohol: Boolean
  dry_ice_weight_in_lbs: String
  ignore_address_validation_errors: Boolean
  skip_address_validation: Boolean
  priority_flag: Boolean
  allocation_priority: Int
  flagged: Boolean
  incoterms: String
  tax_id: String
  tax_type: String
  ftr_exemption: String
  address_is_business: Boolean
  tote_qa: Boolean
  do_not_print_invoice: Boolean
  ignore_payment_capture_errors: Boolean
  partner_source_name: String
  ready_to_ship: Boolean
  note_attributes: [OrderNoteAttributeInput]
}

input CancelOrderInput {
  customer_account_id: String
  order_id: String!
  reason: String
  void_on_platform: Boolean
  force: Boolean
}

input UpdateOrderHoldsInput {
  customer_account_id: String
  order_id: String!
  payment_hold: Boolean
  operator_hold: Boolean
  fraud_hold: Boolean
  address_hold: Boolean
  client_hold: Boolean
}

input CreateWebhookInput {
  customer_account_id: String
  name: String!
  url: String!
  shop_name: String
}

input DeleteWebhookInput {
  customer_account_id: String
  name: String!
  shop_name: String
}
""".replace("@PAGING@", _PAGING).replace("@DATES@", _DATES)


def _serialize_time(value: Any) -> Any:
    return fmt_time(value) if isinstance(value, datetime) else value


def _parse_time_input(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("ISODateTime must be an ISO 8601 string")
    return parse_time(value)


def build() -> GraphQLSchema:
    """A fresh schema object (resolvers are attached by ``resolvers.attach``)."""
    schema = build_schema(SDL)
    scalar = schema.type_map["ISODateTime"]
    # graphql-core 3.3 names these coerce_*; 3.2 serialize/parse_value. Set both.
    for name in ("serialize", "coerce_output_value"):
        setattr(scalar, name, _serialize_time)
    for name in ("parse_value", "coerce_input_value"):
        setattr(scalar, name, _parse_time_input)
    return schema

"""The GraphQL documents the adapter sends (spec §4–§10), each a single root field so its cost
is known per operation. Page sizes are kept small: ShipHero charges by what is requested
(§8), and an idle reconciliation tick should cost little."""

from __future__ import annotations

SHIPMENTS_PAGE = 20
LINES_PAGE = 20
STOCK_PAGE = 100

ACCOUNT = """
query Account { account { request_id complexity data { id legacy_id is_3pl } } }
"""

CREATE_ORDER = """
mutation CreateOrder($data: CreateOrderInput!) {
  order_create(data: $data) {
    request_id complexity
    order { id legacy_id order_number partner_order_id fulfillment_status }
  }
}
"""

FIND_ORDER = """
query FindOrder($pid: String, $cid: String) {
  orders(partner_order_id: $pid, customer_account_id: $cid) {
    request_id complexity
    data(first: 2) { edges { node {
      id legacy_id order_number partner_order_id fulfillment_status
    } } }
  }
}
"""

ORDER_STATE = """
query OrderState($id: String!, $cid: String) {
  order(id: $id, customer_account_id: $cid) {
    request_id complexity
    data { id order_number fulfillment_status shipments { id } }
  }
}
"""

CANCEL_ORDER = """
mutation CancelOrder($data: CancelOrderInput!) {
  order_cancel(data: $data) { request_id complexity order { id fulfillment_status } }
}
"""

SHIPMENTS_SINCE = f"""
query ShipmentsSince($from: ISODateTime, $after: String, $cid: String) {{
  shipments(date_from: $from, customer_account_id: $cid) {{
    request_id complexity
    data(first: {SHIPMENTS_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{
        id legacy_id created_date
        order {{ order_number partner_order_id shop_name }}
        line_items(first: {LINES_PAGE}) {{ edges {{ node {{
          quantity shipping_label_id line_item {{ sku partner_line_item_id }}
        }} }} }}
        shipping_labels {{
          id legacy_id tracking_number carrier shipping_method cost created_date
          refunded needs_refund
        }}
      }} }}
    }}
  }}
}}
"""

CANCELED_SINCE = """
query CanceledSince($from: ISODateTime, $shop: String, $after: String, $cid: String) {
  orders(fulfillment_status: "canceled", updated_from: $from, shop_name: $shop,
         customer_account_id: $cid) {
    request_id complexity
    data(first: 50, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { order_number updated_at } }
    }
  }
}
"""

STOCK = f"""
query Stock($wid: String, $after: String, $cid: String) {{
  warehouse_products(warehouse_id: $wid, customer_account_id: $cid) {{
    request_id complexity
    data(first: {STOCK_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{ sku warehouse_id on_hand available }} }}
    }}
  }}
}}
"""

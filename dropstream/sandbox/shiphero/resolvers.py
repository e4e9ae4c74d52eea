"""Resolvers: what each root query and mutation of the schema does (spec §3–§11), plus the
few fields that are computed rather than read from the records (connections, allocations,
addresses).

Every root field answers ``{request_id, complexity, data}`` (or ``<entity>`` for mutations,
§1); ``complexity`` is the cost computed for that field before it ran (``credits.py``); with
``analyze: true`` (§8) ``data`` is null. Filters (§5.1, §5.2, §10.1) include their date bounds
unless ``settings.date_bounds_inclusive`` is false; ``fulfillment_status`` compares
case-insensitively and treats ``canceled``/``cancelled`` alike (§5.1).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from dropstream.sandbox.shiphero import orders as order_rules
from dropstream.sandbox.shiphero import relay
from dropstream.sandbox.shiphero.credits import CreditBucket, RootCost
from dropstream.sandbox.shiphero.errors import CODE_INVALID, CODE_NOT_FOUND, ApiError
from dropstream.sandbox.shiphero.ids import ENTITY_TYPES, legacy_from, relay_id
from dropstream.sandbox.shiphero.model import Account, Order, Shipment, Webhook
from dropstream.sandbox.shiphero.net import loopback_url_problem
from dropstream.sandbox.shiphero.state import WEBHOOK_TYPES, SimState

Resolver = Callable[..., Any]


@dataclass
class RequestContext:
    """What the resolvers of one request share."""

    state: SimState
    account: Account
    bucket: CreditBucket
    request_id: str
    costs: dict[str, RootCost] = field(default_factory=dict)
    # Called once, when the first root field starts: execution really begins (the variables
    # were valid), so this is where the credits are taken (or the request throttled).
    on_start: Callable[[], None] = lambda: None
    started: bool = False
    refusal: Exception | None = None

    def enter(self) -> None:
        """Run ``on_start`` once; if it refused the request, refuse every root field."""
        if self.refusal is not None:
            raise self.refusal
        if not self.started:
            self.started = True
            try:
                self.on_start()
            except Exception as exc:
                self.refusal = exc
                raise

    @property
    def settings(self) -> Any:
        return self.state.settings


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context  # type: ignore[no-any-return]


def _wrap(info: GraphQLResolveInfo, data: Any, entity: str = "data") -> dict[str, Any]:
    ctx = _ctx(info)
    cost = ctx.costs.get(str(info.path.key))
    return {"request_id": ctx.request_id, "complexity": cost.cost if cost else 0, entity: data}


def _analyzing(info: GraphQLResolveInfo, args: dict[str, Any]) -> bool:
    return bool(args.get("analyze"))


def _scope(info: GraphQLResolveInfo, customer_account_id: str | None) -> Account:
    ctx = _ctx(info)
    return ctx.state.scope(ctx.account, customer_account_id)


# -------------------------------------------------------------------- filters


def _within(value: datetime | None, low: datetime | None, high: datetime | None,
            inclusive: bool) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    if low is not None and (value < low or (not inclusive and value == low)):
        return False
    return not (high is not None and (value > high or (not inclusive and value == high)))


def _status_key(status: str) -> str:
    lowered = status.strip().lower()
    return "canceled" if lowered == "cancelled" else lowered


def _order_matches(order: Order, args: dict[str, Any], inclusive: bool) -> bool:
    for name in ("shop_name", "partner_order_id", "order_number", "email"):
        if args.get(name) is not None and getattr(order, name) != args[name]:
            return False
    status = args.get("fulfillment_status")
    if status is not None and _status_key(order.fulfillment_status) != _status_key(status):
        return False
    if args.get("sku") is not None and all(line.sku != args["sku"] for line in order.line_items):
        return False
    for name in ("warehouse_id", "allocated_warehouse_id"):
        if args.get(name) is not None:
            wanted = legacy_from(args[name], "Warehouse")
            if all(not line.warehouse or line.warehouse.legacy_id != wanted
                   for line in order.line_items):
                return False
    return (_within(order.updated_at, args.get("updated_from"), args.get("updated_to"),
                    inclusive)
            and _within(order.order_date, args.get("order_date_from"),
                        args.get("order_date_to"), inclusive))


# -------------------------------------------------------------------- root queries


def resolve_account(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return _wrap(info, None if _analyzing(info, args) else _ctx(info).account)


def resolve_user_quota(_root: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    ctx = _ctx(info)
    level = ctx.bucket.level(ctx.state.clock.timestamp())
    return {"credits_remaining": int(level), "max_available": ctx.settings.credits_max,
            "increment_rate": int(ctx.settings.credits_restore_per_second)}


def resolve_uuid(_root: Any, info: GraphQLResolveInfo, legacy_id: int,
                 entity: str) -> dict[str, Any]:
    if entity not in ENTITY_TYPES:  # pragma: no cover - the enum already rejects it
        raise ApiError(f"Unknown entity {entity!r}")
    return _wrap(info, {"id": relay_id(entity, legacy_id), "legacy_id": legacy_id})


def resolve_order(_root: Any, info: GraphQLResolveInfo, id: str, **args: Any) -> dict[str, Any]:
    scope = _scope(info, args.get("customer_account_id"))
    if _analyzing(info, args):
        return _wrap(info, None)
    return _wrap(info, order_rules.find_order(_ctx(info).state, scope, id))


def resolve_orders(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    scope = _scope(info, args.get("customer_account_id"))
    if _analyzing(info, args):
        return _wrap(info, None)
    inclusive = _ctx(info).settings.date_bounds_inclusive
    return _wrap(info, [o for o in scope.orders if _order_matches(o, args, inclusive)])


def _find_shipment(state: SimState, scope: Account, ref: str) -> Shipment:
    number = legacy_from(ref, "Shipment")
    for shipment in state.shipments(scope):
        if shipment.legacy_id == number:
            return shipment
    raise ApiError(f"Shipment {ref!r} not found", CODE_NOT_FOUND)


def resolve_shipment(_root: Any, info: GraphQLResolveInfo, id: str,
                     **args: Any) -> dict[str, Any]:
    scope = _scope(info, args.get("customer_account_id"))
    if _analyzing(info, args):
        return _wrap(info, None)
    return _wrap(info, _find_shipment(_ctx(info).state, scope, id))


def resolve_shipments(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    scope = _scope(info, args.get("customer_account_id"))
    if _analyzing(info, args):
        return _wrap(info, None)
    inclusive = ctx.settings.date_bounds_inclusive
    order_number = legacy_from(args["order_id"], "Order") if args.get("order_id") else None
    if args.get("order_id") and order_number is None:
        raise ApiError(f"Invalid order_id {args['order_id']!r}", CODE_INVALID)
    found = [s for s in ctx.state.shipments(scope)
             if (order_number is None or s.order.legacy_id == order_number)
             and _within(s.created_date, args.get("date_from"), args.get("date_to"), inclusive)
             and _within(s.order.order_date, args.get("order_date_from"),
                         args.get("order_date_to"), inclusive)]
    found.sort(key=lambda s: (s.created_date, s.legacy_id))
    return _wrap(info, found)


def _dated(record: Any, args: dict[str, Any], inclusive: bool) -> bool:
    return (_within(record.created_at, args.get("created_from"), args.get("created_to"),
                    inclusive)
            and _within(record.updated_at, args.get("updated_from"), args.get("updated_to"),
                        inclusive))


def resolve_warehouse_products(_root: Any, info: GraphQLResolveInfo,
                               **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    scope = _scope(info, args.get("customer_account_id"))
    if _analyzing(info, args):
        return _wrap(info, None)
    wanted = None
    if args.get("warehouse_id") is not None:
        wanted = legacy_from(args["warehouse_id"], "Warehouse")
        if wanted is None:
            raise ApiError(f"Invalid warehouse_id {args['warehouse_id']!r}", CODE_INVALID)
    inclusive = ctx.settings.date_bounds_inclusive
    rows = [row for product in scope.products.values() for row in product.warehouse_products
            if (wanted is None or row.warehouse.legacy_id == wanted)
            and (args.get("sku") is None or row.sku == args["sku"])
            and (args.get("active") is None or row.active == args["active"])
            and _dated(row, args, inclusive)]
    return _wrap(info, rows)


def resolve_products(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    scope = _scope(info, args.get("customer_account_id"))
    if _analyzing(info, args):
        return _wrap(info, None)
    inclusive = _ctx(info).settings.date_bounds_inclusive
    found = [p for p in scope.products.values()
             if (args.get("sku") is None or p.sku == args["sku"]) and _dated(p, args, inclusive)]
    return _wrap(info, found)


def resolve_product(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    scope = _scope(info, args.get("customer_account_id"))
    if args.get("id") is None and args.get("sku") is None:
        raise ApiError("Provide id or sku", CODE_INVALID)
    if _analyzing(info, args):
        return _wrap(info, None)
    number = legacy_from(args["id"], "Product") if args.get("id") is not None else None
    for product in scope.products.values():
        if (number is not None and product.legacy_id == number) or (
                args.get("sku") is not None and product.sku == args["sku"]):
            return _wrap(info, product)
    raise ApiError("Product not found", CODE_NOT_FOUND)


def resolve_webhooks(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    scope = _scope(info, args.get("customer_account_id"))
    return _wrap(info, None if _analyzing(info, args) else list(scope.webhooks))


# -------------------------------------------------------------------- mutations


def resolve_order_create(_root: Any, info: GraphQLResolveInfo,
                         data: dict[str, Any]) -> dict[str, Any]:
    ctx = _ctx(info)
    scope = _scope(info, data.get("customer_account_id"))
    return _wrap(info, order_rules.create_order(ctx.state, scope, data), "order")


def resolve_order_cancel(_root: Any, info: GraphQLResolveInfo,
                         data: dict[str, Any]) -> dict[str, Any]:
    ctx = _ctx(info)
    scope = _scope(info, data.get("customer_account_id"))
    order = order_rules.find_order(ctx.state, scope, data["order_id"])
    order_rules.cancel_order(ctx.state, order, reason=data.get("reason"),
                             force=bool(data.get("force")))
    return _wrap(info, order, "order")


def resolve_order_update_holds(_root: Any, info: GraphQLResolveInfo,
                               data: dict[str, Any]) -> dict[str, Any]:
    ctx = _ctx(info)
    scope = _scope(info, data.get("customer_account_id"))
    order = order_rules.find_order(ctx.state, scope, data["order_id"])
    return _wrap(info, order_rules.update_holds(ctx.state, order, data), "order")


def create_webhook(state: SimState, scope: Account, name: str, url: str,
                   shop_name: str | None) -> Webhook:
    """Shared by the mutation and the Python/control registration. Raises ApiError."""
    if name not in WEBHOOK_TYPES:
        raise ApiError(f"Invalid webhook name {name!r}; use one of: {', '.join(WEBHOOK_TYPES)}")
    problem = loopback_url_problem(url)
    if problem:
        raise ApiError(f"Invalid url: {problem}")
    if any(h.name == name and h.shop_name == shop_name for h in scope.webhooks):
        raise ApiError(f"A {name!r} webhook already exists for this shop; delete it first")
    hook = Webhook(legacy_id=state.ids.legacy("Webhook"), account=scope, name=name, url=url,
                   shop_name=shop_name, shared_signature_secret=secrets.token_urlsafe(24),
                   created_at=state.clock.now())
    scope.webhooks.append(hook)
    return hook


def resolve_webhook_create(_root: Any, info: GraphQLResolveInfo,
                           data: dict[str, Any]) -> dict[str, Any]:
    ctx = _ctx(info)
    scope = _scope(info, data.get("customer_account_id"))
    hook = create_webhook(ctx.state, scope, data["name"], data["url"], data.get("shop_name"))
    return _wrap(info, hook, "webhook")


def resolve_webhook_delete(_root: Any, info: GraphQLResolveInfo,
                           data: dict[str, Any]) -> dict[str, Any]:
    scope = _scope(info, data.get("customer_account_id"))
    shop = data.get("shop_name")
    found = [h for h in scope.webhooks
             if h.name == data["name"] and (shop is None or h.shop_name == shop)]
    if not found:
        raise ApiError(f"Webhook {data['name']!r} not found", CODE_NOT_FOUND)
    for hook in found:
        scope.webhooks.remove(hook)
    answer = _wrap(info, None)
    del answer["data"]
    return answer


# -------------------------------------------------------------------- computed fields


def _paged(items_of: Callable[[Any], Iterable[Any]]) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any] | None:
        items = items_of(source)
        if items is None:
            return None
        return relay.connection(list(items), _ctx(info).settings, **args)
    return resolve


def _person_address(address: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
    return {"name": name, **{k: address.get(k) for k in (
        "address1", "address2", "city", "state", "country", "zip", "phone")}}


def _allocations(order: Order, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    groups: dict[int, dict[str, Any]] = {}
    for line in order.line_items:
        if line.warehouse is None or line.quantity_allocated <= 0:
            continue
        group = groups.setdefault(line.warehouse.legacy_id, {
            "warehouse_id": line.warehouse.id, "allocated_at": order.created_at,
            "line_items": []})
        group["line_items"].append({"line_item_id": line.id, "sku": line.sku,
                                    "quantity_allocated": line.quantity_allocated,
                                    "warehouse_id": line.warehouse.id})
    return list(groups.values())


ROOT_QUERIES: dict[str, Resolver] = {
    "account": resolve_account, "user_quota": resolve_user_quota, "uuid": resolve_uuid,
    "order": resolve_order, "orders": resolve_orders, "shipment": resolve_shipment,
    "shipments": resolve_shipments, "warehouse_products": resolve_warehouse_products,
    "products": resolve_products, "product": resolve_product, "webhooks": resolve_webhooks,
}
ROOT_MUTATIONS: dict[str, Resolver] = {
    "order_create": resolve_order_create, "order_cancel": resolve_order_cancel,
    "order_update_holds": resolve_order_update_holds,
    "webhook_create": resolve_webhook_create, "webhook_delete": resolve_webhook_delete,
}
FIELDS: dict[tuple[str, str], Resolver] = {
    ("Order", "line_items"): _paged(lambda order: order.line_items),
    ("Order", "allocations"): lambda order, info: _allocations(order, info),
    ("Shipment", "line_items"): _paged(lambda shipment: shipment.lines),
    ("Shipment", "address"): lambda s, info: _person_address(s.address),
    ("ShippingLabel", "address"): lambda label, info: _person_address(label.address),
    ("Account", "customers"): _paged(lambda account: account.customers),
    ("Account", "warehouses"): lambda account, info: list(account.all_warehouses()),
}
CONNECTION_WRAPPERS = ("OrdersQueryResult", "ShipmentsQueryResult",
                       "WarehouseProductsQueryResult", "ProductsQueryResult",
                       "WebhooksQueryResult")


def _gated(resolver: Resolver) -> Resolver:
    def run(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        _ctx(info).enter()
        return resolver(root, info, **args)
    return run


def attach(schema: GraphQLSchema) -> GraphQLSchema:
    """Install the resolvers on ``schema``'s fields; returns it."""
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    for name, resolver in ROOT_QUERIES.items():
        query.fields[name].resolve = _gated(resolver)
    for name, resolver in ROOT_MUTATIONS.items():
        mutation.fields[name].resolve = _gated(resolver)
    for (type_name, field_name), resolver in FIELDS.items():
        object_type = schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        object_type.fields[field_name].resolve = resolver
    for type_name in CONNECTION_WRAPPERS:
        object_type = schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        object_type.fields["data"].resolve = _paged(lambda wrapper: wrapper["data"])
    return schema

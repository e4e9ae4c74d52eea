"""The Extensiv API routes behind the bearer check (§4, §5, §6.1).

| Route | Role (§2.1; assumption where not stated) | Success |
|---|---|---|
| ``GET /orders`` | OrderView | 200 collection (§4, §5.5) |
| ``POST /orders`` | OrderWrite | 201 + ETag (§5.1, §5.2) |
| ``GET /orders/{id}`` | OrderView | 200 + ETag, ``detail``/``itemdetail`` (§5.3) |
| ``PUT /orders/{id}`` | OrderEdit | 200 + ETag, If-Match required (§5.8) |
| ``POST /orders/{id}/canceler`` | OrderWrite | 204, If-Match required (§5.6, §11 #15) |
| ``GET /orders/{id}/packages`` | OrderView | 200 collection (§5.1) |
| ``GET /inventory/stocksummaries`` | InventoryDetailView | 200 ``{totalResults, summaries}`` |

Anything else (``POST /orders/{id}/cancel`` included, §5.1) is 404 with an empty body. Paths
are case-insensitive, as ASP.NET routes are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from dropstream.sandbox.extensiv import rql
from dropstream.sandbox.extensiv.auth import Credential
from dropstream.sandbox.extensiv.model import Order, StockRow
from dropstream.sandbox.extensiv.render import (
    DETAILS,
    ITEM_DETAILS,
    ORDER_REL,
    PACKAGE_REL,
    OrderView,
    collection,
    parse_detail,
    stock_summary,
)
from dropstream.sandbox.extensiv.rql import Prop, Props, query_value
from dropstream.sandbox.extensiv.warehouse import Tenant
from dropstream.sandbox.extensiv.wire import (
    ApiError,
    etag_matches,
    is_json_content_type,
    model_validation_error,
    normalize_keys,
    to_frame,
)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    raw: bytes
    tenant: Tenant
    credential: Credential


@dataclass
class Reply:
    """A success: ``document`` is HAL/camelCase (None: no body); the server picks the form."""

    status: int
    document: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest, list[int]], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    role: str
    handler: Handler


def _route(method: str, pattern: str, role: str, handler: Handler) -> Route:
    template = f"{method} /" + pattern.replace(r"(\d+)", ":id")
    return Route(method, re.compile(f"^{pattern}$", re.IGNORECASE), template, role, handler)


def find_route(method: str, path: str) -> tuple[Route, list[int]] | None:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, [int(group) for group in found.groups()]
    return None


def template_for(method: str, path: str) -> str:
    """The meter/fault key: the route's template, or the path with ids as ``:id``."""
    found = find_route(method, path)
    if found:
        return found[0].template
    if path.lower() == "authserver/api/token":
        return f"{method} /AuthServer/api/Token"
    return f"{method} /" + "/".join(":id" if p.isdigit() else p for p in path.split("/"))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _json_body(request: ApiRequest) -> Any:
    """The request body with case-insensitive keys normalised (§3). 415 for non-JSON media
    (assumption), 400 ``Required`` when missing or not JSON."""
    if not is_json_content_type(request.headers.get("Content-Type")):
        raise ApiError(415)
    try:
        body = json.loads(request.raw) if request.raw.strip() else None
    except ValueError:
        body = None
    if body is None:
        raise model_validation_error("Body", None, "Required",
                                     "The request body is missing or is not valid JSON")
    return normalize_keys(body)


def _check_if_match(request: ApiRequest, order: Order) -> None:
    """§5.8: missing If-Match → 428, stale → 412 (both with empty bodies)."""
    header = request.headers.get("If-Match")
    if not header or not header.strip():
        raise ApiError(428)
    if not etag_matches(header, request.tenant.etag(order)):
        raise ApiError(412)


def _view(request: ApiRequest, detail: str | None, item_detail: str | None) -> OrderView:
    return OrderView(parse_detail(detail, DETAILS, "detail"),
                     parse_detail(item_detail, ITEM_DETAILS, "itemdetail"), request.tenant.zone)


def _with_etag(request: ApiRequest, order: Order) -> dict[str, str]:
    return {"ETag": request.tenant.etag(order)}


def _page_links(path: str, query: dict[str, list[str]], size: int, number: int,
                total: int, always_next: bool) -> dict[str, Any]:
    """§4 / §12 #9: ``next`` while more pages exist, ``prev`` after page 1."""
    def href(page: int) -> str:
        params = [(k, v[-1]) for k, v in query.items() if k.lower() not in ("pgnum", "pgsiz")]
        return f"{path}?" + urlencode([*params, ("pgsiz", str(size)), ("pgnum", str(page))])

    links: dict[str, Any] = {"self": {"href": href(number)}}
    if number * size < total or always_next:
        links["next"] = {"href": href(number + 1)}
    if number > 1:
        links["prev"] = {"href": href(number - 1)}
    return links


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def order_props(tenant: Tenant) -> Props:
    """§4 / §11 #9: the rql and sort properties of ``/orders`` (case-insensitive paths)."""
    def date(get: Callable[[Order], Any]) -> Prop:
        def read(order: Order) -> Any:
            moment = get(order)
            return to_frame(moment, tenant.zone(order.facility)) if moment else None
        return Prop("date", read)

    props: Props = {
        "readonly.orderid": Prop("int", lambda o: o.order_id),
        "readonly.status": Prop("int", lambda o: o.status),
        "readonly.isclosed": Prop("bool", lambda o: o.is_closed),
        "readonly.fullyallocated": Prop("bool", lambda o: o.fully_allocated),
        "readonly.lastmodifieddate": date(lambda o: o.modified),
        "readonly.creationdate": date(lambda o: o.created),
        "readonly.processdate": date(lambda o: o.process_date),
        "readonly.shipdate": date(lambda o: o.ship_date),
        "referencenum": Prop("str", lambda o: o.reference_num),
        "ponum": Prop("str", lambda o: _text(o.fields.get("poNum"))),
        "externalid": Prop("str", lambda o: _text(o.fields.get("externalId"))),
    }
    _identifier_props(props, tenant.settings.rql_customer_paths, {
        "customeridentifier.id": Prop("int", lambda o: o.customer.id),
        "customeridentifier.name": Prop("str", lambda o: o.customer.name),
        "facilityidentifier.id": Prop("int", lambda o: o.facility.id),
        "facilityidentifier.name": Prop("str", lambda o: o.facility.name),
    })
    return props


def summary_props(tenant: Tenant) -> Props:
    """§6.1: stock summary rows filter by facility, item and (inferred) customer."""
    props: Props = {
        "facilityid": Prop("int", lambda r: r.facility_id),
        "itemidentifier.id": Prop("int", lambda r: r.item.item_id),
        "itemidentifier.sku": Prop("str", lambda r: r.item.sku),
        "qualifier": Prop("str", lambda r: ""),
        "available": Prop("float", lambda r: r.available),
        "allocated": Prop("float", lambda r: r.allocated),
        "onhand": Prop("float", lambda r: r.on_hand),
        "onhold": Prop("float", lambda r: r.on_hold),
        "totalreceived": Prop("float", lambda r: r.total_received),
    }
    _identifier_props(props, tenant.settings.rql_customer_paths,
                      {"customeridentifier.id": Prop("int", lambda r: r.customer_id)})
    return props


def _identifier_props(props: Props, mode: str, identifiers: Props) -> None:
    """§5.5 / §12 #4: ``customerIdentifier.id`` and/or ``readOnly.customerIdentifier.id``."""
    for path, prop in identifiers.items():
        if mode in ("both", "top"):
            props[path] = prop
        if mode in ("both", "readonly"):
            props["readonly." + path] = prop


# --------------------------------------------------------------------------------------------
# handlers
# --------------------------------------------------------------------------------------------


def list_orders(request: ApiRequest, ids: list[int]) -> Reply:
    """§4, §5.5: paged, filtered, sorted (default: ``readOnly.orderId`` ascending)."""
    tenant, query = request.tenant, request.query
    size, number = rql.page_params(query, tenant.settings.orders_page_default,
                                   tenant.settings.orders_page_max)
    view = _view(request, query_value(query, "detail"), query_value(query, "itemdetail"))
    props = order_props(tenant)
    node = rql.parse(query_value(query, "rql") or "", props)
    keys = rql.parse_sort(query_value(query, "sort") or "", props)
    found = [order for order in tenant.orders.values() if rql.matches(node, order)]
    ordered = rql.sort_records(found, keys or [(props["readonly.orderid"], False)])
    page = ordered[(number - 1) * size:number * size]
    links = _page_links("/orders", query, size, number, len(found),
                        tenant.settings.next_link_on_last_page)
    return Reply(200, collection(len(found), ORDER_REL, [view.order(o) for o in page], links))


def create_order(request: ApiRequest, ids: list[int]) -> Reply:
    """§5.1, §5.2: 201 with the full order and its ETag."""
    order = request.tenant.create_order(_json_body(request), request.credential.user())
    view = _view(request, "All", None)
    return Reply(201, view.order(order), _with_etag(request, order))


def read_order(request: ApiRequest, ids: list[int]) -> Reply:
    """§5.3: ``detail``/``itemdetail`` default None; unknown values → 400 NotParsable."""
    view = _view(request, query_value(request.query, "detail"),
                 query_value(request.query, "itemdetail"))
    order = request.tenant.order(ids[0])
    return Reply(200, view.order(order), _with_etag(request, order))


def update_order(request: ApiRequest, ids: list[int]) -> Reply:
    """§5.1, §5.8: PUT an open order with If-Match; 200 + the new ETag."""
    order = request.tenant.order(ids[0])
    _check_if_match(request, order)
    order = request.tenant.update_order(order, _json_body(request))
    return Reply(200, _view(request, "All", None).order(order), _with_etag(request, order))


def cancel_order(request: ApiRequest, ids: list[int]) -> Reply:
    """§5.6, §11 #15: 204 when open and not in a pick job; otherwise 403 OperationException."""
    order = request.tenant.order(ids[0])
    _check_if_match(request, order)
    body = _json_body(request) if request.raw.strip() else None
    order = request.tenant.cancel_by_client(order, body)
    return Reply(204, None, _with_etag(request, order))


def list_packages(request: ApiRequest, ids: list[int]) -> Reply:
    """§5.1: the order's packages with their contents and tracking numbers (§5.4)."""
    order = request.tenant.order(ids[0])
    view = _view(request, None, None)
    packages = view.packages(order)
    return Reply(200, collection(len(packages), PACKAGE_REL, packages,
                                 {"self": {"href": f"/orders/{order.order_id}/packages"}}))


def stock_summaries(request: ApiRequest, ids: list[int]) -> Reply:
    """§6.1, §11 #16: ``{totalResults, summaries}``, max pgsiz 500, no sort (ignored)."""
    tenant, query = request.tenant, request.query
    size, number = rql.page_params(query, tenant.settings.summaries_page_default,
                                   tenant.settings.summaries_page_max)
    node = rql.parse(query_value(query, "rql") or "", summary_props(tenant))
    rows: list[StockRow] = sorted(
        (row for row in tenant.stock.values() if rql.matches(node, row)),
        key=lambda r: (r.facility_id, r.item.item_id, r.customer_id))
    page = rows[(number - 1) * size:number * size]
    return Reply(200, {"totalResults": len(rows),
                       "summaries": [stock_summary(row, tenant.ordered_not_allocated(row))
                                     for row in page]})


ROUTES: tuple[Route, ...] = (
    _route("GET", r"orders", "OrderView", list_orders),
    _route("POST", r"orders", "OrderWrite", create_order),
    _route("GET", r"orders/(\d+)", "OrderView", read_order),
    _route("PUT", r"orders/(\d+)", "OrderEdit", update_order),
    _route("POST", r"orders/(\d+)/canceler", "OrderWrite", cancel_order),
    _route("GET", r"orders/(\d+)/packages", "OrderView", list_packages),
    _route("GET", r"inventory/stocksummaries", "InventoryDetailView", stock_summaries),
)

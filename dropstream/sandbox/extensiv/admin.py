"""The sandbox's control API under ``/_sandbox`` (not part of Extensiv; never metered).

JSON in and out, no authentication (loopback only). A refused request is 400
``{"error": "..."}``; an unknown tenant, order or route is 404. Routes:

| Route | Body | Answer |
|---|---|---|
| ``GET /_sandbox`` | | ``{base_url, token_url, tenants, clock, settings}`` |
| ``POST /_sandbox/tenants`` | ``{name, client_id, client_secret, user_login?, user_login_id?, tpl?, roles?}`` | 201 tenant |
| ``GET /_sandbox/tenants/<t>`` | | tenant (credentials without secrets) |
| ``POST /_sandbox/tenants/<t>/credentials`` | ``{client_id, client_secret, user_login?, user_login_id?, roles?}`` | 201 tenant |
| ``POST /_sandbox/tenants/<t>/customers`` | ``{id, name?, external_id?}`` | 201 customer |
| ``POST /_sandbox/tenants/<t>/facilities`` | ``{id, name?, time_zone?}`` | 201 facility |
| ``POST /_sandbox/tenants/<t>/skus`` | ``{customer_id, sku, item_id?, description?, stock?: {facility_id: qty}}`` | 201 ``{item_id, sku, customer_id}`` |
| ``PUT /_sandbox/tenants/<t>/stock`` | ``{customer_id, sku, facility_id, on_hand?, on_hold?}`` | stock summary row |
| ``GET /_sandbox/tenants/<t>/orders/<id>`` | | ``{etag, order}`` (HAL, detail=All, itemdetail=All) |
| ``POST /_sandbox/tenants/<t>/orders/<id>/allocate`` ``/pick`` ``/cancel`` | | ``{etag, order}`` |
| ``POST /_sandbox/tenants/<t>/orders/<id>/pack`` ``/ship`` | ``{packages?: [{tracking_number?, weight?, contents: [{sku or order_item_id, qty}]}]}`` | ``{etag, order}`` |
| ``POST /_sandbox/tenants/<t>/tokens/expire``, ``POST /_sandbox/tokens/expire`` | | ``{revoked}`` |
| ``GET`` / ``PUT /_sandbox/settings`` | ``{name: value, …}`` | all settings |
| ``GET`` / ``POST`` / ``DELETE /_sandbox/faults`` | a rule or a list of rules | ``{rules}`` |
| ``GET`` / ``DELETE /_sandbox/meter`` | | meter snapshot |
| ``GET`` / ``DELETE /_sandbox/requests`` | | ``{requests: [...]}`` |
| ``GET`` / ``POST /_sandbox/clock`` | ``{advance_seconds?, set?: ISO date-time, frozen?}`` | ``{now, frozen}`` |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dropstream.sandbox.extensiv.render import DETAILS, ITEM_DETAILS, OrderView, stock_summary
from dropstream.sandbox.extensiv.warehouse import ControlError, Tenant

if TYPE_CHECKING:
    from dropstream.sandbox.extensiv.server import ExtensivSandbox

Result = tuple[int, Any]
Action = Callable[["ExtensivSandbox", list[str], dict[str, Any]], Result]


class NotFound(Exception):
    pass


def handle(sandbox: ExtensivSandbox, method: str, segments: list[str], body: Any) -> Result:
    """Dispatch one control request; ``segments`` follow ``/_sandbox``."""
    action = _ROUTES.get((method, _route_key(segments)))
    if action is None:
        return 404, {"error": f"no control route {method} /_sandbox/{'/'.join(segments)}"}
    if body is not None and not isinstance(body, dict | list):
        return 400, {"error": "the body must be a JSON object"}
    try:
        return action(sandbox, segments, body if body is not None else {})
    except NotFound as exc:
        return 404, {"error": str(exc)}
    except (ControlError, ValueError, TypeError, KeyError) as exc:
        return 400, {"error": str(exc) if not isinstance(exc, KeyError) else
                     f"missing field {exc}"}


def _route_key(segments: list[str]) -> str:
    """``tenants/<t>/orders/<id>/ship``: the tenant name and numeric ids as placeholders."""
    parts = []
    for index, segment in enumerate(segments):
        if index == 1 and segments[0] == "tenants":
            parts.append("<t>")
        else:
            parts.append("<id>" if segment.isdigit() else segment)
    return "/".join(parts)


def _tenant(sandbox: ExtensivSandbox, segments: list[str]) -> Tenant:
    try:
        return sandbox.tenant(segments[1])
    except KeyError:
        raise NotFound(f"no tenant {segments[1]!r}") from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def order_result(tenant: Tenant, order_id: int) -> dict[str, Any]:
    """``{etag, order}``: the order as ``GET /orders/{id}?detail=All&itemdetail=All`` shows."""
    with tenant.lock:
        order = tenant.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        document = OrderView(set(DETAILS), set(ITEM_DETAILS), tenant.zone).order(order)
        return {"etag": tenant.etag(order), "order": document}


# ------------------------------------------------------------------ sandbox-wide


def _overview(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, {"base_url": sandbox.base_url, "token_url": sandbox.token_url,
                 "tenants": sandbox.tenant_names(), "clock": sandbox.clock.describe(),
                 "settings": sandbox.settings.describe()}


def _add_tenant(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    data = _object(body)
    sandbox.add_tenant(str(data["name"]), client_id=str(data["client_id"]),
                       client_secret=str(data["client_secret"]),
                       user_login=str(data.get("user_login", "hub-integration")),
                       user_login_id=int(data.get("user_login_id", 1)),
                       tpl=data.get("tpl"), roles=data.get("roles"))
    return 201, sandbox.describe_tenant(str(data["name"]))


def _get_tenant(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    _tenant(sandbox, segments)
    return 200, sandbox.describe_tenant(segments[1])


def _add_credential(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    data = _object(body)
    _tenant(sandbox, segments)
    sandbox.add_credential(segments[1], client_id=str(data["client_id"]),
                           client_secret=str(data["client_secret"]),
                           user_login=str(data.get("user_login", "hub-integration")),
                           user_login_id=int(data.get("user_login_id", 1)),
                           roles=data.get("roles"))
    return 201, sandbox.describe_tenant(segments[1])


def _add_customer(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    data = _object(body)
    customer = _tenant(sandbox, segments).add_customer(int(data["id"]), str(data.get("name", "")),
                                                       str(data.get("external_id", "")))
    return 201, vars(customer).copy()


def _add_facility(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    data = _object(body)
    facility = _tenant(sandbox, segments).add_facility(
        int(data["id"]), str(data.get("name", "")), str(data.get("time_zone", "UTC")))
    return 201, vars(facility).copy()


def _add_sku(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    data = _object(body)
    stock = data.get("stock") or {}
    if not isinstance(stock, dict):
        raise ControlError("stock must map facility ids to quantities")
    item = _tenant(sandbox, segments).add_sku(
        int(data["customer_id"]), str(data["sku"]), item_id=data.get("item_id"),
        description=str(data.get("description", "")),
        stock={int(k): float(v) for k, v in stock.items()})
    return 201, {"item_id": item.item_id, "sku": item.sku, "customer_id": item.customer_id}


def _set_stock(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    data = _object(body)
    tenant = _tenant(sandbox, segments)
    on_hand, on_hold = data.get("on_hand"), data.get("on_hold")
    row = tenant.set_stock(int(data["customer_id"]), str(data["sku"]), int(data["facility_id"]),
                           on_hand=None if on_hand is None else float(on_hand),
                           on_hold=None if on_hold is None else float(on_hold))
    return 200, stock_summary(row, tenant.ordered_not_allocated(row))


def _get_order(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, order_result(_tenant(sandbox, segments), int(segments[3]))


def _driver(step: str) -> Action:
    """A lifecycle step (§11 #11–#13) on the tenant; ``pack``/``ship`` take ``packages``."""
    def run(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
        tenant, order_id = _tenant(sandbox, segments), int(segments[3])
        if order_id not in tenant.orders:
            raise NotFound(f"no order {order_id}")
        if step in ("pack", "ship"):
            packages = _object(body).get("packages")
            if packages is not None and not isinstance(packages, list):
                raise ControlError("packages must be a list")
            getattr(tenant, step)(order_id, packages)
        else:
            getattr(tenant, step)(order_id)
        return 200, order_result(tenant, order_id)
    return run


def _expire_tenant_tokens(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    _tenant(sandbox, segments)
    return 200, {"revoked": sandbox.expire_tokens(segments[1])}


def _expire_all_tokens(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, {"revoked": sandbox.expire_tokens()}


def _get_settings(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, sandbox.settings.describe()


def _put_settings(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, sandbox.settings.update(**_object(body))


def _get_faults(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, {"rules": sandbox.faults.describe()}


def _add_faults(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 201, {"rules": sandbox.faults.add(body)}


def _clear_faults(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    sandbox.faults.clear()
    return 200, {"rules": []}


def _meter(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, sandbox.meter.snapshot()


def _reset_meter(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    sandbox.meter.reset()
    return 200, sandbox.meter.snapshot()


def _requests(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, {"requests": sandbox.requests.entries()}


def _clear_requests(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    sandbox.requests.clear()
    return 200, {"requests": []}


def _get_clock(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    return 200, sandbox.clock.describe()


def _set_clock(sandbox: ExtensivSandbox, segments: list[str], body: Any) -> Result:
    """``{"set": "2026-03-05T14:00:00Z", "frozen": true, "advance_seconds": 60}``."""
    data = _object(body)
    clock = sandbox.clock
    frozen = data.get("frozen")
    if frozen is not None and not isinstance(frozen, bool):
        raise ControlError("frozen must be true or false")
    if "set" in data:
        clock.set(datetime.fromisoformat(str(data["set"]).replace("Z", "+00:00")),
                  frozen=frozen)
    elif frozen is not None:
        clock.set(clock.now(), frozen=frozen)
    if "advance_seconds" in data:
        seconds = data["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ControlError("advance_seconds must be a number")
        clock.advance(float(seconds))
    return 200, clock.describe()


_ROUTES: dict[tuple[str, str], Action] = {
    ("GET", ""): _overview,
    ("POST", "tenants"): _add_tenant,
    ("GET", "tenants/<t>"): _get_tenant,
    ("POST", "tenants/<t>/credentials"): _add_credential,
    ("POST", "tenants/<t>/customers"): _add_customer,
    ("POST", "tenants/<t>/facilities"): _add_facility,
    ("POST", "tenants/<t>/skus"): _add_sku,
    ("PUT", "tenants/<t>/stock"): _set_stock,
    ("GET", "tenants/<t>/orders/<id>"): _get_order,
    ("POST", "tenants/<t>/orders/<id>/allocate"): _driver("allocate"),
    ("POST", "tenants/<t>/orders/<id>/pick"): _driver("pick"),
    ("POST", "tenants/<t>/orders/<id>/pack"): _driver("pack"),
    ("POST", "tenants/<t>/orders/<id>/ship"): _driver("ship"),
    ("POST", "tenants/<t>/orders/<id>/cancel"): _driver("cancel"),
    ("POST", "tenants/<t>/tokens/expire"): _expire_tenant_tokens,
    ("POST", "tokens/expire"): _expire_all_tokens,
    ("GET", "settings"): _get_settings,
    ("PUT", "settings"): _put_settings,
    ("GET", "faults"): _get_faults,
    ("POST", "faults"): _add_faults,
    ("DELETE", "faults"): _clear_faults,
    ("GET", "meter"): _meter,
    ("DELETE", "meter"): _reset_meter,
    ("GET", "requests"): _requests,
    ("DELETE", "requests"): _clear_requests,
    ("GET", "clock"): _get_clock,
    ("POST", "clock"): _set_clock,
}

"""The sandbox's control API under ``/_sandbox/<subdomain>/`` (not part of Bright Sites).

No authentication, JSON in and out, never metered. Answers ``(status, body)``; a bad request is
400 ``{"error": "..."}``, an unknown store or route 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dropstream.sandbox.brightsites.store import ControlError
from dropstream.sandbox.brightsites.wire import parse_filter_time

if TYPE_CHECKING:
    from dropstream.sandbox.brightsites.runtime import StoreRuntime
    from dropstream.sandbox.brightsites.server import BrightSitesSandbox

Result = tuple[int, Any]
ORDER_OPTIONS = ("status", "lines", "customer", "shipping_method", "created_at",
                 "approval_pending")


def handle(sandbox: BrightSitesSandbox, method: str, segments: list[str],
           body: Any) -> Result:
    """Dispatch one control request; ``segments`` follow ``/_sandbox``."""
    try:
        if not segments:
            return 200, {"stores": sandbox.describe_stores()}
        if segments == ["stores"] and method == "POST":
            return _create_store(sandbox, body)
        runtime = sandbox.runtime(segments[0])
        if runtime is None:
            return 404, {"error": f"no sandbox store {segments[0]!r}"}
        action = _route(method, segments[1:])
        if action is None:
            return 404, {"error": f"no control route {method} /{'/'.join(segments[1:])}"}
        return action(sandbox, runtime, segments[1:], body)
    except ControlError as exc:
        return 400, {"error": str(exc)}


def _create_store(sandbox: BrightSitesSandbox, body: Any) -> Result:
    if not isinstance(body, dict) or not isinstance(body.get("subdomain"), str):
        raise ControlError("send {subdomain, read_write_token, read_only_token}")
    products = body.get("products", 40)
    if not isinstance(products, int) or not 1 <= products <= 5000:
        raise ControlError("products must be an integer from 1 to 5000")
    sandbox.add_store(body["subdomain"], read_write_token=str(body.get("read_write_token", "")),
                      read_only_token=str(body.get("read_only_token", "")), products=products,
                      site_id=body.get("site_id"))
    return 201, {"api_url": sandbox.api_url(body["subdomain"]),
                 "control_url": sandbox.control_url(body["subdomain"])}


Action = Callable[["BrightSitesSandbox", "StoreRuntime", list[str], Any], Result]


def _route(method: str, rest: list[str]) -> Action | None:
    key = (method, "/".join("<id>" if part.isdigit() else part for part in rest))
    return _ROUTES.get(key)


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _order_id(rest: list[str]) -> int:
    return int(rest[1])


def _create_orders(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                   body: Any) -> Result:
    data = _object(body)
    unknown = set(data) - {"count", *ORDER_OPTIONS}
    if unknown:
        raise ControlError(f"unknown order option(s): {', '.join(sorted(unknown))}")
    ids = runtime.store.create_orders(data.get("count", 1),
                                      **{k: data[k] for k in ORDER_OPTIONS if k in data})
    return 201, {"order_ids": ids}


def _delete_orders(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                   body: Any) -> Result:
    runtime.store.delete_orders()
    return 200, {"ok": True}


def _get_order(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
               body: Any) -> Result:
    return 200, runtime.store.raw_order(_order_id(rest))


def _update_order(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                  body: Any) -> Result:
    return 200, runtime.store.control_update_order(_order_id(rest), _object(body))


def _push_order(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                body: Any) -> Result:
    order = runtime.store.orders.get(_order_id(rest))
    if order is None:
        raise ControlError(f"no order {rest[1]}")
    if runtime.push is None:
        raise ControlError("no push url is set: POST push {url} first")
    sandbox.emitter.enqueue(runtime, order)
    return 202, {"queued": True}


def _add_faults(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                body: Any) -> Result:
    return 201, {"rules": runtime.faults.add(body)}


def _get_faults(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                body: Any) -> Result:
    return 200, {"rules": runtime.faults.describe()}


def _clear_faults(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                  body: Any) -> Result:
    runtime.faults.clear()
    return 200, {"rules": 0}


def _add_hooks(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
               body: Any) -> Result:
    return 201, {"hooks": runtime.hooks.add(body)}


def _get_hooks(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
               body: Any) -> Result:
    return 200, {"pending": runtime.hooks.pending(), "fired": list(runtime.hooks.fired)}


def _clear_hooks(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                 body: Any) -> Result:
    runtime.hooks.clear()
    return 200, {"hooks": 0}


def _meter(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
           body: Any) -> Result:
    return 200, runtime.meter.snapshot()


def _reset_meter(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                 body: Any) -> Result:
    runtime.meter.reset()
    return 200, runtime.meter.snapshot()


def _set_push(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
              body: Any) -> Result:
    data = _object(body)
    runtime.set_push(data.get("url"), data.get("wrap", False))
    return 200, runtime.push_summary()


def _clear_push(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                body: Any) -> Result:
    runtime.push = None
    return 200, runtime.push_summary()


def _set_push_faults(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                     body: Any) -> Result:
    """``{"lose": p, "duplicate": p, "seed": n}``: chances per push (see ``runtime``)."""
    data = _object(body)
    unknown = set(data) - {"lose", "duplicate", "seed"}
    if unknown:
        raise ControlError(f"unknown push fault(s): {', '.join(sorted(unknown))}")
    runtime.push_faults.set(data.get("lose", 0.0), data.get("duplicate", 0.0), data.get("seed"))
    return 200, runtime.push_summary()


def _clear_push_faults(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                       body: Any) -> Result:
    runtime.push_faults.set(0.0, 0.0)
    return 200, runtime.push_summary()


def _wait_push(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
               body: Any) -> Result:
    timeout = _object(body).get("timeout", 10)
    if not isinstance(timeout, int | float) or not 0 <= timeout <= 120:
        raise ControlError("timeout must be a number of seconds up to 120")
    idle = sandbox.emitter.wait_idle(float(timeout))
    return 200, {"idle": idle, **runtime.push_summary()}


def _state(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
           body: Any) -> Result:
    return 200, {**runtime.store.state(), "push": runtime.push_summary(),
                 "faults": len(runtime.faults.describe()), "hooks": runtime.hooks.pending()}


def _inventories(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                 body: Any) -> Result:
    return 200, {"inventories": runtime.store.raw_inventories()}


def _set_inventories(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                     body: Any) -> Result:
    return 200, {"updated": runtime.store.set_inventory(body)}


def _emails(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
            body: Any) -> Result:
    with runtime.store.lock:
        return 200, {"emails": [dict(e) for e in runtime.store.emails]}


def _settings(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
              body: Any) -> Result:
    with runtime.store.lock:
        runtime.store.settings.update(_object(body))
        return 200, runtime.store.settings.describe()


def _get_settings(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
                  body: Any) -> Result:
    return 200, runtime.store.settings.describe()


def _add_token(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
               body: Any) -> Result:
    data = _object(body)
    expires = data.get("expires_at")
    expires_at: datetime | None = None
    if expires is not None:
        try:
            expires_at = parse_filter_time(str(expires))
        except ValueError:
            raise ControlError("expires_at must be an ISO 8601 date-time") from None
    runtime.store.add_token(str(data.get("token", "")), str(data.get("access", "read_write")),
                            expires_at)
    return 201, {"ok": True}


def _clock(sandbox: BrightSitesSandbox, runtime: StoreRuntime, rest: list[str],
           body: Any) -> Result:
    """``{"advance_seconds": n}``, ``{"freeze": true | "<iso>"}``, ``{"freeze": false}``."""
    data = _object(body)
    clock = runtime.store.clock
    if "freeze" in data:
        freeze = data["freeze"]
        if freeze is False:
            clock.unfreeze()
        elif freeze is True:
            clock.freeze()
        else:
            try:
                clock.freeze(parse_filter_time(str(freeze)))
            except ValueError:
                raise ControlError("freeze must be true, false or an ISO date-time") from None
    if "advance_seconds" in data:
        seconds = data["advance_seconds"]
        if not isinstance(seconds, int | float):
            raise ControlError("advance_seconds must be a number")
        clock.advance(float(seconds))
    return 200, clock.describe()


_ROUTES: dict[tuple[str, str], Action] = {
    ("POST", "orders"): _create_orders,
    ("DELETE", "orders"): _delete_orders,
    ("GET", "orders/<id>"): _get_order,
    ("PUT", "orders/<id>"): _update_order,
    ("PATCH", "orders/<id>"): _update_order,
    ("POST", "orders/<id>/push"): _push_order,
    ("POST", "faults"): _add_faults,
    ("GET", "faults"): _get_faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "hooks"): _add_hooks,
    ("GET", "hooks"): _get_hooks,
    ("DELETE", "hooks"): _clear_hooks,
    ("GET", "meter"): _meter,
    ("DELETE", "meter"): _reset_meter,
    ("POST", "push"): _set_push,
    ("DELETE", "push"): _clear_push,
    ("POST", "push/wait"): _wait_push,
    ("POST", "push/faults"): _set_push_faults,
    ("DELETE", "push/faults"): _clear_push_faults,
    ("GET", "state"): _state,
    ("GET", "inventories"): _inventories,
    ("PUT", "inventories"): _set_inventories,
    ("GET", "emails"): _emails,
    ("GET", "settings"): _get_settings,
    ("PUT", "settings"): _settings,
    ("POST", "tokens"): _add_token,
    ("POST", "clock"): _clock,
}

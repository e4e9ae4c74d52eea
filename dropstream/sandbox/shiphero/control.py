"""The control endpoint under ``/_sandbox`` (not part of ShipHero): set-up, the fulfilment
driver, faults, meters, clock and settings over HTTP. JSON in and out, no authentication,
never metered; loopback only like the rest. Errors: 400 ``{"error": "..."}`` (bad request),
404 (no such route). ``<account>`` and ``<order>`` are legacy ids (or Relay ids).

    GET    /_sandbox                                  urls, clock, accounts
    POST   /_sandbox/accounts                         {name, is_3pl?, refresh_token?, email?,
                                                       username?, password?} → 201 account
    POST   /_sandbox/accounts/<account>/customers     {name, refresh_token?} → 201 account
    POST   /_sandbox/accounts/<account>/suspend       {suspended: true|false}
    POST   /_sandbox/accounts/<account>/warehouses    {identifier, address?} → 201
    POST   /_sandbox/accounts/<account>/products      {sku, name?, price?, barcode?,
                                                       stock?: {"<warehouse>": on_hand}} → 201
    GET    /_sandbox/accounts/<account>/products/<sku>/stock
    PUT    /_sandbox/accounts/<account>/products/<sku>/stock
                                                      {warehouse, on_hand? | delta?,
                                                       reserve_inventory?, non_sellable_quantity?}
    GET    /_sandbox/accounts/<account>/orders
    GET    /_sandbox/accounts/<account>/credits       PUT {credits_remaining}
    GET    /_sandbox/orders/<order>
    POST   /_sandbox/orders/<order>/pick
    POST   /_sandbox/orders/<order>/ship              {packages?: [...], force?,
                                                       shipped_off_shiphero?} → 201 shipment
    POST   /_sandbox/orders/<order>/cancel            {reason?, force?}
    PUT    /_sandbox/orders/<order>/holds             {address_hold: false, ...}
    POST   /_sandbox/tokens/expire                    {account_id?} → {"expired": n}
    POST   /_sandbox/tokens/revoke                    {account_id?} → {"revoked": n}
    GET|POST|DELETE /_sandbox/faults                  API fault rules (faults.py)
    GET|DELETE      /_sandbox/meter                   request and credit meter
    GET|PUT         /_sandbox/settings                settings.py
    GET|POST        /_sandbox/clock                   {advance_seconds?, set?, freeze?}
    GET|POST        /_sandbox/webhooks                {account_id, name, url, shop_name?,
                                                       send_signature?} → 201 (with secret)
    PUT             /_sandbox/webhooks/<webhook>      {send_signature?, enabled?}
    GET|DELETE      /_sandbox/webhooks/deliveries
    POST            /_sandbox/webhooks/wait           {timeout?} → {"idle": bool}
    GET|POST|DELETE /_sandbox/webhooks/faults         delivery faults (webhooks.py)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dropstream.sandbox.shiphero.clock import parse_time
from dropstream.sandbox.shiphero.errors import ControlError

if TYPE_CHECKING:
    from dropstream.sandbox.shiphero.sandbox import ShipHeroSandbox

Result = tuple[int, Any]
Action = Callable[["ShipHeroSandbox", list[str], dict[str, Any]], Result]


def handle(sandbox: ShipHeroSandbox, method: str, segments: list[str], raw: bytes) -> Result:
    """Dispatch one control request; ``segments`` follow ``/_sandbox``."""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return 400, {"error": "the body is not valid JSON"}
    if not isinstance(body, dict):
        return 400, {"error": "the body must be a JSON object"}
    for (route_method, pattern), action in ROUTES.items():
        if route_method != method or len(pattern) != len(segments):
            continue
        if all(p == "*" or p == s for p, s in zip(pattern, segments, strict=True)):
            args = [s for p, s in zip(pattern, segments, strict=True) if p == "*"]
            try:
                return action(sandbox, args, body)
            except ControlError as exc:
                return 400, {"error": str(exc)}
    return 404, {"error": f"no control route {method} /_sandbox/{'/'.join(segments)}"}


def _bool(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ControlError(f"{name} must be true or false")
    return value


def _str(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name} must be a non-empty string")
    return value


def _int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ControlError(f"{name} must be an integer")
    return value


def _info(info: Any) -> dict[str, Any]:
    return {"id": info.id, "legacy_id": info.legacy_id, "name": info.name,
            "is_3pl": info.is_3pl, "parent_id": info.parent_id,
            "refresh_token": info.refresh_token}


def _overview(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.describe()


def _add_account(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    info = sb.add_account(str(_str(body, "name")), is_3pl=_bool(body, "is_3pl"),
                          refresh_token=_str(body, "refresh_token", False),
                          email=_str(body, "email", False),
                          username=_str(body, "username", False),
                          password=_str(body, "password", False))
    return 201, _info(info)


def _add_customer(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    info = sb.add_customer(args[0], str(_str(body, "name")),
                           refresh_token=_str(body, "refresh_token", False))
    return 201, _info(info)


def _suspend(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    sb.suspend_account(args[0], _bool(body, "suspended", True))
    return 200, {"ok": True}


def _add_warehouse(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    info = sb.add_warehouse(args[0], str(_str(body, "identifier")),
                            address=body.get("address"))
    return 201, {"id": info.id, "legacy_id": info.legacy_id, "identifier": info.identifier}


def _add_product(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    stock = body.get("stock") or {}
    if not isinstance(stock, dict) or not all(isinstance(v, int) for v in stock.values()):
        raise ControlError('stock must map warehouses to on_hand, e.g. {"Primary": 10}')
    rows = sb.add_product(args[0], str(_str(body, "sku")), name=_str(body, "name", False),
                          price=str(body.get("price", "0.00")),
                          barcode=_str(body, "barcode", False), stock=stock)
    return 201, {"stock": rows}


def _get_stock(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"stock": sb.stock(args[0], args[1])}


def _put_stock(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    warehouse = body.get("warehouse")
    if not isinstance(warehouse, int | str) or isinstance(warehouse, bool):
        raise ControlError("warehouse must be an identifier or an id")
    row = sb.set_stock(args[0], args[1], warehouse, on_hand=_int(body, "on_hand"),
                       delta=_int(body, "delta"),
                       reserve_inventory=_int(body, "reserve_inventory"),
                       non_sellable_quantity=_int(body, "non_sellable_quantity"))
    return 200, row


def _account_orders(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"orders": sb.orders(args[0])}


def _get_credits(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.credits(args[0])


def _put_credits(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    value = body.get("credits_remaining")
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ControlError("credits_remaining must be a non-negative number")
    return 200, sb.set_credits(args[0], float(value))


def _order(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.order(args[0])


def _pick(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.pick_order(args[0])


def _ship(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    packages = body.get("packages")
    if packages is not None and not isinstance(packages, list):
        raise ControlError("packages must be a list")
    return 201, sb.ship_order(args[0], packages, force=_bool(body, "force"),
                              shipped_off_shiphero=_bool(body, "shipped_off_shiphero"))


def _cancel(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.cancel_order(args[0], reason=_str(body, "reason", False) or "",
                                force=_bool(body, "force"))


def _holds(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    if not all(isinstance(v, bool) for v in body.values()):
        raise ControlError("each hold must be true or false")
    return 200, sb.set_holds(args[0], **body)


def _expire(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"expired": sb.expire_tokens(body.get("account_id"))}


def _revoke(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"revoked": sb.revoke_tokens(body.get("account_id"))}


def _faults(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"rules": sb.faults.describe()}


def _add_faults(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    rules = body.get("rules", body)
    return 201, {"rules": sb.add_faults(rules)}


def _clear_faults(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    sb.clear_faults()
    return 200, {"rules": 0}


def _meter(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.meter_snapshot()


def _reset_meter(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    sb.reset_meter()
    return 200, sb.meter_snapshot()


def _settings(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.settings.describe()


def _put_settings(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.configure(**body)


def _clock(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, sb.clock.describe()


def _move_clock(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    if "freeze" in body:
        if _bool(body, "freeze"):
            sb.clock.freeze()
        else:
            sb.clock.unfreeze()
    if "set" in body:
        try:
            sb.clock.set(parse_time(str(body["set"])))
        except ValueError:
            raise ControlError("set must be an ISO 8601 date-time") from None
    if "advance_seconds" in body:
        seconds = body["advance_seconds"]
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            raise ControlError("advance_seconds must be a number")
        sb.clock.advance(float(seconds))
    return 200, sb.clock.describe()


def _webhooks(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"webhooks": sb.webhooks()}


def _add_webhook(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    account = body.get("account_id")
    if account is None:
        raise ControlError("account_id is required")
    return 201, sb.register_webhook(account, str(_str(body, "name")), str(_str(body, "url")),
                                    shop_name=_str(body, "shop_name", False),
                                    send_signature=_bool(body, "send_signature", True))


def _put_webhook(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    send = _bool(body, "send_signature") if "send_signature" in body else None
    enabled = _bool(body, "enabled") if "enabled" in body else None
    return 200, sb.update_webhook(args[0], send_signature=send, enabled=enabled)


def _deliveries(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"deliveries": sb.webhook_deliveries()}


def _clear_deliveries(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    sb.dispatcher.clear_log()
    return 200, {"deliveries": sb.webhook_deliveries()}


def _wait(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    timeout = body.get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not (
            0 <= timeout <= 120):
        raise ControlError("timeout must be a number of seconds up to 120")
    return 200, {"idle": sb.wait_for_webhooks(float(timeout))}


def _hook_faults(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 200, {"rules": sb.dispatcher.describe_faults()}


def _add_hook_faults(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    return 201, {"rules": sb.add_webhook_faults(body.get("rules", body))}


def _clear_hook_faults(sb: ShipHeroSandbox, args: list[str], body: dict[str, Any]) -> Result:
    sb.clear_webhook_faults()
    return 200, {"rules": 0}


ROUTES: dict[tuple[str, tuple[str, ...]], Action] = {
    ("GET", ()): _overview,
    ("POST", ("accounts",)): _add_account,
    ("POST", ("accounts", "*", "customers")): _add_customer,
    ("POST", ("accounts", "*", "suspend")): _suspend,
    ("POST", ("accounts", "*", "warehouses")): _add_warehouse,
    ("POST", ("accounts", "*", "products")): _add_product,
    ("GET", ("accounts", "*", "products", "*", "stock")): _get_stock,
    ("PUT", ("accounts", "*", "products", "*", "stock")): _put_stock,
    ("GET", ("accounts", "*", "orders")): _account_orders,
    ("GET", ("accounts", "*", "credits")): _get_credits,
    ("PUT", ("accounts", "*", "credits")): _put_credits,
    ("GET", ("orders", "*")): _order,
    ("POST", ("orders", "*", "pick")): _pick,
    ("POST", ("orders", "*", "ship")): _ship,
    ("POST", ("orders", "*", "cancel")): _cancel,
    ("PUT", ("orders", "*", "holds")): _holds,
    ("POST", ("tokens", "expire")): _expire,
    ("POST", ("tokens", "revoke")): _revoke,
    ("GET", ("faults",)): _faults,
    ("POST", ("faults",)): _add_faults,
    ("DELETE", ("faults",)): _clear_faults,
    ("GET", ("meter",)): _meter,
    ("DELETE", ("meter",)): _reset_meter,
    ("GET", ("settings",)): _settings,
    ("PUT", ("settings",)): _put_settings,
    ("GET", ("clock",)): _clock,
    ("POST", ("clock",)): _move_clock,
    ("GET", ("webhooks",)): _webhooks,
    ("POST", ("webhooks",)): _add_webhook,
    ("GET", ("webhooks", "deliveries")): _deliveries,
    ("DELETE", ("webhooks", "deliveries")): _clear_deliveries,
    ("POST", ("webhooks", "wait")): _wait,
    ("GET", ("webhooks", "faults")): _hook_faults,
    ("POST", ("webhooks", "faults")): _add_hook_faults,
    ("DELETE", ("webhooks", "faults")): _clear_hook_faults,
    ("PUT", ("webhooks", "*")): _put_webhook,
}

"""Push Orders (specs/brightsites-api.md §10): Bright Sites POSTs the show-order JSON of each
order to the store's hook URL. Reading a delivery is pure: body in, one ``order`` event out.

Push Orders has no signature (§10): the URL's secret is the only proof a body comes from the
store, and the order's ``site_url`` must name this store. A store that wants more sets
``push_verify`` — the hub then reads each pushed order from the API again (one request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from dropstream.platforms.hooks import HookEvent, HookRejected, HookSpec

# Deeper than any real order (a few levels): refused before it can exhaust Python's stack.
MAX_NESTING = 64


def _nesting(text: str) -> int:
    """How deep brackets nest in a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def unwrap(body: bytes) -> dict[str, Any]:
    """The order object from a bare or ``{"order": …}`` body; HookRejected says what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HookRejected(f"the body is not JSON ({exc})") from None
    if _nesting(text) > MAX_NESTING:
        raise HookRejected(f"the body nests deeper than {MAX_NESTING} levels; no order does")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HookRejected(f"the body is not JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        raise HookRejected(f"the body is not an order Bright Sites would send ({exc})") from None
    if isinstance(payload, dict) and isinstance(payload.get("order"), dict):
        payload = payload["order"]
    if not isinstance(payload, dict):
        raise HookRejected("the body must be an order object (or {\"order\": {...}})")
    if "order_id" not in payload:
        raise HookRejected("the order has no order_id")
    return payload


def site_matches(settings: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """Whether the pushed order belongs to this store: its site URL names the store's subdomain
    (or, when the store's api_url points elsewhere, e.g. a sandbox, the same host)."""
    site_url = str(payload.get("site_url") or "")
    try:
        host = (urlsplit(site_url).hostname or "").lower()
    except ValueError:  # "http://[" is an invalid IPv6 address to urlsplit: no store's site
        return False
    if not host:
        return False
    subdomain = str(settings.get("subdomain") or "").lower()
    if subdomain and (host == f"{subdomain}.mybrightsites.com"
                      or host.split(".")[0] == subdomain):
        return True
    api_host = (urlsplit(str(settings.get("api_url") or "")).hostname or "").lower()
    return bool(api_host) and host == api_host


def parse_push(body: bytes, headers: Mapping[str, str],
               settings: Mapping[str, Any]) -> list[HookEvent]:
    """One Push Orders body → one ``order`` event (or ``order_canceled`` for a canceled one).
    Raises HookRejected (400) for a body that is not this store's order."""
    payload = unwrap(body)
    if not site_matches(settings, payload):
        raise HookRejected(f"the order's site ({payload.get('site_url')!r}) is not this store")
    topic = "order_canceled" if payload.get("status") == "canceled" else "order"
    return [HookEvent(topic=topic, payload=payload, external_id=str(payload["order_id"]))]


HOOKS = HookSpec(
    parse=parse_push,
    title="Push Orders URL",
    setup_steps=(
        "In the Bright Sites admin, switch on the add-on: Features → Add-Ons → Order Push.",
        "Open Integrations → Push Orders → Setup.",
        "Push Method: BrightSites JSON. API URL: paste the URL above. API Version: 2.6.1.",
        "Turn on Automatically Push Orders and add your e-mail under failure notifications. "
        "Save.",
        "Pushed orders are imported at once and cost no API requests; the scheduled import "
        "stays on as a daily safety net.",
        "Push Orders has no signature: the URL's secret is the only proof a body comes from "
        "your store, so keep it private (make a new one if it leaked). To have each pushed "
        "order read again from the store (one API request each), switch on “Re-read pushed "
        "orders” in the store settings below.",
    ),
)

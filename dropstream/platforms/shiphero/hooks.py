"""ShipHero webhooks (spec §11): Shipment Update, Order Canceled and Inventory Update, POSTed as
JSON to the warehouse's hook URL. Reading one is pure: the signature checked, the body split
into one event.

* Signature (§11.2): ``x-shiphero-hmac-sha256`` = base64(HMAC-SHA256(raw body, the webhook's
  ``shared_signature_secret``)), compared in constant time. Some accounts' webhooks come
  unsigned (a community report), so ``require_signature`` may be switched off; a signature that
  is present is always checked.
* De-duplication: ``X-Shiphero-Message-ID`` (retries reuse it, §14.9) is the event id; the
  shipments themselves are also keyed by package, so a repeat under a new id stores nothing.
* Dispatch on ``webhook_type`` in the body (no topic header, §11.2).
* ShipHero counts a delivery as received only when the answer is ``{"code": "200", …}``
  (§11.2), else it retries and finally disables the webhook: ``HookSpec.accepted`` says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from dropstream.platforms.base import HookEvent, HookRejected, HookSpec

SIGNATURE_HEADER = "x-shiphero-hmac-sha256"
MESSAGE_ID_HEADER = "x-shiphero-message-id"
TOPICS = {"shipment update": "shipment", "order canceled": "order_canceled",
          "inventory update": "inventory"}


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _check_signature(body: bytes, headers: Mapping[str, str],
                     settings: Mapping[str, Any]) -> None:
    secret = str(settings.get("webhook_secret") or "")
    sent = headers.get(SIGNATURE_HEADER, "").strip()
    required = settings.get("require_signature", True) not in (False, "false", "0")
    if not sent:
        if required:
            raise HookRejected("the webhook is not signed (no x-shiphero-hmac-sha256 header)",
                               status=401)
        return
    if not secret:
        raise HookRejected("the webhook is signed but no webhook signature secret is set in "
                           "the warehouse's settings", status=401)
    if not hmac.compare_digest(sent.encode(), signature(body, secret).encode()):
        raise HookRejected("the signature does not match", status=401)


def _external_id(topic: str, payload: Mapping[str, Any]) -> str:
    if topic == "shipment":
        fulfillment = payload.get("fulfillment")
        if not isinstance(fulfillment, Mapping) or not fulfillment.get("order_number"):
            raise HookRejected("a Shipment Update must have a fulfillment with an order_number")
        return str(fulfillment["order_number"])
    if topic == "order_canceled":
        if not payload.get("order_number"):
            raise HookRejected("an Order Canceled body must name its order_number")
        return str(payload["order_number"])
    if topic == "inventory":
        items = payload.get("inventory")
        if not isinstance(items, list):
            raise HookRejected("an Inventory Update must have an inventory list")
        return ",".join(str(i.get("sku")) for i in items[:3] if isinstance(i, Mapping))
    return ""


def parse(body: bytes, headers: Mapping[str, str], settings: Mapping[str, Any]
          ) -> list[HookEvent]:
    """One delivery → one event; raises HookRejected (401 unsigned or forged, 400 malformed)."""
    _check_signature(body, headers, settings)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise HookRejected(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise HookRejected("the body must be a JSON object")
    kind = str(payload.get("webhook_type") or "").strip()
    if not kind:
        raise HookRejected("the body has no webhook_type")
    topic = TOPICS.get(kind.lower().replace("_", " "), kind.lower())
    if str(payload.get("test") or "0") == "1":
        topic = "test"  # ShipHero's "send a test" button: kept, not imported
    external_id = _external_id(topic, payload)
    event_id = headers.get(MESSAGE_ID_HEADER, "").strip() or (
        "body:" + hashlib.sha256(body).hexdigest())
    return [HookEvent(topic=topic, payload=payload, event_id=event_id,
                      external_id=external_id)]


HOOKS = HookSpec(
    parse=parse,
    title="Webhook URL",
    accepted={"code": "200", "Status": "Success"},
    setup_steps=(
        "Register three webhooks in ShipHero with this URL and the shop name from the "
        "settings below: Shipment Update, Order Canceled and Inventory Update (GraphQL "
        "webhook_create, or the ShipHero app's webhook page).",
        "Copy the shared_signature_secret ShipHero returns into “Webhook signature secret” "
        "below: unsigned or forged deliveries are refused.",
        "ShipHero says a webhook may not fire: the shipment channel's schedule also asks "
        "ShipHero for recent shipments and cancellations, so none is missed.",
    ),
)

"""The proof platform's webhooks: a JSON body signed with HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from dropstream.platforms.base import HookEvent, HookRejected, HookSpec


def parse(body: bytes, headers: Mapping[str, str], settings: Mapping[str, Any]
          ) -> list[HookEvent]:
    expected = hmac.new(str(settings["signing_secret"]).encode(), body,
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers.get("x-proof-signature", ""), expected):
        raise HookRejected("the signature does not match", status=401)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise HookRejected(f"the body is not JSON ({exc})") from None
    return [HookEvent(topic="shipment", payload=payload, event_id=str(payload["event_id"]),
                      external_id=str(payload["package"]["number"]))]


HOOKS = HookSpec(parse=parse, title="Webhook URL",
                 setup_steps=("Paste the URL into the proof WMS's webhook settings.",))

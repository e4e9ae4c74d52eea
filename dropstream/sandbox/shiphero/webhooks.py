"""Webhook delivery (spec §11.2): HTTP POST of the JSON body to each registered, enabled
webhook of the event's type, from one background thread.

* Headers: ``Content-Type: application/json``, ``x-shiphero-hmac-sha256`` =
  base64(HMAC-SHA256(raw body, the webhook's ``shared_signature_secret``)) (§11.2), and
  ``X-Shiphero-Message-ID`` (unique per trigger; retries and injected duplicates reuse it by
  default, §14.9). ``Webhook.send_signature = False`` leaves the signature header out (the
  community-reported missing header, §11.2).
* Success: a 2xx answer whose JSON body has ``"code": "200"`` (``{"code": "200", "Status":
  "Success"}``; ``settings.webhook_success = "status"`` accepts any 2xx) within
  ``settings.webhook_timeout_seconds`` (10 s). Otherwise up to ``settings.webhook_retries`` (5)
  more attempts, ``settings.webhook_retry_delay_seconds`` apart.
* Health (§11.2, 2026): consecutive failed triggers move a webhook to ``WARNING`` and then to
  ``UNHEALTHY``, which disables it; one success makes it ``HEALTHY`` again.
* Delivery faults: ``{"action": "drop" | "duplicate" | "bad_signature" | "delay",
  "webhook_type": "*", "count": 1 | null, "probability": 1.0, "delay_ms": 500}`` – drop
  (never sent; with ``probability`` p and ``count`` null: a seeded fraction p of deliveries),
  deliver twice, sign with a wrong key, or hold back so later deliveries overtake it
  (out-of-order delivery, §13 #15).
* Only ``http://`` loopback URLs are ever contacted (checked at registration and again here).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import http.client
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dropstream.sandbox.shiphero.clock import fmt_time
from dropstream.sandbox.shiphero.errors import ControlError
from dropstream.sandbox.shiphero.model import Webhook
from dropstream.sandbox.shiphero.net import loopback_url_problem
from dropstream.sandbox.shiphero.state import WEBHOOK_TYPES, Event, SimState

log = logging.getLogger("dropstream.sandbox.shiphero.webhooks")

SIGNATURE_HEADER = "x-shiphero-hmac-sha256"
MESSAGE_ID_HEADER = "X-Shiphero-Message-ID"
FAULT_ACTIONS = ("drop", "duplicate", "bad_signature", "delay")
RECENT = 500


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(body, secret)), the ``x-shiphero-hmac-sha256`` value."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class DeliveryFault:
    action: str
    webhook_type: str
    remaining: int | None
    probability: float
    delay_ms: int = 500
    fired: int = 0

    @classmethod
    def parse(cls, raw: Any) -> DeliveryFault:
        if not isinstance(raw, dict):
            raise ControlError("each webhook fault must be an object")
        unknown = set(raw) - {"action", "webhook_type", "count", "probability", "delay_ms"}
        if unknown:
            raise ControlError(f"unknown webhook fault key(s): {', '.join(sorted(unknown))}")
        action = raw.get("action")
        webhook_type = raw.get("webhook_type", "*")
        count = raw.get("count", 1)
        probability = raw.get("probability", 1.0)
        if action not in FAULT_ACTIONS:
            raise ControlError(f"action must be one of {', '.join(FAULT_ACTIONS)}")
        if webhook_type != "*" and webhook_type not in WEBHOOK_TYPES:
            raise ControlError("webhook_type must be '*' or a webhook type name")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ControlError("count must be a positive integer or null (forever)")
        if not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise ControlError("probability must be between 0 and 1")
        delay_ms = raw.get("delay_ms", 500)
        if not isinstance(delay_ms, int | float) or isinstance(delay_ms, bool) or delay_ms < 0:
            raise ControlError("delay_ms must be a non-negative number")
        return cls(action, webhook_type, count, float(probability), int(delay_ms))

    def describe(self) -> dict[str, Any]:
        return {"action": self.action, "webhook_type": self.webhook_type,
                "count": self.remaining, "probability": self.probability,
                "delay_ms": self.delay_ms, "fired": self.fired}


@dataclass
class Delivery:
    """One trigger for one webhook, with its attempts."""

    number: int
    webhook: Webhook
    webhook_type: str
    body: bytes
    message_id: str
    fault: str | None = None
    copy: int = 1
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "pending"  # pending, delivered, failed, dropped

    def describe(self) -> dict[str, Any]:
        return {"number": self.number, "webhook_type": self.webhook_type,
                "webhook_id": self.webhook.id, "url": self.webhook.url,
                "message_id": self.message_id, "fault": self.fault, "copy": self.copy,
                "outcome": self.outcome, "attempts": [dict(a) for a in self.attempts],
                "body": json.loads(self.body)}


class WebhookDispatcher:
    """Queues deliveries for events and sends them from a background thread."""

    def __init__(self, state: SimState, seed: int) -> None:
        self.state = state
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = 0
        self._in_flight = 0
        self._faults: list[DeliveryFault] = []
        self._rng = random.Random(f"shiphero-webhooks:{seed}")
        self._log: list[Delivery] = []
        self._stopping = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="shiphero-sim-webhooks",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.state.settings.webhook_timeout_seconds + 2)
            self._thread = None

    # ------------------------------------------------------------------ faults

    def add_faults(self, raw: Any) -> int:
        rules = [DeliveryFault.parse(r) for r in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._faults.extend(rules)
            return len(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._faults]

    def _pick_fault(self, webhook_type: str) -> DeliveryFault | None:
        for rule in self._faults:
            if rule.webhook_type not in ("*", webhook_type):
                continue
            if rule.probability < 1 and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._faults.remove(rule)
            return rule
        return None

    # ------------------------------------------------------------------ queueing

    def submit(self, event: Event) -> int:
        """Queue the event's payloads for every matching webhook; returns deliveries made."""
        hooks = self.state.webhooks_for(event)
        made = 0
        for hook in hooks:
            for payload in event.payloads:
                body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
                made += self._queue(hook, event.webhook_type, body)
        return made

    def _queue(self, hook: Webhook, webhook_type: str, body: bytes) -> int:
        settings = self.state.settings
        with self._lock:
            self._seq += 1
            delivery = Delivery(self._seq, hook, webhook_type, body,
                                self.state.ids.message_id())
            rule = self._pick_fault(webhook_type)
            delivery.fault = rule.action if rule else None
            self._log.append(delivery)
            del self._log[:-RECENT]
            if delivery.fault == "drop":
                delivery.outcome = "dropped"
                return 1
            self._push(delivery, rule.delay_ms / 1000 if rule and rule.action == "delay" else 0)
            if delivery.fault == "duplicate":
                self._seq += 1
                message_id = (delivery.message_id if settings.webhook_duplicate_same_message_id
                              else self.state.ids.message_id())
                twin = Delivery(self._seq, hook, webhook_type, body, message_id,
                                fault="duplicate", copy=2)
                self._log.append(twin)
                self._push(twin, 0.0)
                return 2
            return 1

    def _push(self, delivery: Delivery, delay: float) -> None:
        """Call with the lock held."""
        self._in_flight += 1
        heapq.heappush(self._heap, (time.monotonic() + delay, delivery.number, delivery))
        self._lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued delivery finished (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d.describe() for d in self._log]

    def clear_log(self) -> None:
        with self._lock:
            self._log = [d for d in self._log if d.outcome == "pending"]

    # ------------------------------------------------------------------ sending

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and (
                        not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._lock.wait(wait)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._heap)
            retry = self._attempt(delivery)
            with self._lock:
                if retry:
                    if not self.state.settings.webhook_retry_same_message_id:
                        delivery.message_id = self.state.ids.message_id()
                    self._push(delivery, self.state.settings.webhook_retry_delay_seconds)
                self._in_flight -= 1
                self._lock.notify_all()

    def _attempt(self, delivery: Delivery) -> bool:
        """One POST; returns True when another attempt should follow."""
        settings = self.state.settings
        hook = delivery.webhook
        status, error = self._post(delivery)
        ok = status is not None and error is None
        delivery.attempts.append({"at": fmt_time(self.state.clock.now()), "status": status,
                                  "ok": ok, "error": error})
        if ok:
            delivery.outcome = "delivered"
            self._health(hook, success=True)
            return False
        if len(delivery.attempts) <= settings.webhook_retries:
            return True
        delivery.outcome = "failed"
        log.info("webhook %s delivery %s failed after %d attempts", delivery.webhook_type,
                 delivery.message_id, len(delivery.attempts))
        self._health(hook, success=False)
        return False

    def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        settings = self.state.settings
        hook = delivery.webhook
        problem = loopback_url_problem(hook.url)
        if problem:
            return None, problem
        parts = urlsplit(hook.url)
        headers = {"Content-Type": "application/json", "User-Agent": "ShipHero-Webhook-Sandbox",
                   MESSAGE_ID_HEADER: delivery.message_id}
        if hook.send_signature:
            secret = hook.shared_signature_secret
            if delivery.fault == "bad_signature":
                secret = secret + "-wrong"
            headers[SIGNATURE_HEADER] = sign(delivery.body, secret)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                                timeout=settings.webhook_timeout_seconds)
        try:
            connection.request("POST", path, body=delivery.body, headers=headers)
            response = connection.getresponse()
            answer = response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            return None, type(exc).__name__
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            return response.status, f"HTTP {response.status}"
        if settings.webhook_success == "strict" and not _acknowledged(answer):
            return response.status, 'the answer is not {"code": "200", ...} JSON'
        return response.status, None

    def _health(self, hook: Webhook, *, success: bool) -> None:
        settings = self.state.settings
        with self.state.lock:
            if success:
                hook.consecutive_failures = 0
                hook.health = "HEALTHY"
                return
            hook.consecutive_failures += 1
            if hook.consecutive_failures >= settings.webhook_unhealthy_after:
                hook.health, hook.enabled = "UNHEALTHY", False
            elif hook.consecutive_failures >= settings.webhook_warning_after:
                hook.health = "WARNING"


def _acknowledged(answer: bytes) -> bool:
    try:
        body = json.loads(answer)
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("code")) == "200"

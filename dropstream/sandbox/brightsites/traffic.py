"""Per-store request meter, fault rules and hooks (specs/brightsites-api.md §11, §12 #24–#25)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from dropstream.sandbox.brightsites.store import ControlError

FAULT_ACTIONS = ("status", "timeout", "malformed", "lose_response", "latency")
# Whether the request is performed before the fault answers, per action (overridable).
_AFTER_WRITE_DEFAULT = {"status": False, "timeout": True, "malformed": True,
                        "lose_response": True, "latency": False}
_UNSET = object()


def mask_token(token: str | None) -> str:
    """``"••••abcd"``: the last four characters only, never the token."""
    if not token:
        return "(none)"
    return "••••" + (token[-4:] if len(token) >= 8 else "")


class Meter:
    """Counts every API request that reaches a store, faulted and refused ones included."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_endpoint: dict[str, int] = {}
            self.by_token: dict[str, int] = {}
            self.by_month: dict[str, int] = {}
            self.by_status: dict[str, int] = {}

    def count(self, template: str, token: str | None, month: str) -> None:
        with self._lock:
            self.total += 1
            self.by_endpoint[template] = self.by_endpoint.get(template, 0) + 1
            masked = mask_token(token)
            self.by_token[masked] = self.by_token.get(masked, 0) + 1
            self.by_month[month] = self.by_month.get(month, 0) + 1

    def result(self, status: int | None) -> None:
        """Record how a counted request ended (``None``: no answer was sent)."""
        key = str(status) if status is not None else "no_response"
        with self._lock:
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self.total, "by_endpoint": dict(self.by_endpoint),
                    "by_token": dict(self.by_token), "by_month": dict(self.by_month),
                    "by_status": dict(self.by_status)}


@dataclass
class FaultRule:
    """One injected fault; ``remaining`` None means forever."""

    endpoint: str
    action: str
    status: int
    retry_after: Any
    delay_ms: int
    remaining: int | None
    probability: float
    order_id: int | None
    after_write: bool
    fired: int = 0

    @classmethod
    def parse(cls, raw: Any) -> FaultRule:
        """Build a rule from its control-API JSON. Raises ControlError."""
        if not isinstance(raw, dict):
            raise ControlError("each fault must be an object")
        action = raw.get("action", "status")
        if action not in FAULT_ACTIONS:
            raise ControlError(f"action must be one of {', '.join(FAULT_ACTIONS)}")
        endpoint = raw.get("endpoint", "*")
        if not isinstance(endpoint, str) or not (endpoint == "*" or " /" in endpoint):
            raise ControlError("endpoint must be '*' or a template such as 'GET /orders/:id'")
        status = raw.get("status", 500)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ControlError("status must be an HTTP status code")
        retry_after = raw.get("retry_after", _UNSET)
        if retry_after is _UNSET:
            retry_after = 1 if status == 429 else None
        if retry_after is not None and not isinstance(retry_after, int | float | str):
            raise ControlError("retry_after must be a number of seconds or an HTTP date")
        default_delay = 35_000 if action == "timeout" else 200
        delay_ms = raw.get("delay_ms", default_delay)
        count = raw.get("count")  # absent or null: forever
        probability = raw.get("probability", 1.0)
        order_id = raw.get("order_id")
        after_write = raw.get("after_write", _AFTER_WRITE_DEFAULT[action])
        if not isinstance(delay_ms, int | float) or delay_ms < 0:
            raise ControlError("delay_ms must be a non-negative number")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ControlError("count must be a positive integer or null (forever)")
        if not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise ControlError("probability must be between 0 and 1")
        if order_id is not None and not isinstance(order_id, int):
            raise ControlError("order_id must be an integer")
        if not isinstance(after_write, bool):
            raise ControlError("after_write must be true or false")
        return cls(endpoint=endpoint, action=action, status=status, retry_after=retry_after,
                   delay_ms=int(delay_ms), remaining=count, probability=float(probability),
                   order_id=order_id, after_write=after_write)

    def describe(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "action": self.action, "status": self.status,
                "retry_after": self.retry_after, "delay_ms": self.delay_ms,
                "count": self.remaining, "probability": self.probability,
                "order_id": self.order_id, "after_write": self.after_write,
                "fired": self.fired}


class FaultBook:
    """The store's fault rules, matched in the order they were added."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(f"faults:{seed}")

    def add(self, raw: Any) -> int:
        rules = [FaultRule.parse(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._rules.extend(rules)
            return len(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, template: str, order_id: int | None) -> FaultRule | None:
        """The first rule that matches and fires now (its count is used up)."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint not in ("*", template):
                    continue
                if rule.order_id is not None and rule.order_id != order_id:
                    continue
                if rule.probability < 1 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]


@dataclass
class Hook:
    """After the ``nth`` request matching ``after`` is handled, run the actions once."""

    after: str
    nth: int
    create_orders: dict[str, Any] | None
    update_order: dict[str, Any] | None
    seen: int = 0

    @classmethod
    def parse(cls, raw: Any) -> Hook:
        if not isinstance(raw, dict):
            raise ControlError("a hook must be an object")
        after, nth = raw.get("after"), raw.get("nth", 1)
        if not isinstance(after, str) or not (after == "*" or " /" in after):
            raise ControlError("after must be '*' or a template such as 'GET /orders'")
        if not isinstance(nth, int) or nth < 1:
            raise ControlError("nth must be a positive integer")
        create, update = raw.get("create_orders"), raw.get("update_order")
        if create is None and update is None:
            raise ControlError("a hook needs create_orders or update_order")
        if create is not None and not isinstance(create, dict):
            raise ControlError("create_orders must be an object like {'count': 1}")
        if update is not None and not (isinstance(update, dict)
                                       and isinstance(update.get("order_id"), int)):
            raise ControlError("update_order must be an object with an integer order_id")
        return cls(after=after, nth=nth, create_orders=create, update_order=update)


class HookBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: list[Hook] = []
        self.fired: list[dict[str, Any]] = []

    def add(self, raw: Any) -> int:
        hooks = [Hook.parse(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._hooks.extend(hooks)
            return len(self._hooks)

    def clear(self) -> None:
        with self._lock:
            self._hooks.clear()

    def observe(self, template: str) -> list[Hook]:
        """Count one handled request; return the hooks that fire now (and drop them)."""
        with self._lock:
            due = []
            for hook in list(self._hooks):
                if hook.after in ("*", template):
                    hook.seen += 1
                    if hook.seen == hook.nth:
                        due.append(hook)
                        self._hooks.remove(hook)
            return due

    def pending(self) -> int:
        with self._lock:
            return len(self._hooks)

"""Fault book, request meter, request log and the optional rate budget (§8, §11 #7, #18–#20).

Fault actions (rules match ``"*"`` or an endpoint template such as ``"POST /orders"`` or
``"POST /orders/:id/canceler"``, first match wins, ``count`` null = forever):

* ``status``        – answer ``status`` instead (5xx plain text per §7; 429 with ``Retry-After``
  per §8). ``after_write: true`` performs the request first ("commit then 502", §11 #7).
* ``lose_response`` – perform the request, then close the connection without answering
  (§11 #7; ``after_write: false`` drops it unperformed).
* ``latency``       – wait ``delay_ms``, then answer normally.
* ``expire_token``  – revoke the presented bearer token and answer 401 (mid-run expiry, §11 #2).

The meter (§11 #19: Extensiv meters data usage) counts requests and response bytes per
endpoint, method, status and credential (client id; never a secret or token).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

FAULT_ACTIONS = ("status", "lose_response", "latency", "expire_token")


@dataclass
class FaultRule:
    endpoint: str = "*"
    action: str = "status"
    status: int = 500
    retry_after: int | None = None
    delay_ms: int = 200
    count: int | None = 1
    after_write: bool = False
    probability: float = 1.0
    fired: int = 0

    @classmethod
    def parse(cls, raw: Any) -> FaultRule:
        """Build a rule from its JSON/keyword form. Raises ValueError."""
        if not isinstance(raw, dict):
            raise ValueError("a fault must be an object")
        unknown = set(raw) - {"endpoint", "action", "status", "retry_after", "delay_ms",
                              "count", "after_write", "probability"}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        action = raw.get("action", "status")
        if action not in FAULT_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(FAULT_ACTIONS)}")
        endpoint = raw.get("endpoint", "*")
        if not isinstance(endpoint, str) or not (endpoint == "*" or " /" in endpoint):
            raise ValueError("endpoint must be '*' or a template like 'POST /orders/:id'")
        status = raw.get("status", 500)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        retry_after = raw.get("retry_after", 1 if status == 429 else None)
        count = raw.get("count", 1)
        delay_ms = raw.get("delay_ms", 200)
        probability = raw.get("probability", 1.0)
        after_write = raw.get("after_write", action == "lose_response")
        if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
            raise ValueError("retry_after must be a non-negative number of seconds")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or null (forever)")
        if not isinstance(delay_ms, int) or delay_ms < 0:
            raise ValueError("delay_ms must be a non-negative integer")
        if not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        if not isinstance(after_write, bool):
            raise ValueError("after_write must be true or false")
        return cls(endpoint, action, status, retry_after, delay_ms, count, after_write,
                   float(probability))

    def describe(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """Rules matched in the order they were added; a rule with a count is used up."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(f"faults:{seed}")

    def add(self, raw: Any) -> int:
        """Add one rule or a list; returns how many rules are pending. Raises ValueError."""
        rules = [FaultRule.parse(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._rules.extend(rules)
            return len(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, template: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.endpoint not in ("*", template):
                    continue
                if rule.probability < 1 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self._rules.remove(rule)
                return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]


class Meter:
    """Counts every API request (control requests are not metered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._bytes = 0
            self._endpoint: dict[str, int] = {}
            self._method: dict[str, int] = {}
            self._status: dict[str, int] = {}
            self._endpoint_status: dict[str, dict[str, int]] = {}
            self._client: dict[str, dict[str, int]] = {}

    def record(self, template: str, status: int | None, response_bytes: int,
               client_id: str | None) -> None:
        """One finished request; ``status`` None: no answer was sent."""
        key = str(status) if status is not None else "no_response"
        method = template.split(" ", 1)[0]
        client = client_id or "(anonymous)"
        with self._lock:
            self._total += 1
            self._bytes += response_bytes
            self._endpoint[template] = self._endpoint.get(template, 0) + 1
            self._method[method] = self._method.get(method, 0) + 1
            self._status[key] = self._status.get(key, 0) + 1
            per = self._endpoint_status.setdefault(template, {})
            per[key] = per.get(key, 0) + 1
            usage = self._client.setdefault(client, {"requests": 0, "response_bytes": 0})
            usage["requests"] += 1
            usage["response_bytes"] += response_bytes

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._total, "response_bytes": self._bytes,
                    "by_endpoint": dict(self._endpoint), "by_method": dict(self._method),
                    "by_status": dict(self._status),
                    "by_endpoint_status": {k: dict(v) for k, v in self._endpoint_status.items()},
                    "by_client": {k: dict(v) for k, v in self._client.items()}}

    def count(self, endpoint: str, status: int | None = None) -> int:
        """Requests to ``endpoint`` (any status, or one status)."""
        with self._lock:
            if status is None:
                return self._endpoint.get(endpoint, 0)
            return self._endpoint_status.get(endpoint, {}).get(str(status), 0)


class RequestLog:
    """The last ``size`` API requests: method, path, template, status, client id, fault."""

    def __init__(self, size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RateBudget:
    """Optional requests per credential per clock minute (§8: none documented; off by default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: dict[str, tuple[datetime, int]] = {}

    def allow(self, client_id: str, now: datetime, limit: int) -> bool:
        if limit <= 0:
            return True
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            start, used = self._window.get(client_id, (minute, 0))
            if start != minute:
                start, used = minute, 0
            if used >= limit:
                return False
            self._window[client_id] = (start, used + 1)
            return True

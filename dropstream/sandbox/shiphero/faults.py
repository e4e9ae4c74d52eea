"""Injected faults on the API endpoints (spec §13 #7 and #17).

A rule: ``{"operation": "order_create" | "<operationName>" | "auth/refresh" | "*",
"action": "lose_answer" | "status" | "latency", "status": 502, "after_commit": true,
"delay_ms": 200, "count": 1 | null (forever), "probability": 1.0}``.

* ``lose_answer``: the request is carried out (the mutation commits), then the connection is
  closed without a response (``after_commit: false``: closed before anything runs).
* ``status``: answer that HTTP status with a gateway-style HTML page; ``after_commit`` (default
  false) says whether the request is carried out first (§13 #7: "execute then return 502").
* ``latency``: wait ``delay_ms`` of real time, then answer normally.

Rules match in the order added; ``probability`` draws come from a seeded generator.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from dropstream.sandbox.shiphero.errors import ControlError

ACTIONS = ("lose_answer", "status", "latency")


@dataclass
class FaultRule:
    operation: str
    action: str
    status: int
    after_commit: bool
    delay_ms: int
    remaining: int | None
    probability: float
    fired: int = 0

    @classmethod
    def parse(cls, raw: Any) -> FaultRule:
        """Raises ControlError."""
        if not isinstance(raw, dict):
            raise ControlError("each fault must be an object")
        unknown = set(raw) - {"operation", "action", "status", "after_commit", "delay_ms",
                              "count", "probability"}
        if unknown:
            raise ControlError(f"unknown fault key(s): {', '.join(sorted(unknown))}")
        action = raw.get("action", "status")
        if action not in ACTIONS:
            raise ControlError(f"action must be one of {', '.join(ACTIONS)}")
        operation = raw.get("operation", "*")
        status = raw.get("status", 502)
        after_commit = raw.get("after_commit", action == "lose_answer")
        delay_ms = raw.get("delay_ms", 200)
        count = raw.get("count", 1)
        probability = raw.get("probability", 1.0)
        if not isinstance(operation, str) or not operation:
            raise ControlError("operation must be a root field name, an operation name or '*'")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ControlError("status must be an HTTP error status (400-599)")
        if not isinstance(after_commit, bool):
            raise ControlError("after_commit must be true or false")
        if not isinstance(delay_ms, int | float) or delay_ms < 0:
            raise ControlError("delay_ms must be a non-negative number")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ControlError("count must be a positive integer or null (forever)")
        if not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise ControlError("probability must be between 0 and 1")
        return cls(operation, action, status, after_commit, int(delay_ms), count,
                   float(probability))

    def describe(self) -> dict[str, Any]:
        return {"operation": self.operation, "action": self.action, "status": self.status,
                "after_commit": self.after_commit, "delay_ms": self.delay_ms,
                "count": self.remaining, "probability": self.probability, "fired": self.fired}


class FaultBook:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(f"shiphero-faults:{seed}")

    def add(self, raw: Any) -> int:
        rules = [FaultRule.parse(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._rules.extend(rules)
            return len(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, names: set[str]) -> FaultRule | None:
        """The first rule matching one of ``names`` that fires now (its count is used)."""
        with self._lock:
            for rule in self._rules:
                if rule.operation != "*" and rule.operation not in names:
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

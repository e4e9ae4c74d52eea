"""The request meter and the credit meter (spec §13 #18: a request log with the complexity
charged). Keys are operation names: the root field names of the request joined by ``+``
(``order_create``, ``orders``, ``shipments+user_quota``), or ``auth/refresh``/``auth/token``;
the client's own ``operationName`` is counted separately. No token is ever recorded.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

RECENT = 200


class Meter:
    """Counts every request that reaches the API, faulted and refused ones included."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_operation: dict[str, int] = {}
            self.by_operation_name: dict[str, int] = {}
            self.by_status: dict[str, int] = {}
            self.by_outcome: dict[str, int] = {}
            self.credits_charged = 0
            self.credits_by_operation: dict[str, int] = {}
            self.throttled_by_operation: dict[str, int] = {}
            self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)

    def count(self, operation: str, operation_name: str | None) -> None:
        with self._lock:
            self.total += 1
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            if operation_name:
                self.by_operation_name[operation_name] = self.by_operation_name.get(
                    operation_name, 0) + 1

    def finish(self, entry: dict[str, Any]) -> None:
        """Record how a counted request ended: status (None: no answer), outcome, credits."""
        status = entry.get("status")
        key = str(status) if status is not None else "no_response"
        outcome = str(entry.get("outcome", "ok"))
        operation = str(entry.get("operation", "?"))
        charged = int(entry.get("charged", 0))
        with self._lock:
            self.by_status[key] = self.by_status.get(key, 0) + 1
            self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1
            if charged:
                self.credits_charged += charged
                self.credits_by_operation[operation] = self.credits_by_operation.get(
                    operation, 0) + charged
            if outcome == "throttled":
                self.throttled_by_operation[operation] = self.throttled_by_operation.get(
                    operation, 0) + 1
            self.recent.append(dict(entry))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": {"total": self.total, "by_operation": dict(self.by_operation),
                                 "by_operation_name": dict(self.by_operation_name),
                                 "by_status": dict(self.by_status),
                                 "by_outcome": dict(self.by_outcome)},
                    "credits": {"charged": self.credits_charged,
                                "by_operation": dict(self.credits_by_operation),
                                "throttled_by_operation": dict(self.throttled_by_operation)},
                    "recent": list(self.recent)}

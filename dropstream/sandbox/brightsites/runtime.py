"""A store plus its traffic machinery, and the Push Orders emitter (specs §10).

Push Orders (assumption §10): ``POST`` to the configured URL, ``Content-Type: application/json``,
body = the show-order JSON, bare (or ``{"order": …}`` when ``wrap``), no signature, no retries;
a failed push is recorded and a failure e-mail event is stored, as the add-on e-mails failures.

Push faults (not Bright Sites; for chaos tests): each push may be *lost* (never sent, recorded
with ``error: "lost (injected)"`` and no e-mail, as a delivery dropped on the way goes unnoticed
by the store) or *duplicated* (sent twice, both recorded), each with its own seeded probability.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dropstream.sandbox.brightsites.orders import Order
from dropstream.sandbox.brightsites.store import ControlError, Store
from dropstream.sandbox.brightsites.traffic import FaultBook, HookBook, Meter
from dropstream.sandbox.brightsites.wire import fmt_ts

PUSH_TIMEOUT_SECONDS = 5.0


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the sandbox never talks to anything else."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class PushTarget:
    url: str
    wrap: bool = False


@dataclass
class PushFaults:
    """Chances that a push is lost or sent twice; drawn from a seeded generator."""

    lose: float = 0.0
    duplicate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random("push-faults"))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, lose: Any = 0.0, duplicate: Any = 0.0, seed: Any = None) -> None:
        """Raises ControlError unless both chances are numbers from 0 to 1."""
        for name, value in (("lose", lose), ("duplicate", duplicate)):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not 0 <= value <= 1:
                raise ControlError(f"{name} must be a number from 0 to 1")
        with self.lock:
            self.lose, self.duplicate = float(lose), float(duplicate)
            if seed is not None:
                self.rng.seed(f"push-faults:{seed}")

    def copies(self) -> int:
        """How many times to send the next push: 0 (lost), 1, or 2 (duplicated)."""
        with self.lock:
            lost = self.rng.random() < self.lose
            doubled = self.rng.random() < self.duplicate
        return 0 if lost else 2 if doubled else 1

    def describe(self) -> dict[str, float]:
        with self.lock:
            return {"lose": self.lose, "duplicate": self.duplicate}


@dataclass
class StoreRuntime:
    """One store and what surrounds it: meter, faults, hooks, push target and push results."""

    store: Store
    meter: Meter
    faults: FaultBook
    hooks: HookBook
    push: PushTarget | None = None
    push_faults: PushFaults = field(default_factory=PushFaults)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    deliveries_lock: threading.Lock = field(default_factory=threading.Lock)

    def set_push(self, url: Any, wrap: Any = False) -> None:
        """Raises ControlError unless ``url`` is an http URL on loopback."""
        if not isinstance(url, str):
            raise ControlError("url must be a string")
        parts = urlsplit(url)
        if parts.scheme != "http" or not is_loopback_host(parts.hostname):
            raise ControlError("push url must be http:// on a loopback address")
        if not isinstance(wrap, bool):
            raise ControlError("wrap must be true or false")
        self.push = PushTarget(url, wrap)

    def record(self, delivery: dict[str, Any]) -> None:
        with self.deliveries_lock:
            self.deliveries.append(delivery)

    def push_summary(self) -> dict[str, Any]:
        with self.deliveries_lock:
            results: dict[str, int] = {}
            for delivery in self.deliveries:
                key = str(delivery["status"]) if delivery["status"] else "error"
                results[key] = results.get(key, 0) + 1
            return {"configured": self.push is not None,
                    "wrap": bool(self.push and self.push.wrap),
                    "faults": self.push_faults.describe(),
                    "deliveries": len(self.deliveries), "by_result": results,
                    "recent": [dict(d) for d in self.deliveries[-50:]]}


class PushEmitter:
    """Posts queued orders from one background thread."""

    def __init__(self, timeout: float = PUSH_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._queue: queue.Queue[tuple[StoreRuntime, int, bytes, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._in_flight = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bs-sandbox-push",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None

    def enqueue(self, runtime: StoreRuntime, order: Order, *, force: bool = False) -> bool:
        """Queue a push of ``order`` (a snapshot taken now). False when no target is set."""
        target = runtime.push
        if target is None:
            return False
        body = runtime.store.show_order_json(order.id)
        payload = {"order": body} if target.wrap else body
        data = json.dumps(payload, ensure_ascii=False).encode()
        with self._idle:
            self._in_flight += 1
        self._queue.put((runtime, order.id, data, target.url))
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued push was attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            runtime, order_id, data, url = item
            try:
                copies = runtime.push_faults.copies()
                if copies == 0:
                    runtime.record({"order_id": order_id, "status": None, "ok": False,
                                    "error": "lost (injected)",
                                    "at": fmt_ts(runtime.store.clock.now()), "duration_ms": 0})
                for _ in range(copies):
                    self._deliver(runtime, order_id, data, url)
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def _deliver(self, runtime: StoreRuntime, order_id: int, data: bytes, url: str) -> None:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                                timeout=self.timeout)
        try:
            connection.request("POST", path, body=data, headers={
                "Content-Type": "application/json", "User-Agent": "BrightSites Push Orders"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
        finally:
            connection.close()
        ok = status is not None and 200 <= status < 300
        runtime.record({"order_id": order_id, "status": status, "ok": ok, "error": error,
                        "at": fmt_ts(runtime.store.clock.now()),
                        "duration_ms": round((time.monotonic() - started) * 1000)})
        if not ok:
            with runtime.store.lock:
                runtime.store.emails.append({
                    "kind": "push_failure", "order_id": order_id,
                    "to": "failures@store.example", "at": fmt_ts(runtime.store.clock.now()),
                    "status": status, "error": error})

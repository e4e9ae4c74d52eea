"""Every "(assumption)" of the spec as a simulator setting, so tests can pick either world.

Defaults follow the bracketed defaults of §12 and the "Default" notes of §11. Change them in
Python (``sandbox.settings.update(duplicate_reference="allow")``) or over the control API
(``PUT /_sandbox/settings``).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

# Allowed values of the string-valued settings.
CHOICES: dict[str, tuple[str, ...]] = {
    "duplicate_reference": ("reject", "allow"),            # §5.9, §11 #6
    "duplicate_scope": ("customer", "tenant"),             # §12 #1
    "auth_error_style": ("rfc6749", "aspnet"),            # §2.3, §12 #2
    "unauthorized_body": ("empty", "json"),                # §7, §12 #2
    "date_frame": ("facility", "utc"),                     # §3, §11 #10, §12 #3
    "rql_customer_paths": ("both", "top", "readonly"),     # §5.5, §12 #4
    "cancel_in_pick_code": ("InUse", "OrderConfirmed"),    # §11 #15, §12 #5
    "process_date_on": ("create", "close"),                # §5.6, §12 #6
    "short_line": ("reduce", "remove"),                    # §5.7 partial shipments
}


@dataclass
class SettingValues:
    """The values; see ``Settings`` for locking and validation."""

    # §5.9 / §11 #6: a second order with the same referenceNum is refused (400 Duplicate) or
    # created; uniqueness per customer or per tenant; whether canceled orders count (§12 #1).
    duplicate_reference: str = "reject"
    duplicate_scope: str = "customer"
    duplicate_counts_canceled: bool = True
    # §11 #2: token lifetime in seconds (expires_in), and the token endpoint's error bodies:
    # RFC 6749 {"error": ...} or ASP.NET {"Message": ...}.
    token_lifetime: int = 1800
    auth_error_style: str = "rfc6749"
    # §2.2: form-encoded token bodies are "unverified"; off means 400 invalid_request.
    token_accepts_form: bool = False
    # §7: body of a 401 on an API call: empty or {"Message": "Authorization has been denied…"}.
    unauthorized_body: str = "empty"
    # §3 / §12 #3: unqualified dates are facility-local or UTC; RQL compares in the same frame.
    date_frame: str = "facility"
    # §5.5 / §12 #4: which customer/facility RQL paths /orders accepts.
    rql_customer_paths: str = "both"
    # §4: page size default and maximum per collection; over the max is 400 NotParsable.
    orders_page_default: int = 100
    orders_page_max: int = 1000
    summaries_page_default: int = 100
    summaries_page_max: int = 500
    # §12 #9: emit _links.next on the last page too (default: only while more pages exist).
    next_link_on_last_page: bool = False
    # §12 #5: cancel sets isClosed; the OperationException code when picking has started.
    cancel_sets_closed: bool = False
    cancel_in_pick_code: str = "InUse"
    # §12 #6: processDate set when the API order is Complete (= at create, §5.6) or on close.
    process_date_on: str = "create"
    # §5.7: a line shipped with 0 qty keeps qty 0 ("reduce") or is removed ("remove").
    short_line: str = "reduce"
    # §6.1: allocate stock as soon as an order is created (else: the lifecycle driver does).
    allocate_on_create: bool = False
    # §12 #7: referenceNum maximum length (0 = unlimited); longer → 400 ValueNotSupported.
    reference_max_length: int = 50
    # §8 / §11 #18: optional request budget per credential per clock minute (0 = off), and
    # the Retry-After seconds of the 429 it answers.
    requests_per_minute: int = 0
    rate_limit_retry_after: int = 60


class Settings:
    """Thread-safe settings with type and choice validation."""

    def __init__(self, **overrides: Any) -> None:
        self._lock = threading.Lock()
        self._values = SettingValues()
        if overrides:
            self.update(**overrides)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._values, name)

    def update(self, **changes: Any) -> dict[str, Any]:
        """Validate and apply all changes, or none. Raises ValueError."""
        types = {f.name: f.type for f in fields(SettingValues)}
        for name, value in changes.items():
            if name not in types:
                raise ValueError(f"unknown setting {name!r}")
            _check(name, value, types[name])
        with self._lock:
            for name, value in changes.items():
                setattr(self._values, name, value)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._values)


def _check(name: str, value: Any, kind: Any) -> None:
    if kind in (bool, "bool"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
    elif kind in (int, "int"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
        if name.endswith(("_page_default", "_page_max", "token_lifetime")) and value < 1:
            raise ValueError(f"{name} must be at least 1")
    elif value not in CHOICES[name]:
        raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}")

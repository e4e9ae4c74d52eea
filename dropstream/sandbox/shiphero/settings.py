"""Simulator settings: one per behaviour the spec marks "assumption", "unverified" or where
sources disagree. Defaults follow the spec's bracketed answers in §14.

Change them with ``ShipHeroSandbox.configure(**changes)`` or ``PUT /_sandbox/settings``.
``{"credit_profile": "1001"}`` switches the bucket to the older 1001 / +15 s⁻¹ numbers (§8).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any

from dropstream.sandbox.shiphero.errors import ControlError

CHOICES: dict[str, tuple[Any, ...]] = {
    "auth_error_status": (401, 200),
    "throttle_http_status": (200, 429),
    "request_error_status": (200, 400),
    "charge_mode": ("requested", "returned"),
    "duplicate_orders": ("create", "reject"),
    "unknown_sku": ("reject", "backorder"),
    "cancel_started": ("refuse_unless_force", "refuse", "allow"),
    "partial_shipping": ("respect_allow_partial", "always"),
    "customer_id_forms": ("both", "legacy", "relay"),
    "webhook_success": ("strict", "status"),
    "inventory_update_style": ("current", "legacy"),
}
CREDIT_PROFILES = {"4004": (4004, 60, 4004), "1001": (1001, 15, 1001)}


@dataclass
class Settings:
    """Every field is a behaviour the spec leaves open; the comment names the spec section."""

    # §2.1/§13 #2: access-token lifetime (28 days); §14.2: expired/invalid token → HTTP 401
    # with a JSON errors body, or 200 with the same body as a GraphQL error.
    access_token_ttl_seconds: int = 2_419_200
    auth_error_status: int = 401
    # §2.2: whether /auth/refresh also returns a (the same, static) refresh token: not seen.
    refresh_returns_refresh_token: bool = False
    # §8/§14.3: bucket size, restore rate, per-operation maximum (sources disagree).
    credits_max: int = 4004
    credits_restore_per_second: float = 60.0
    credits_max_per_operation: int = 4004
    # §8/§14.4: HTTP status of a throttled answer; code of the "over the maximum" error.
    throttle_http_status: int = 200
    over_max_error_code: int = 30
    # §8: optional hard cap of requests per rolling window (third-party: 7000 / 5 min).
    request_cap: int | None = None
    request_cap_window_seconds: int = 300
    # §8: "credits are charged only for the data actually returned" (unverified) → "returned";
    # "requested" charges the complexity computed from the query before running it.
    charge_mode: str = "requested"
    # §4.2 example shows complexity 10 for order_create: a fixed cost per mutation.
    mutation_cost: int = 10
    mutation_costs: dict[str, int] = field(default_factory=dict)
    # §7/§14.5: page size when first/last are absent, and the maximum first/last.
    default_page_size: int = 100
    max_first: int = 100
    # Not ShipHero: put {cost, credits_remaining, ...} under the answer's "extensions".
    report_quota_extensions: bool = True
    # §9: HTTP status of requests that fail before execution (parse/validation errors).
    request_error_status: int = 200
    # §4.3/§14.1: a second order_create with the same partner_order_id/order_number.
    duplicate_orders: str = "create"
    # §13 #5: unknown SKU on a line: reject the order, or accept the line backordered.
    unknown_sku: str = "reject"
    # §13 #5: US addresses are validated; a failure puts an address hold on the order.
    address_validation: bool = True
    # §13 #9: status of an order with some but not all units shipped.
    partial_fulfillment_status: str = "partially_fulfilled"
    # §5.1: spelling written on cancel ("canceled"; filters accept both spellings).
    canceled_status: str = "canceled"
    # §13 #13/§14.6: cancel once picking started or something shipped.
    cancel_started: str = "refuse_unless_force"
    # §13 #8: whether the fulfilment driver may ship part of an order with allow_partial false.
    partial_shipping: str = "respect_allow_partial"
    # §3/§14.8: which customer_account_id forms are accepted.
    customer_id_forms: str = "both"
    # §13 #10: date filters include their bounds.
    date_bounds_inclusive: bool = True
    # §11.2: timeout, retries per trigger, pause between attempts (real seconds; unknown
    # upstream), message id reused by retries (§14.9) and by injected duplicates.
    webhook_timeout_seconds: float = 10.0
    webhook_retries: int = 5
    webhook_retry_delay_seconds: float = 1.0
    webhook_retry_same_message_id: bool = True
    webhook_duplicate_same_message_id: bool = True
    # §11.2: success = 2xx with {"code": "200", ...} JSON ("strict") or any 2xx ("status").
    webhook_success: str = "strict"
    # §11.2 health: consecutive failed triggers before WARNING, and before UNHEALTHY (disabled).
    webhook_warning_after: int = 3
    webhook_unhealthy_after: int = 6
    # Assumption: a webhook registered with a shop_name fires only for that shop's orders.
    webhook_shop_filter: bool = True
    # §13 #16: Shipment Update: one delivery per package (label), or one per shipment.
    shipment_update_per_package: bool = True
    # §11.4 (fields unverified): the Order Canceled members sent; None = all of them.
    order_canceled_fields: list[str] | None = None
    # §10.2: "current" sample, or the older one (string account_id, webhook_type per item).
    inventory_update_style: str = "current"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply ``changes``; returns the new settings. Raises ControlError."""
        changes = dict(changes)
        profile = changes.pop("credit_profile", None)
        if profile is not None:
            if str(profile) not in CREDIT_PROFILES:
                raise ControlError("credit_profile must be '4004' or '1001'")
            size, rate, per_op = CREDIT_PROFILES[str(profile)]
            changes.setdefault("credits_max", size)
            changes.setdefault("credits_restore_per_second", rate)
            changes.setdefault("credits_max_per_operation", per_op)
        known = {f.name: f for f in fields(self)}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ControlError(f"unknown setting {name!r}")
            checked[name] = _check(name, value, getattr(self, name))
        with self._lock:
            for name, value in checked.items():
                setattr(self, name, value)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, list) else (
                dict(value) if isinstance(value, dict) else value)
        return out

    def cost_of_mutation(self, name: str) -> int:
        return int(self.mutation_costs.get(name, self.mutation_cost))


def _check(name: str, value: Any, current: Any) -> Any:
    if name in CHOICES:
        if value not in CHOICES[name] or isinstance(value, bool):
            allowed = ", ".join(repr(c) for c in CHOICES[name])
            raise ControlError(f"{name} must be one of {allowed}")
        return value
    if name == "request_cap":
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ControlError("request_cap must be a positive integer or null")
        return value
    if name == "order_canceled_fields":
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            raise ControlError("order_canceled_fields must be a list of names or null")
        return value
    if name == "mutation_costs":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in value.items()):
            raise ControlError("mutation_costs must map mutation names to non-negative ints")
        return dict(value)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ControlError(f"{name} must be true or false")
        return value
    if isinstance(current, int):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ControlError(f"{name} must be a non-negative integer")
        return value
    if isinstance(current, float):
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ControlError(f"{name} must be a non-negative number")
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str) or not value:
            raise ControlError(f"{name} must be a non-empty string")
        return value
    raise ControlError(f"{name} cannot be changed")  # pragma: no cover

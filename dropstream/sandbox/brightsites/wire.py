"""Wire formats of the simulated Bright Sites API: timestamps, money, validation errors, clock.

Everything here follows specs/brightsites-api.md §3 (conventions) and §5 (errors). The sandbox is
written from the spec alone and shares no code with the hub's client.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ORDER_STATUSES = (
    "new", "billed", "paid", "in_progress", "split", "shipped", "completed", "back_ordered",
    "canceled", "moas_pending",
)

# §5.2: rule texts that follow the colon in a shape-A message.
RULE_NUMBER = "Must be a number"
RULE_STRING = "Must be a String"
RULE_HASH = "Must be a Hash"
RULE_ARRAY_OF_HASHES = "Must be an Array of Hashes"
RULE_BOOLEAN = "Must be one of: true, false, 1, 0"
RULE_REQUIRED = "is missing"
RULE_ORDER_DATE = 'Invalid date format. Valid format: “YYYY-MM-DD hh:mm:ss” or “YYYY-MM-DD”'
RULE_SHIP_DATE = 'Invalid date format. Valid format: “YYYY-MM-DD”'
RULE_STATUS = "status must be one of " + ", ".join(ORDER_STATUSES)

_CENT = Decimal("0.01")


class ApiError(Exception):
    """An HTTP error answer: ``status`` and the JSON ``body`` to send."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class ShapeA:
    """Collects shape-A validation errors (§5.1): ``{"errors": {field: "message string"}}``."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, name: str, value: Any, rule: str) -> None:
        """Record the first violation for ``name``; later ones for the same field are dropped."""
        self.errors.setdefault(name, invalid_parameter(name, value, rule))

    def raise_if_any(self) -> None:
        """Raises ApiError(422) when at least one violation was recorded."""
        if self.errors:
            raise ApiError(422, {"errors": dict(self.errors)})


def invalid_parameter(name: str, value: Any, rule: str) -> str:
    """The observed message pattern: ``Invalid parameter '<name>' value "<value>": <rule>``."""
    if value is None:
        shown = "nil"
    elif isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
    else:
        shown = json.dumps(json.dumps(value, ensure_ascii=False, separators=(",", ":")),
                           ensure_ascii=False)
    return f"Invalid parameter '{name}' value {shown}: {rule}"


def shape_b(field: str, message: str) -> ApiError:
    """A business-rule refusal (§5.1 shape B): the value is an array of strings."""
    return ApiError(422, {"errors": {field: [message]}})


def not_found() -> ApiError:
    """§5.5: unknown order, line item, shipment, product or inventory id."""
    return ApiError(404, {"errors": {"id": ["not found"]}})


# --------------------------------------------------------------------------------------------
# Timestamps (§3: real responses are UTC, whole seconds, ".000Z")
# --------------------------------------------------------------------------------------------


def fmt_ts(moment: datetime) -> str:
    """``2025-05-14T18:36:25.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fmt_date(day: date) -> str:
    return day.strftime("%Y-%m-%d")


_SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")


def parse_filter_time(text: str) -> datetime:
    """Any ISO 8601 date or date-time; no zone means UTC (§3). Raises ValueError."""
    value = text.strip()
    # An unencoded "+00:00" in a query string arrives as " 00:00".
    value = _SPACED_OFFSET.sub(r"+\1", value)
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_ORDER_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
_SHIP_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_order_date(value: Any) -> str | None:
    """``YYYY-MM-DD hh:mm:ss`` or ``YYYY-MM-DD`` (§7.5) → ``YYYY-MM-DD``; None if invalid."""
    if not isinstance(value, str) or not _ORDER_DATE.match(value.strip()):
        return None
    try:
        return fmt_date(date.fromisoformat(value.strip()[:10]))
    except ValueError:
        return None


def parse_ship_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` (§8.3) → the same string; None if invalid."""
    if not isinstance(value, str) or not _SHIP_DATE.match(value.strip()):
        return None
    try:
        return fmt_date(date.fromisoformat(value.strip()))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Money (§3: decimal strings with at least one decimal place and no padding zeros)
# --------------------------------------------------------------------------------------------


def cents(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)


def fmt_money(value: Decimal | int | str) -> str:
    """``Decimal("10") → "10.0"``, ``"113.17"``, ``"-4.0"``, ``"9.5"``."""
    text = format(cents(value), "f")
    if text.endswith("0"):
        text = text[:-1]
    return text


def fmt_display_money(value: Decimal) -> str:
    """Payment ``details.amount``: ``"$82.00"`` or ``"-$82.00"``."""
    amount = cents(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


# --------------------------------------------------------------------------------------------
# Input coercion (§3: booleans are true/false/1/0; ids and quantities are numbers)
# --------------------------------------------------------------------------------------------


def as_bool(value: Any) -> bool | None:
    """true/false/1/0 (also as strings) → bool; anything else → None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def as_int(value: Any) -> int | None:
    """An integer, or a string or float holding one → int; anything else → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,15}", value.strip()):
        return int(value.strip())
    return None


# --------------------------------------------------------------------------------------------
# Clock (§12 #27: seedable, can be frozen or advanced through the control API)
# --------------------------------------------------------------------------------------------


class Clock:
    """Wall-clock UTC time in whole seconds, shifted by an offset, optionally frozen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            moment = self._frozen or (datetime.now(UTC) + self._offset)
        return moment.replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at ``at`` (default: now)."""
        moment = at or self.now()
        with self._lock:
            self._frozen = moment

    def unfreeze(self) -> None:
        """Let time run again from the frozen moment."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
                self._frozen = None

    def describe(self) -> dict[str, Any]:
        return {"now": fmt_ts(self.now()), "frozen": self._frozen is not None,
                "offset_seconds": self._offset.total_seconds()}

"""The simulator's clock and its date-time wire format.

Everything time-dependent in the simulator reads this clock: access-token expiry (spec §2.2,
28 days), the credit bucket's restore rate (§8), ``created_date``/``updated_at`` stamps and the
``date_from``/``updated_from`` filters (§5). Tests freeze it and move it forward by hand.

Wire format (§5.3 examples): ``2026-03-06T16:10:00+00:00`` – UTC, whole seconds, ``+00:00``.
Input (``ISODateTime``): any ISO 8601 date or date-time; no zone means UTC (assumption).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any


class SimClock:
    """UTC wall time shifted by an offset, or frozen at a moment and advanced by hand."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta(0)
        if start is not None:
            start = _aware(start)
            self._offset = start - datetime.now(UTC)
        if frozen:
            self._frozen = start or datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        """Seconds since the epoch on the simulated clock (sub-second precision)."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (staying frozen or running as before)."""
        moment = _aware(moment)
        with self._lock:
            if self._frozen is not None:
                self._frozen = moment
            else:
                self._offset = moment - datetime.now(UTC)

    def freeze(self) -> None:
        with self._lock:
            if self._frozen is None:
                self._frozen = datetime.now(UTC) + self._offset

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
                self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def describe(self) -> dict[str, Any]:
        return {"now": fmt_time(self.now()), "frozen": self.frozen,
                "epoch": round(self.timestamp(), 3)}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def fmt_time(moment: datetime | None) -> str | None:
    """``2026-03-06T16:10:00+00:00`` (§5.3)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(text: str) -> datetime:
    """ISO 8601 date or date-time → aware UTC datetime. Raises ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected an ISO 8601 date-time string")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return _aware(datetime.fromisoformat(value))

"""Checked reads of members of a platform's JSON answer (or webhook body).

A warehouse or store answer is outside input: each reader here returns the member as the hub
needs it or raises BadResponse naming the member and what was wrong — never the TypeError,
OverflowError or ValueError that ``int(value)`` or ``float(value)`` raise deep inside a mapping
(a list where a number belongs, ``NaN``, ``1e999``, text holding NUL or a lone surrogate, which
no database stores). ``platform`` starts the message: "ShipHero sent …".
"""

from __future__ import annotations

import math
from typing import Any

from dropstream.platforms.errors import BadResponse

# Quantities and ids past this fit none of the hub's integer columns.
LARGEST = 2**31 - 1


def bad(platform: str, field: str, value: Any, wanted: str) -> BadResponse:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    return BadResponse(f"{platform} sent {field} = {shown}, not {wanted}", field=field)


def number(platform: str, value: Any, field: str) -> float:
    """A JSON number, or its text; null and "" are 0. Finite and at most LARGEST either way."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, str):
        try:
            found = float(value.strip())
        except ValueError:
            raise bad(platform, field, value, "a number") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found = float(value) if abs(value) <= LARGEST else math.inf
    else:
        raise bad(platform, field, value, "a number")
    if not math.isfinite(found) or abs(found) > LARGEST:
        raise bad(platform, field, value, f"a number of at most {LARGEST}")
    return found


def whole(platform: str, value: Any, field: str) -> int:
    """A whole number (``2.0`` allowed, as warehouses write quantities); null and "" are 0."""
    found = number(platform, value, field)
    if found != int(found):
        raise bad(platform, field, value, "a whole number")
    return int(found)


def text(platform: str, value: Any, field: str) -> str:
    """A string member (numbers as their text); null is ""."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad(platform, field, value, "text")
    found = str(value)
    try:
        found.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800")
        raise bad(platform, field, value, "valid Unicode text") from None
    if "\x00" in found:
        raise bad(platform, field, value, "text without NUL")
    return found


def records(platform: str, value: Any, field: str) -> list[Any]:
    """A list member; null is []."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(platform, field, value, "a list")
    return value

"""Reading what clients send: JSON or bracket-notation form bodies, and reference dateStrings.

specs/dropstream-reference.md §13.2: bodies are JSON "or form-encoded with bracket notation"
(``store[adapter][auth_token]=…``, ``bundle[0][product_id]=12345``), and dateStrings in filters
are full or partial ISO 8601 or natural language ("now", "two hours ago", "last monday").
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta
from django.http import HttpRequest
from ninja.parser import Parser

MAX_FORM_FIELDS = 1000


class BodyError(ValueError):
    """The body cannot be read as JSON or as a bracket-notation form; the message says where."""


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which no database column or JSON column can store.
    raise BodyError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """The decoded JSON document; BodyError says what is wrong and where."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("the body is not UTF-8") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BodyError("malformed JSON: nested too deeply") from None


_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    """``store[adapter][auth_token]`` → ``["store", "adapter", "auth_token"]``."""
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    rest = "[" + rest
    parts = _KEY_PART.findall(rest)
    if "".join(f"[{p}]" for p in parts) != rest or not head:
        raise BodyError(f"form field {key!r} is not in bracket notation (a[b][0][c])")
    return [head, *parts]


def _listify(node: Any) -> Any:
    """Turn dicts whose keys are all indices (``"0"``, ``"1"`` or ``""`` appends) into lists."""
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node
    if isinstance(node, list):
        return [_listify(v) for v in node]
    return node


def parse_form(raw: bytes) -> dict[str, Any]:
    """A nested dict from ``a[b][c]=v`` pairs; ``a[]=x&a[]=y`` and ``a[0]=x`` make lists.

    Raises BodyError for conflicting keys (``a=1&a[b]=2``) or too many fields.
    """
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError:
        raise BodyError("the body is not UTF-8") from None
    except ValueError:
        raise BodyError(f"a form body may have at most {MAX_FORM_FIELDS} fields") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_key(key)
        node: Any = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":
                # "a[]" appends: give it the next free index.
                part = str(len(node))
            if not isinstance(node, dict):
                raise BodyError(f"form field {key!r} conflicts with another field")
            if last:
                if part in node:
                    raise BodyError(f"form field {key!r} is given twice")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise BodyError(f"form field {key!r} conflicts with another field")
                node = child
    return _listify(root)


class BodyParser(Parser):
    """JSON by default; bracket-notation forms when the client says so."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = (request.content_type or "").lower()
        if content_type == "application/x-www-form-urlencoded":
            return parse_form(request.body)
        return parse_json(request.body)


# ------------------------------------------------------------------------------------------
# dateStrings
# ------------------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "sixty": 60, "ninety": 90,
}
_UNITS = {
    "second": "seconds", "minute": "minutes", "hour": "hours", "day": "days", "week": "weeks",
    "month": "months", "year": "years",
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AGO = re.compile(r"^(?P<n>[\w-]+)\s+(?P<unit>[a-z]+?)s?\s+(?P<dir>ago|from now)$")
_LAST_NEXT = re.compile(r"^(?P<dir>last|next|this)\s+(?P<what>[a-z]+)$")
MAX_DATESTRING = 64


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _relative(text: str, now: datetime) -> datetime | None:
    """The moment a natural-language phrase names, or None when it is not one we know."""
    if text == "now":
        return now
    if text == "today":
        return _midnight(now)
    if text == "yesterday":
        return _midnight(now) - timedelta(days=1)
    if text == "tomorrow":
        return _midnight(now) + timedelta(days=1)
    match = _AGO.match(text)
    if match:
        count_text, unit = match["n"], match["unit"]
        count = int(count_text) if count_text.isdigit() else _NUMBER_WORDS.get(count_text)
        if count is None or unit not in _UNITS or count > 100_000:
            return None
        step = relativedelta(**{_UNITS[unit]: count})
        return now - step if match["dir"] == "ago" else now + step
    match = _LAST_NEXT.match(text)
    if match:
        what, direction = match["what"], match["dir"]
        if what in _WEEKDAYS:
            today = _midnight(now)
            delta = (today.weekday() - _WEEKDAYS.index(what)) % 7
            if direction == "last":
                return today - timedelta(days=delta or 7)
            if direction == "this":
                return today - timedelta(days=delta)
            return today + timedelta(days=(7 - delta) or 7)
        if what in _UNITS:
            step = relativedelta(**{_UNITS[what]: 1})
            return now - step if direction == "last" else now + step if direction == "next" else now
    return None


def parse_datestring(value: Any, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from a reference dateString; naive input is read as UTC.

    Accepts full or partial ISO 8601 (``2022-12-01``, ``2022-12``), ``December 1st 2022``,
    ``dec 1`` and the phrases ``now``, ``today``, ``yesterday``, ``N <unit>s ago``, ``last
    monday``. Raises ValueError with a plain message for anything else.
    """
    if isinstance(value, datetime):
        moment = value
    else:
        if not isinstance(value, str):
            raise ValueError("must be a date string such as 2022-12-01T05:25:00Z")
        text = " ".join(value.strip().lower().split())
        if not text or len(text) > MAX_DATESTRING or "\x00" in text:
            raise ValueError("must be a date string such as 2022-12-01T05:25:00Z")
        now = now or datetime.now(UTC)
        moment = _relative(text, now)
        if moment is None:
            default = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0,
                                  tzinfo=None)
            try:
                moment = date_parser.parse(text, default=default)
            except (ValueError, OverflowError, TypeError):
                raise ValueError(f"{value!r} is not a date; use ISO 8601 such as "
                                 "2022-12-01T05:25:00Z, or e.g. 'now', 'two hours ago'") from None
    try:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None

"""Relay connections (spec §7): ``first``/``after`` forward, ``last``/``before`` backward,
``pageInfo{hasNextPage hasPreviousPage startCursor endCursor}``, an opaque ``cursor`` per edge
(``base64("arrayconnection:<offset>")``), and ``sort`` (``"field"`` or ``"-field"``,
comma-separated; allowed values are undocumented, so any field of the node is accepted).

Without ``first``/``last`` a page holds ``settings.default_page_size`` items; more than
``settings.max_first`` is an error (§7, §14.5: default 100, assumption).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dropstream.sandbox.shiphero.errors import ApiError
from dropstream.sandbox.shiphero.ids import cursor_for, offset_from_cursor
from dropstream.sandbox.shiphero.settings import Settings


def sort_items(items: Sequence[Any], sort: str | None) -> list[Any]:
    """Stable sort by one or more ``[-]field`` keys. Raises ApiError for an unknown field."""
    ordered = list(items)
    if not sort:
        return ordered
    keys = [part.strip() for part in sort.split(",") if part.strip()]
    for key in reversed(keys):
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if ordered and not all(hasattr(item, name) for item in ordered):
            raise ApiError(f"Invalid sort field {name!r}")

        def value(item: Any, name: str = name) -> tuple[int, Any]:
            found = getattr(item, name)
            return (0, "") if found is None else (1, found)
        ordered.sort(key=value, reverse=descending)
    return ordered


def _offset(cursor: str | None, name: str) -> int | None:
    if cursor is None:
        return None
    offset = offset_from_cursor(cursor)
    if offset is None:
        raise ApiError(f"Invalid cursor for '{name}': {cursor!r}")
    return offset


def connection(items: Sequence[Any], settings: Settings, *, first: int | None = None,
               last: int | None = None, after: str | None = None, before: str | None = None,
               sort: str | None = None) -> dict[str, Any]:
    """One page of ``items`` as ``{pageInfo, edges[{cursor, node}]}``. Raises ApiError."""
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise ApiError(f"Argument '{name}' must be a non-negative integer")
        if value is not None and value > settings.max_first:
            raise ApiError(f"Argument '{name}' cannot be greater than {settings.max_first}")
    if first is None and last is None:
        first = settings.default_page_size
    ordered = sort_items(items, sort)
    start, end = 0, len(ordered)
    after_offset, before_offset = _offset(after, "after"), _offset(before, "before")
    if after_offset is not None:
        start = max(start, after_offset + 1)
    if before_offset is not None:
        end = min(end, before_offset)
    lower, upper = start, end
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    edges = [{"cursor": cursor_for(i), "node": ordered[i]} for i in range(start, end)]
    return {"edges": edges, "pageInfo": {
        "hasNextPage": first is not None and end < upper,
        "hasPreviousPage": last is not None and start > lower,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None}}

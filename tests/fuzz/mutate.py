"""Hypothesis strategies that damage valid documents the way a partner's bug or an attacker would.

Random bytes rarely get past a parser's first check; a valid document with one thing wrong
reaches the code behind it. So every strategy here starts from a seed (a corpus file) and
applies a few drawn edits, which hypothesis can shrink edit by edit:

- ``mutated_bytes``: truncation, deleted/duplicated slices, delimiters and line ends inserted,
  bytes flipped, invalid UTF-8 or a BOM inserted, a number made huge, one delimiter swapped for
  another, lines swapped;
- ``mutated_json``: a member dropped, a value replaced by junk of another type (huge numbers,
  NaN, odd unicode, lone surrogates, NUL, deep nesting), a list emptied or its items repeated,
  a number sent as a string and a string as a number.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

# Characters that mean something to one of the formats read (CSV, X12, JSON), line ends of every
# kind, and text that breaks naive code (combining marks, RTL, full-width digits, emoji).
SPECIAL_TEXT = ["", " ", ",", '"', "'", "\r", "\n", "\r\n", "\t", "\x00", "\x1c", "\x1d", "\x7f",
                "*", "~", ">", "|", "^", ":", "\\", "{", "[", "\ufeff", "\u2028", "\u202e",
                "e\u0301", "\uff11\uff12", "\u0663", "\u00b2", "\U0001f600", "\ud800", "\udcff",
                "NaN", "Infinity", "-0", "1e999999", "0x10", "1_000", "\u0000" * 3]
ODD_TEXT = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
    st.builds(lambda n: "9" * n, st.integers(18, 5000)),
)
HUGE_NUMBERS = st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**30, -1, 0, 10**4000,
                                1e308, -1e-308, math.inf, -math.inf, math.nan, 0.5, -0.0])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HUGE_NUMBERS, ODD_TEXT)
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)

BYTE_INSERTS = [b",", b'"', b"\r", b"\n", b"\r\n", b"\x00", b"*", b"~", b">", b"|", b"^",
                b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x80\xa8", b"{", b"}",
                b"[", b"]", b'\\"', b"9" * 400, b"-", b" ", b"ISA", b"IEA*1*1~", b"SE*", b"GS*"]


def _path_points(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indexes) to a value inside ``node``, the root excluded; not below
    depth 40 (a deep edit already made is left as it is)."""
    points: list[tuple] = []
    if len(prefix) >= 40:
        return points
    children: Sequence[tuple[Any, Any]] = ()
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    for key, value in children:
        path = (*prefix, key)
        points.append(path)
        points.extend(_path_points(value, path))
    return points


def _parent(document: Any, path: tuple) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


@st.composite
def _json_edit(draw, document: Any) -> Any:
    """``document`` with one drawn edit (a copy; the seed is never changed)."""
    points = _path_points(document)
    if not points:
        return draw(JUNK)
    path = draw(st.sampled_from(points))
    parent = _parent(document, path)
    key = path[-1]
    value = parent[key]
    edit = draw(st.sampled_from(["drop", "junk", "huge", "text", "empty", "repeat", "retype",
                                 "wrap", "deep"]))
    if edit == "drop":
        del parent[key]
    elif edit == "junk":
        parent[key] = draw(JUNK)
    elif edit == "huge":
        parent[key] = draw(HUGE_NUMBERS)
    elif edit == "text":
        parent[key] = draw(ODD_TEXT)
    elif edit == "empty":
        parent[key] = draw(st.sampled_from([{}, [], "", 0, None]))
    elif edit == "repeat" and isinstance(value, list) and value:
        parent[key] = value + value[: draw(st.integers(1, 3))]
    elif edit == "retype":
        if isinstance(value, bool) or value is None:
            parent[key] = str(value).lower()
        elif isinstance(value, int | float):
            parent[key] = str(value)
        elif isinstance(value, str):
            parent[key] = int(value) if value.isascii() and value.isdigit() and len(value) < 30 else len(value)
        elif isinstance(value, dict):
            parent[key] = list(value.values())
        else:
            parent[key] = {str(i): v for i, v in enumerate(value)}
    elif edit == "wrap":
        parent[key] = [value]
    elif edit == "deep":
        parent[key] = _nested(draw(st.integers(20, 300)))
    return document


@st.composite
def mutated_json(draw, seeds: Sequence[Any], max_edits: int = 4) -> Any:
    """A seed document with 0 to ``max_edits`` edits (0 keeps the valid path exercised)."""
    document = copy.deepcopy(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(0, max_edits))):
        document = draw(_json_edit(document))
    return document


_DIGITS = re.compile(rb"[0-9]+")


@st.composite
def _byte_edit(draw, data: bytes) -> bytes:
    size = len(data)
    at = draw(st.integers(0, size))
    edit = draw(st.sampled_from(["truncate", "delete", "duplicate", "insert", "flip", "huge",
                                 "swap_delimiter", "swap_lines", "blank"]))
    if edit == "truncate":
        return data[:at]
    if edit == "delete":
        return data[:at] + data[at + draw(st.integers(1, 40)):]
    if edit == "duplicate":
        end = min(size, at + draw(st.integers(1, 200)))
        return data[:end] + data[at:end] * draw(st.integers(1, 3)) + data[end:]
    if edit == "insert":
        return data[:at] + draw(st.sampled_from(BYTE_INSERTS)) + data[at:]
    if edit == "flip" and size:
        at = min(at, size - 1)
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    if edit == "huge":
        numbers = list(_DIGITS.finditer(data))
        if numbers:
            found = draw(st.sampled_from(numbers))
            return (data[:found.start()] + draw(st.sampled_from([b"9" * 30, b"-1", b"0",
                                                                  b"9" * 5000, b"1e999"]))
                    + data[found.end():])
    if edit == "swap_delimiter":
        old, new = draw(st.sampled_from([b",", b"*", b"~", b"\n", b'"', b">", b":"])), \
            draw(st.sampled_from([b";", b"\t", b"|", b"", b"\r", b"*", b"~", b","]))
        return data.replace(old, new)
    if edit == "swap_lines":
        lines = data.split(b"\n")
        if len(lines) > 2:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            return b"\n".join(lines)
    if edit == "blank":
        return draw(st.sampled_from([b"", b"\r\n", b"\xef\xbb\xbf", b" " * 10]))
    return data


@st.composite
def mutated_bytes(draw, seeds: Sequence[bytes], max_edits: int = 4) -> bytes:
    """A seed with 0 to ``max_edits`` byte edits; now and then plain random bytes."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=300))
    data = draw(st.sampled_from(list(seeds)))
    for _ in range(draw(st.integers(0, max_edits))):
        data = draw(_byte_edit(data))
    return data

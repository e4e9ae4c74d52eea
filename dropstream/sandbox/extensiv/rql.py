"""The RQL subset, ``sort`` and paging of Extensiv collections (§4, §11 #9).

Grammar (§4): ``;`` = AND binds tighter than ``,`` = OR; parentheses group; operators ``==``,
``!=``, ``=gt=``, ``=ge=``, ``=lt=``, ``=le=``, ``=in=(a,b)``, ``=out=(a,b)``, ``=hv=true|false``;
``*x``, ``x*``, ``*x*`` wildcards with ``==``/``!=``. Property paths are case-insensitive and
typed by the property. Values are decoded a second time after the structure is split (§4
"Character Escape Sequences": the client encodes ``% ! ( ) * = , ;`` in values, then ``%``
again), so an encoded ``*`` is a literal star, not a wildcard. String comparisons ignore case
(assumption: SQL Server's default collation). Errors are the §4/§7 ``QueryParameterException``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from dropstream.sandbox.extensiv.wire import parse_wms, query_parameter_error

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Prop:
    """One filterable/sortable property: its type (int, float, str, bool, date) and getter."""

    kind: str
    get: Getter


Props = dict[str, Prop]  # lower-case dotted path → property


@dataclass(frozen=True)
class Comparison:
    prop: Prop
    op: str
    values: tuple[Any, ...]
    wildcard: tuple[bool, bool] = (False, False)  # (leading *, trailing *) for one value


@dataclass(frozen=True)
class Group:
    conjunction: bool  # True: AND (;), False: OR (,)
    parts: tuple[Node, ...]


Node = Comparison | Group
_OPERATOR = re.compile(r"==|!=|=(gt|ge|lt|le|in|out|hv)=", re.IGNORECASE)
_STOP = ";,)"


class _Parser:
    """Recursive descent over the once-decoded rql text."""

    def __init__(self, text: str, props: Props) -> None:
        self.text = text
        self.pos = 0
        self.props = props
        self.unknown: list[str] = []

    def fail(self, why: str) -> Exception:
        return query_parameter_error("rql", "NotParsable", f"Unable to parse rql: {why}")

    def parse(self) -> Node:
        node = self.disjunction()
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.text[self.pos]!r} at {self.pos}")
        if self.unknown:
            raise query_parameter_error("rql", "NotParsable",
                                        "Properties not supported: " + ", ".join(self.unknown))
        return node

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.peek() == ",":
            self.pos += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Group(False, tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.atom()]
        while self.peek() == ";":
            self.pos += 1
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else Group(True, tuple(parts))

    def atom(self) -> Node:
        if self.peek() == "(":
            self.pos += 1
            node = self.disjunction()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        found = _OPERATOR.search(self.text, self.pos)
        if found is None:
            raise self.fail(f"no operator after {self.text[self.pos:]!r}")
        path = self.text[self.pos:found.start()].strip()
        if not path or any(c in path for c in "();,"):
            raise self.fail(f"bad property name {path!r}")
        op = found.group(0).lower()
        self.pos = found.end()
        raws = self.list_values() if op in ("=in=", "=out=") else [self.value()]
        prop = self.props.get(path.lower())
        if prop is None:
            if path not in self.unknown:
                self.unknown.append(path)
            return Group(True, ())
        return _typed(path, prop, op, raws)

    def value(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _STOP:
            if self.text[self.pos] == "(":
                raise self.fail("unescaped '(' in a value")
            self.pos += 1
        return self.text[start:self.pos]

    def list_values(self) -> list[str]:
        if self.peek() != "(":
            raise self.fail("=in= and =out= need a list in parentheses")
        self.pos += 1
        values = [self.value()]
        while self.peek() == ",":
            self.pos += 1
            values.append(self.value())
        if self.peek() != ")":
            raise self.fail("missing ')' after a value list")
        self.pos += 1
        return values


def _typed(path: str, prop: Prop, op: str, raws: list[str]) -> Comparison:
    """Decode each value a second time and convert it to the property's type."""
    wildcard = (False, False)
    if op in ("==", "!=") and prop.kind == "str":
        raw = raws[0]
        wildcard = (raw.startswith("*"), raw.endswith("*") and len(raw) > 1)
        raws = [raw[1 if wildcard[0] else 0:len(raw) - 1 if wildcard[1] else len(raw)]]
    kind = "bool" if op == "=hv=" else prop.kind
    values = tuple(_convert(path, kind, unquote(raw)) for raw in raws)
    return Comparison(prop, op, values, wildcard)


def _convert(path: str, kind: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind == "date":
            return parse_wms(text)
        return text.lower()
    except ValueError:
        raise query_parameter_error("rql", "NotParsable",
                                    f"Value not parsable for {path}: {text}") from None


def parse(text: str, props: Props) -> Node:
    """Parse a once-decoded rql string. Raises ApiError (400 QueryParameterException)."""
    if not text.strip():
        return Group(True, ())
    return _Parser(text.strip(), props).parse()


def matches(node: Node, record: Any) -> bool:
    if isinstance(node, Group):
        results = (matches(part, record) for part in node.parts)
        return all(results) if node.conjunction else any(results)
    return _compare(node, node.prop.get(record))


def _compare(node: Comparison, actual: Any) -> bool:
    if node.op == "=hv=":
        has_value = actual is not None and actual != ""
        return has_value == node.values[0]
    if isinstance(actual, str):
        actual = actual.lower()
    if node.op in ("==", "!="):
        equal = actual is not None and _equals(node, actual)
        return equal if node.op == "==" else not equal
    if node.op in ("=in=", "=out="):
        inside = actual is not None and actual in node.values
        return inside if node.op == "=in=" else not inside
    if actual is None:
        return False
    expected = node.values[0]
    return {"=gt=": actual > expected, "=ge=": actual >= expected,
            "=lt=": actual < expected, "=le=": actual <= expected}[node.op]


def _equals(node: Comparison, actual: Any) -> bool:
    expected = node.values[0]
    if node.prop.kind != "str":
        return bool(actual == expected)
    text = str(actual)
    leading, trailing = node.wildcard
    if leading and trailing:
        return expected in text
    if leading:
        return text.endswith(expected)
    if trailing:
        return text.startswith(expected)
    return text == expected


# --------------------------------------------------------------------------------------------
# sort and paging
# --------------------------------------------------------------------------------------------


def parse_sort(text: str, props: Props) -> list[tuple[Prop, bool]]:
    """``fld1,-fld2`` → [(prop, descending)]. Raises ApiError for unknown properties."""
    keys: list[tuple[Prop, bool]] = []
    unknown: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        path = part.lstrip("+-").strip()
        prop = props.get(path.lower())
        if prop is None:
            unknown.append(path)
        else:
            keys.append((prop, descending))
    if unknown:
        raise query_parameter_error("sort", "NotParsable",
                                    "Properties not supported: " + ", ".join(unknown))
    return keys


def sort_records(records: list[Any], keys: Sequence[tuple[Prop, bool]]) -> list[Any]:
    """Stable multi-key sort; missing values sort first ascending (last descending)."""
    ordered = list(records)
    for prop, descending in reversed(keys):
        def key(record: Any, prop: Prop = prop) -> tuple[bool, Any]:
            value = prop.get(record)
            if isinstance(value, str):
                value = value.lower()
            return (value is not None, value if value is not None else 0)
        ordered.sort(key=key, reverse=descending)
    return ordered


def page_params(query: dict[str, list[str]], default: int, maximum: int) -> tuple[int, int]:
    """(pgsiz, pgnum) from the query. Over the maximum, non-numbers and values below 1 are
    400 ``NotParsable`` (§4: inferred)."""
    size = _positive(query, "pgsiz", default)
    if size > maximum:
        raise query_parameter_error("pgsiz", "NotParsable",
                                    f"pgsiz must be between 1 and {maximum}")
    return size, _positive(query, "pgnum", 1)


def _positive(query: dict[str, list[str]], name: str, default: int) -> int:
    values = _ci(query, name)
    if not values or values[-1] == "":
        return default
    try:
        value = int(values[-1])
    except ValueError:
        value = 0
    if value < 1:
        raise query_parameter_error(name, "NotParsable", f"{name} must be a positive integer")
    return value


def _ci(query: dict[str, list[str]], name: str) -> list[str]:
    """Query parameter names are case-insensitive (ASP.NET binding)."""
    for key, values in query.items():
        if key.lower() == name:
            return values
    return []


def query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = _ci(query, name)
    return values[-1] if values else None

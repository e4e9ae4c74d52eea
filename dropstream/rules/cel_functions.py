"""The CEL operators and functions rules run with, replacing some of cel-python's.

cel-python resolves every operator and function by name when it transpiles an expression, so the
ones named in ``OVERRIDES`` are called instead of its own. They exist for three reasons:

* **Bounded work.** Comparing two lists, ``in`` over a list and ``contains`` walk every element;
  they charge the evaluation's ``Budget`` one step per element, so comparing two huge lists built
  by nested macros stops like a loop would. ``+`` refuses to build a string, bytes or list longer
  than ``MAX_VALUE_SIZE``, so doubling a string in a chain of macros cannot eat the memory before
  the clock stops it. ``string()`` and ``bytes()`` convert scalars only: cel-python would print a
  whole nested list in one uninterruptible call.
* **Plain messages.** A type mismatch says ``cannot compare string with int`` rather than
  cel-python's internal class names.
* **Numbers compare across types** (``order.total > 100`` with a double total), as the CEL
  specification allows for comparisons; arithmetic stays strictly typed, as in CEL.

Every error raised here is a ``TypeError`` marked ``cel_plain`` (cel-python turns it into an
error value; the engine shows the message as is), or a ``RuleRuntimeError`` that cel-python does
not catch and that therefore ends the evaluation at once.
"""

from __future__ import annotations

import datetime
import operator
import time
from contextvars import ContextVar
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError

from dropstream.rules.errors import BudgetExceeded, RuleRuntimeError

MAX_VALUE_SIZE = 100_000  # characters of a string, bytes or elements of a list made by `+`
TRUE = celtypes.BoolType(True)
FALSE = celtypes.BoolType(False)


class Budget:
    """How much one evaluation may still do: steps left, and CPU time.

    One step is one macro iteration (``map``/``filter``/``all``/``exists``/``exists_one`` bind
    their variable once per element) or one element compared by ``==``, ``in`` or ``contains``.
    ``charge`` raises ``BudgetExceeded`` past ``max_steps`` or past ``seconds`` of this thread's
    CPU time (``time.thread_time``) since the first step, or past ``deadline`` (a
    ``thread_time`` instant: the order's budget).

    Why CPU time and not the wall clock: a worker thread waiting for the GIL while another
    thread runs, or a process descheduled on a busy host, must not fail an order's rule; a
    hostile expression computes, so its CPU time grows like wall time. Why from the first step:
    an evaluation without macros does a bounded amount of work (no loops), so it never reads
    the clock at all, which keeps simple conditions cheap; the clock is read every
    ``CHECK_EVERY`` steps.
    """

    CHECK_EVERY = 8
    __slots__ = ("deadline", "max_steps", "next_check", "outer_deadline", "seconds", "steps")

    def __init__(self, *, seconds: float, max_steps: int, deadline: float | None = None) -> None:
        self.seconds = seconds
        self.max_steps = max_steps
        self.outer_deadline = float("inf") if deadline is None else deadline
        self.restart()

    def restart(self) -> None:
        """A fresh budget for the next evaluation (still within ``outer_deadline``)."""
        self.steps = self.max_steps
        self.deadline: float | None = None
        self.next_check = self.max_steps

    def charge(self, steps: int = 1) -> None:
        """Spend ``steps``; raises BudgetExceeded past the step limit or the time limit."""
        self.steps -= steps
        if self.steps > self.next_check:
            return
        if self.steps < 0:
            raise BudgetExceeded(f"stopped after {self.max_steps:,} steps (macro iterations "
                                 "and compared elements); simplify the expression")
        now = time.thread_time()
        if self.deadline is None:
            self.deadline = min(now + self.seconds, self.outer_deadline)
        if now > self.deadline:
            raise BudgetExceeded(f"stopped after {self.seconds * 1000:.0f} ms of work; "
                                 "simplify the expression")
        self.next_check = max(self.steps - self.CHECK_EVERY, -1)


# The budget of the evaluation running in this thread (or task); set by expressions.Program.
CURRENT_BUDGET: ContextVar[Budget | None] = ContextVar("rules_budget", default=None)


def _budget() -> Budget:
    budget = CURRENT_BUDGET.get()
    # Outside an evaluation (direct calls in tests) a fresh default budget still bounds the work.
    return budget if budget is not None else Budget(seconds=0.05, max_steps=20_000)


_CAUGHT = (ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError, IndexError,
           NameError)
_MESSAGES: tuple[tuple[type, str], ...] = (
    (KeyError, "no such member in mapping"), (TypeError, "no such overload"),
    (ZeroDivisionError, "divide by zero"), (OverflowError, "return error for overflow"),
    (IndexError, "invalid_argument"), (NameError, "undeclared reference"),
    (ValueError, "return error for overflow"),
)


def result(activation: Any, expression: Any) -> Any:
    """cel-python's ``result()`` (an error becomes a value, so ``||`` and ``&&`` can absorb it)
    without its per-call debug logging, and mapping subclasses too (a pendulum ParserError is
    a ValueError; cel-python's lookup by exact class fails on it)."""
    try:
        return expression(activation)
    except _CAUGHT as ex:
        base, message = next((b, m) for b, m in _MESSAGES if isinstance(ex, b))
        value = CELEvalError(message, base, ex.args)
        value.__cause__ = ex
        return value


def _as_bool(value: Any) -> Any:
    if type(value) is bool:
        return TRUE if value else FALSE
    return value


def cel_and(activation: Any, left: Any, right: Any) -> Any:
    """``a && b``, evaluating ``b`` only when ``a`` is not false: CEL's result is the same
    (false && anything is false; an error is absorbed by a false on either side), and most
    conditions stop at their first test."""
    a = _as_bool(result(activation, left))
    if type(a) is celtypes.BoolType and not a:
        return FALSE
    return celtypes.logical_and(a, _as_bool(result(activation, right)))


def cel_or(activation: Any, left: Any, right: Any) -> Any:
    """``a || b``, evaluating ``b`` only when ``a`` is not true (see ``cel_and``)."""
    a = _as_bool(result(activation, left))
    if type(a) is celtypes.BoolType and a:
        return TRUE
    return celtypes.logical_or(a, _as_bool(result(activation, right)))


def plain_type_error(message: str) -> TypeError:
    """A TypeError whose message the engine shows unchanged."""
    error = TypeError(message)
    error.cel_plain = True  # type: ignore[attr-defined]
    return error


_KINDS: dict[type, str] = {
    celtypes.BoolType: "bool", bool: "bool",
    celtypes.IntType: "int", int: "int",
    celtypes.UintType: "uint",
    celtypes.DoubleType: "double", float: "double",
    celtypes.StringType: "string", str: "string",
    celtypes.BytesType: "bytes", bytes: "bytes",
    celtypes.ListType: "list", list: "list",
    celtypes.MapType: "map", dict: "map",
    celtypes.TimestampType: "timestamp",
    celtypes.DurationType: "duration",
    type(None): "null",
}
_FALLBACK_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "bool"), (celtypes.UintType, "uint"), (int, "int"), (float, "double"),
    (str, "string"), (bytes, "bytes"), (list, "list"), (dict, "map"),
    (datetime.datetime, "timestamp"), (datetime.timedelta, "duration"),
)
_NUMERIC = frozenset({"int", "uint", "double"})
_ORDERED = frozenset({"bool", "int", "uint", "double", "string", "bytes", "timestamp",
                      "duration"})


def kind(value: Any) -> str:
    """The CEL type name of a value (``string``, ``int``, ``list`` …)."""
    found = _KINDS.get(type(value))
    if found is not None:
        return found
    for cls, name in _FALLBACK_KINDS:
        if isinstance(value, cls):
            return name
    return type(value).__name__


def _number(value: Any) -> int | float:
    # Plain Python numbers compare exactly across int and float; cel-python's types refuse to.
    return float(value) if isinstance(value, float) else int(value)


def _equal(a: Any, b: Any, budget: Budget | None) -> bool:
    ka, kb = kind(a), kind(b)
    if ka != kb:
        if ka in _NUMERIC and kb in _NUMERIC:
            return _number(a) == _number(b)
        if ka == "null" or kb == "null":
            return False
        raise plain_type_error(f"cannot compare {ka} with {kb}")
    if ka == "list":
        if len(a) != len(b):
            return False
        budget = budget or _budget()
        budget.charge(len(a))
        return all(_equal(x, y, budget) for x, y in zip(a, b, strict=True))
    if ka == "map":
        if len(a) != len(b):
            return False
        budget = budget or _budget()
        budget.charge(len(a))
        return all(key in b and _equal(value, b[key], budget) for key, value in a.items())
    if ka in _NUMERIC:
        return _number(a) == _number(b)
    if ka == "null":
        return True
    return _plain(a) == _plain(b)


def _plain(value: Any) -> Any:
    # The built-in base value, so comparisons skip cel-python's type-checking wrappers.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, int):
        return int(value)
    return value


# Fast paths for the common case, both sides of one scalar type: the built-in method directly.
_SAME_TYPE_EQ = {celtypes.StringType: str.__eq__, celtypes.DoubleType: float.__eq__,
                 celtypes.IntType: int.__eq__, celtypes.BoolType: int.__eq__,
                 celtypes.UintType: int.__eq__}


def cel_eq(a: Any, b: Any) -> Any:
    """``a == b``: BoolType; numbers compare across int/uint/double; lists and maps deeply."""
    kind_a = type(a)
    if kind_a is type(b) and kind_a in _SAME_TYPE_EQ:
        return TRUE if _SAME_TYPE_EQ[kind_a](a, b) else FALSE
    if isinstance(a, CELEvalError):
        return a
    if isinstance(b, CELEvalError):
        return b
    return TRUE if _equal(a, b, None) else FALSE


def cel_ne(a: Any, b: Any) -> Any:
    """``a != b``: the negation of ``cel_eq``."""
    kind_a = type(a)
    if kind_a is type(b) and kind_a in _SAME_TYPE_EQ:
        return FALSE if _SAME_TYPE_EQ[kind_a](a, b) else TRUE
    if isinstance(a, CELEvalError):
        return a
    if isinstance(b, CELEvalError):
        return b
    return FALSE if _equal(a, b, None) else TRUE


def _ordered_pair(a: Any, b: Any, symbol: str) -> tuple[Any, Any]:
    ka, kb = kind(a), kind(b)
    if ka in _NUMERIC and kb in _NUMERIC:
        return _number(a), _number(b)
    if ka != kb or ka not in _ORDERED:
        raise plain_type_error(f"cannot compare {ka} {symbol} {kb}")
    return _plain(a), _plain(b)


def _comparison(compare: Any, symbol: str) -> Any:
    method = compare.__name__.strip("_")
    same_type = {cls: getattr(base, f"__{method}__") for cls, base in (
        (celtypes.StringType, str), (celtypes.DoubleType, float), (celtypes.IntType, int))}

    def cel_compare(a: Any, b: Any) -> Any:
        kind_a = type(a)
        if kind_a is type(b) and kind_a in same_type:
            return TRUE if same_type[kind_a](a, b) else FALSE
        if isinstance(a, CELEvalError):
            return a
        if isinstance(b, CELEvalError):
            return b
        x, y = _ordered_pair(a, b, symbol)
        return TRUE if compare(x, y) else FALSE

    return cel_compare


# Module-level names: the transpiler writes calls as ``<module>.<qualname>``.
cel_lt = _comparison(operator.lt, "<")
cel_lt.__qualname__ = cel_lt.__name__ = "cel_lt"
cel_le = _comparison(operator.le, "<=")
cel_le.__qualname__ = cel_le.__name__ = "cel_le"
cel_gt = _comparison(operator.gt, ">")
cel_gt.__qualname__ = cel_gt.__name__ = "cel_gt"
cel_ge = _comparison(operator.ge, ">=")
cel_ge.__qualname__ = cel_ge.__name__ = "cel_ge"


def _checked_size(size: int, what: str) -> None:
    if size > MAX_VALUE_SIZE:
        raise RuleRuntimeError(f"a {what} grew past {MAX_VALUE_SIZE:,} "
                               f"{'elements' if what == 'list' else 'characters'}")


def cel_add(a: Any, b: Any) -> Any:
    """``a + b``: numbers as cel-python adds them; strings, bytes and lists bounded in size."""
    if isinstance(a, CELEvalError):
        return a
    if isinstance(b, CELEvalError):
        return b
    ka, kb = kind(a), kind(b)
    if ka in ("string", "bytes", "list") or kb in ("string", "bytes", "list"):
        if ka != kb:
            raise plain_type_error(f"cannot add {ka} and {kb}")
        _checked_size(len(a) + len(b), ka)
        if ka == "string":
            return celtypes.StringType(str.__add__(a, b))
        if ka == "bytes":
            return celtypes.BytesType(bytes(a) + bytes(b))
        return celtypes.ListType(list.__add__(a, b))
    if ka not in _NUMERIC | {"timestamp", "duration"} or (
            ka in _NUMERIC and kb in _NUMERIC and ka != kb):
        raise plain_type_error(f"cannot add {ka} and {kb}")
    return operator.add(a, b)


def cel_mul(a: Any, b: Any) -> Any:
    """``a * b``: numbers only; refuses string or list repetition outright."""
    if isinstance(a, CELEvalError):
        return a
    if isinstance(b, CELEvalError):
        return b
    ka, kb = kind(a), kind(b)
    if ka not in _NUMERIC or kb not in _NUMERIC or ka != kb:
        raise plain_type_error(f"cannot multiply {ka} and {kb}")
    return operator.mul(a, b)


def cel_in(item: Any, container: Any) -> Any:
    """``item in container``: a key of a map, or an element of a list (one step an element)."""
    if isinstance(item, CELEvalError):
        return item
    if isinstance(container, CELEvalError):
        return container
    found = _contains(container, item)
    return TRUE if found else FALSE


def _contains(container: Any, item: Any) -> bool:
    container_kind = kind(container)
    if container_kind == "map":
        try:
            return item in container
        except TypeError:
            raise plain_type_error(f"a {kind(item)} cannot be a map key") from None
    if container_kind == "list":
        budget = _budget()
        budget.charge(len(container))
        for element in container:
            try:
                if _equal(item, element, budget):
                    return True
            except TypeError:
                continue  # CEL's `in` skips elements of another type
        return False
    raise plain_type_error(f"`in` needs a list or a map, not a {container_kind}")


def cel_contains(container: Any, item: Any) -> Any:
    """``s.contains(t)`` for strings; ``l.contains(x)`` / ``m.contains(k)`` like ``in``."""
    if isinstance(container, CELEvalError):
        return container
    if kind(container) == "string":
        if kind(item) != "string":
            raise plain_type_error(f"string.contains() needs a string, not a {kind(item)}")
        return TRUE if str.__contains__(container, item) else FALSE
    return TRUE if _contains(container, item) else FALSE


def _string_pair(a: Any, b: Any, name: str) -> None:
    if kind(a) != "string" or kind(b) != "string":
        raise plain_type_error(f"{name}() works on strings, not {kind(a)} and {kind(b)}")


def cel_starts_with(text: Any, prefix: Any) -> Any:
    """``s.startsWith(prefix)``: strings only."""
    if type(text) is not celtypes.StringType or type(prefix) is not celtypes.StringType:
        _string_pair(text, prefix, "startsWith")
    return TRUE if str.startswith(text, prefix) else FALSE


def cel_ends_with(text: Any, suffix: Any) -> Any:
    """``s.endsWith(suffix)``: strings only."""
    if type(text) is not celtypes.StringType or type(suffix) is not celtypes.StringType:
        _string_pair(text, suffix, "endsWith")
    return TRUE if str.endswith(text, suffix) else FALSE


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def cel_lower_ascii(text: Any) -> Any:
    """``s.lowerAscii()`` (cel-go's strings extension): A–Z lowered, other letters unchanged."""
    if kind(text) != "string":
        raise plain_type_error(f"lowerAscii() works on strings, not {kind(text)}")
    return celtypes.StringType(str.translate(text, _ASCII_LOWER))


def cel_upper_ascii(text: Any) -> Any:
    """``s.upperAscii()`` (cel-go's strings extension): a–z raised, other letters unchanged."""
    if kind(text) != "string":
        raise plain_type_error(f"upperAscii() works on strings, not {kind(text)}")
    return celtypes.StringType(str.translate(text, _ASCII_UPPER))


_SCALARS = frozenset({"bool", "int", "uint", "double", "string", "bytes", "timestamp",
                      "duration"})


def cel_size(value: Any) -> Any:
    """``size(x)`` / ``x.size()`` of a string, bytes, list or map."""
    if isinstance(value, CELEvalError):
        return value
    if kind(value) not in ("string", "bytes", "list", "map"):
        raise plain_type_error(f"size() needs a string, bytes, list or map, not a {kind(value)}")
    # int.__new__: a length is in range, and cel-python's IntType() re-checks it slowly.
    return int.__new__(celtypes.IntType, len(value))


def cel_string(value: Any) -> Any:
    """``string(x)`` for scalars (CEL defines no string of a list or map)."""
    if kind(value) not in _SCALARS:
        raise plain_type_error(f"string() converts scalars, not a {kind(value)}")
    return celtypes.StringType(value)


def cel_bytes(value: Any) -> Any:
    """``bytes(x)`` for strings and bytes."""
    if kind(value) not in ("string", "bytes"):
        raise plain_type_error(f"bytes() converts strings, not a {kind(value)}")
    return celtypes.BytesType(value)


# --- macros ---------------------------------------------------------------------------------
# cel-python's own macros build typing generics on every call (a third of an ``exists``) and do
# not short-circuit; these keep CEL's semantics: ``exists`` is true as soon as one element is,
# even if another errs, ``all`` is false as soon as one is false; otherwise an error wins.
# Each element binds the variable through ``nested_activation``, which charges the budget.

def _elements(activation: Any, source: Any) -> Any:
    value = source(activation)
    if isinstance(value, CELEvalError):
        raise _Propagate(value)
    value_kind = kind(value)
    if value_kind not in ("list", "map"):
        raise plain_type_error(f"macros iterate over a list or a map, not a {value_kind}")
    return value


class _Propagate(Exception):  # noqa: N818 — a control-flow signal, not an error
    """Carries an error value out of a macro's source (returned, not raised, by the macro)."""

    def __init__(self, value: CELEvalError) -> None:
        self.value = value


def _predicate(value: Any, macro: str) -> Any:
    if isinstance(value, CELEvalError) or type(value) is celtypes.BoolType:
        return value
    if type(value) is bool:
        return TRUE if value else FALSE
    raise plain_type_error(f"the expression of {macro}() must be true or false, "
                           f"not a {kind(value)}")


def macro_exists(activation: Any, variable: str, expression: Any, source: Any) -> Any:
    """``l.exists(x, p)``: true if p is true for some element."""
    try:
        elements = _elements(activation, source)
    except _Propagate as signal:
        return signal.value
    error = None
    for element in elements:
        value = _predicate(result(activation.nested_activation(vars={variable: element}),
                                  expression), "exists")
        if isinstance(value, CELEvalError):
            error = error or value
        elif value:
            return TRUE
    return error if error is not None else FALSE


def macro_all(activation: Any, variable: str, expression: Any, source: Any) -> Any:
    """``l.all(x, p)``: true if p is true for every element."""
    try:
        elements = _elements(activation, source)
    except _Propagate as signal:
        return signal.value
    error = None
    for element in elements:
        value = _predicate(result(activation.nested_activation(vars={variable: element}),
                                  expression), "all")
        if isinstance(value, CELEvalError):
            error = error or value
        elif not value:
            return FALSE
    return error if error is not None else TRUE


def macro_exists_one(activation: Any, variable: str, expression: Any, source: Any) -> Any:
    """``l.exists_one(x, p)``: true if p is true for exactly one element."""
    try:
        elements = _elements(activation, source)
    except _Propagate as signal:
        return signal.value
    count = 0
    for element in elements:
        value = _predicate(result(activation.nested_activation(vars={variable: element}),
                                  expression), "exists_one")
        if isinstance(value, CELEvalError):
            return value
        count += 1 if value else 0
    return TRUE if count == 1 else FALSE


def macro_map(activation: Any, variable: str, expression: Any, source: Any) -> Any:
    """``l.map(x, e)``: the list of e for each element."""
    try:
        elements = _elements(activation, source)
    except _Propagate as signal:
        return signal.value
    values = []
    for element in elements:
        value = result(activation.nested_activation(vars={variable: element}), expression)
        if isinstance(value, CELEvalError):
            return value
        values.append(value)
    return celtypes.ListType(values)


def macro_filter(activation: Any, variable: str, expression: Any, source: Any) -> Any:
    """``l.filter(x, p)``: the elements for which p is true."""
    try:
        elements = _elements(activation, source)
    except _Propagate as signal:
        return signal.value
    kept = []
    for element in elements:
        value = _predicate(result(activation.nested_activation(vars={variable: element}),
                                  expression), "filter")
        if isinstance(value, CELEvalError):
            return value
        if value:
            kept.append(element)
    return celtypes.ListType(kept)


OVERRIDES: dict[str, Any] = {
    "_==_": cel_eq,
    "_!=_": cel_ne,
    "_<_": cel_lt,
    "_<=_": cel_le,
    "_>_": cel_gt,
    "_>=_": cel_ge,
    "_+_": cel_add,
    "_*_": cel_mul,
    "_in_": cel_in,
    "contains": cel_contains,
    "size": cel_size,
    "startsWith": cel_starts_with,
    "endsWith": cel_ends_with,
    "lowerAscii": cel_lower_ascii,
    "upperAscii": cel_upper_ascii,
    "string": cel_string,
    "bytes": cel_bytes,
}

"""Rule expressions: Google's CEL, compiled once by cel-python and evaluated in a sandbox.

An expression sees only the variables it is compiled with:

    order   map     the order's facts (``facts.py`` lists the keys and their CEL types)
    line    map     one line of the order; line-scope rules and per-line arguments only
    now     timestamp   the evaluation's clock (UTC)

**Compile time** (``compile_expression``) refuses, with a ``RuleSyntaxError`` giving line and
column:

* a text longer than ``MAX_LENGTH`` characters;
* brackets (``(``, ``[``, ``{``) nested deeper than ``MAX_NESTING``, or an operator tree deeper
  than ``MAX_TREE_DEPTH`` (``!!!!…x``, ``a + a + … + a``);
* an unterminated string literal. This is checked by a linear scan *before* cel-python's lexer
  sees the text: its string-literal pattern backtracks exponentially on an unterminated string
  of backslashes (``"\\\\\\\\…`` with 20 pairs does not finish);
* cel-python's own syntax errors (its message and position);
* any name other than the declared variables and the variables bound by macros; names starting
  with ``_``; a leading-dot name (``.order``); message construction (``T{f: 1}``);
* a field the facts do not have on a path the check can follow (``order.ship_to.zip``,
  ``l.skus`` for ``l`` bound over ``order.lines``), with a "did you mean" hint;
* functions and methods not in ``FUNCTIONS`` / ``METHODS``. ``matches()`` is refused on
  purpose: Python's regular expressions can backtrack for hours on a short input and cannot be
  interrupted; ``reduce``/``min`` are not implemented by cel-python.

**Evaluation** (``Program.evaluate``) is bounded without a thread or a signal per call:

* CEL has no loops and no recursion; the only repetition is the macros (``all``, ``exists``,
  ``exists_one``, ``map``, ``filter``), and each binds its variable once per element through
  the activation's ``nested_activation``. The activation given to the transpiled code is ours
  (``Bindings``); its ``nested_activation`` charges one step to the evaluation's ``Budget``,
  which also reads this thread's CPU clock every few steps, raising ``BudgetExceeded`` — an
  exception cel-python does not catch, so it unwinds the whole evaluation at once. The macros
  themselves are ours too (``cel_functions``: short-circuiting, CEL's error rules). Comparing
  lists and maps, ``in`` and ``contains`` charge one step an element.
* Everything else an expression does is bounded by its length, and by the size of the values it
  works on: facts lists are capped (``facts.MAX_LINES``, ``facts.MAX_TAGS``), ``+`` refuses to
  build a string or list longer than ``cel_functions.MAX_VALUE_SIZE``, ``*`` refuses strings and
  lists, and ``string()`` converts scalars only.
* So the overshoot past the limit is at most a few steps plus one built-in operation on bounded
  values. Limits per evaluation: ``MAX_STEPS`` (20,000) steps and ``TIME_BUDGET_S`` (50 ms) of
  CPU time (``Budget`` says why CPU time); a caller may pass an earlier ``deadline`` (the engine
  passes the order's).

Errors at run time — cel-python's (no such key, type mismatch, division by zero, overflow) and
ours — become a ``RuleRuntimeError`` with a plain reason; the engine adds the rule's name.

**Why the transpiler.** cel-python's interpreter takes 0.4–1 ms per simple condition, so 50
rules would take 20–50 ms an order. Its transpiler (``CompiledRunner``) turns the syntax tree
into Python lambdas; we use it on the tree we checked, with the changes in ``_HoistingPhase1``,
but not its runner, which rebuilds an activation per call and passes it through a module global
(slow, and not thread-safe). The transpiled statements are compiled once per text into a
function of the activation: a simple condition then takes 5–20 µs. User text reaches that
Python only as ``repr()``-quoted string literals (built once, as constants), the digits of
number literals, and identifiers (``[_A-Za-z][_A-Za-z0-9]*``: field names quoted as map keys,
variable names checked as above). No text is passed to ``eval``.
"""

from __future__ import annotations

import difflib
import re
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from string import Template
from typing import Any

import celpy
import lark
from celpy.evaluation import (
    Activation,
    CELEvalError,
    Phase1Transpiler,
    Phase2Transpiler,
    Transpiler,
    TranspilerTree,
    celstr,
)

# ``import a.b`` binds ``dropstream``: the transpiled code names our functions by their full path.
import dropstream.rules.cel_functions
from dropstream.rules import cel_functions
from dropstream.rules.cel_functions import CURRENT_BUDGET, Budget
from dropstream.rules.errors import ExpressionError, RuleRuntimeError, RuleSyntaxError
from dropstream.rules.facts import SCHEMAS, LinesOf

MAX_LENGTH = 2_000
MAX_NESTING = 12
MAX_TREE_DEPTH = 200
TIME_BUDGET_S = 0.050
MAX_STEPS = 20_000

ORDER_VARIABLES = frozenset({"order", "now"})
LINE_VARIABLES = frozenset({"order", "line", "now"})

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
FUNCTIONS = frozenset({"size", "int", "uint", "double", "string", "bool", "bytes", "timestamp",
                       "duration", "has", "dyn"})
METHODS = frozenset({"size", "contains", "startsWith", "endsWith", "lowerAscii", "upperAscii",
                     "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear",
                     "getMonth", "getHours", "getMilliseconds", "getMinutes", "getSeconds"})
REFUSED = {
    "matches": "matches() is not available in rules (a regular expression can run for hours "
               "and cannot be stopped); use startsWith, endsWith, contains or in",
    "reduce": "reduce() is not supported",
    "min": "min() is not supported",
}
_BIND_NAME = re.compile(r"[a-z][A-Za-z0-9_]*\Z")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Program:
    """A compiled expression; safe to share between threads and evaluate many times."""

    text: str
    variables: frozenset[str]
    _run: Callable[[Bindings], Any] = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, Any] | Bindings, *,
                 deadline: float | None = None) -> Any:
        """The expression's CEL value for ``values`` (one per declared variable), given as a
        mapping or as ``Bindings`` reused across evaluations (their budget restarts).

        ``deadline`` (a ``time.thread_time()`` instant; with a mapping) stops it earlier than
        its own budget. Raises RuleRuntimeError (BudgetExceeded when stopped by the budget).
        """
        if type(values) is Bindings:
            bindings = values
            budget: Budget = bindings.__dict__["_budget"]
            budget.restart()
        else:
            bindings = Bindings(values, deadline=deadline)
            budget = bindings.__dict__["_budget"]
        # The engine makes the bindings' budget current once per order; set it only if not.
        token = None if CURRENT_BUDGET.get() is budget else CURRENT_BUDGET.set(budget)
        try:
            value = self._run(bindings)
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 — translated, never lost (see _failure)
            raise _failure(exc) from exc
        finally:
            if token is not None:
                CURRENT_BUDGET.reset(token)
        if isinstance(value, CELEvalError):
            raise RuleRuntimeError(runtime_reason(value)) from value.__cause__
        return value

    def test(self, bindings: Bindings) -> bool:
        """``evaluate_bool`` for the engine's hot path: reused ``bindings`` whose budget is
        already current (``Bindings.current``). Raises RuleRuntimeError."""
        budget: Budget = bindings.__dict__["_budget"]
        budget.steps = budget.next_check = budget.max_steps
        budget.deadline = None
        try:
            value = self._run(bindings)
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 — translated, never lost (see _failure)
            raise _failure(exc) from exc
        if type(value) is celpy.celtypes.BoolType or type(value) is bool:
            return bool(value)
        if isinstance(value, CELEvalError):
            raise RuleRuntimeError(runtime_reason(value)) from value.__cause__
        raise RuleRuntimeError(
            f"the condition must be true or false, but gave a {cel_functions.kind(value)}")

    def evaluate_bool(self, values: Mapping[str, Any] | Bindings, *,
                      deadline: float | None = None) -> bool:
        """Like ``evaluate`` for a condition; a non-boolean result is a RuleRuntimeError."""
        value = self.evaluate(values, deadline=deadline)
        if type(value) is celpy.celtypes.BoolType or type(value) is bool:
            return bool(value)
        raise RuleRuntimeError(
            f"the condition must be true or false, but gave a {cel_functions.kind(value)}")


def _failure(exc: Exception) -> RuleRuntimeError:
    """What an exception out of transpiled code (other than ours) means for the rule."""
    if isinstance(exc, RecursionError):
        return RuleRuntimeError("the expression nests too deeply to evaluate")
    # cel-python's own faults (an AttributeError inside it) stay this rule's error.
    return RuleRuntimeError(f"evaluation failed ({type(exc).__name__})")


class Bindings:
    """The variables of evaluations, and the activation transpiled code reads: variables are
    attributes (``activation.order``). Reuse one for many evaluations (``bind`` changes a
    variable); each evaluation restarts its budget, bounded by ``deadline`` if given.

    cel-python looks up only ``nested_activation`` and ``resolve_variable``; our compile check
    refuses names starting with ``_`` and the names of these methods, so an expression reaches
    nothing else.
    """

    def __init__(self, values: Mapping[str, Any], *, deadline: float | None = None) -> None:
        self.__dict__.update(values)
        self.__dict__["_budget"] = Budget(seconds=TIME_BUDGET_S, max_steps=MAX_STEPS,
                                          deadline=deadline)

    def bind(self, name: str, value: Any) -> None:
        """Set variable ``name`` for the next evaluations."""
        self.__dict__[name] = value

    @contextmanager
    def current(self) -> Iterator[Bindings]:
        """Make these bindings' budget the current one (for ``==``/``in`` on containers) for a
        run of evaluations, instead of once per evaluation."""
        token = CURRENT_BUDGET.set(self.__dict__["_budget"])
        try:
            yield self
        finally:
            CURRENT_BUDGET.reset(token)

    def nested_activation(self, annotations: Any = None, vars: Any = None) -> Bindings:
        """A child scope with a macro's variable bound: one step of the budget."""
        self.__dict__["_budget"].charge()
        child = object.__new__(Bindings)
        child.__dict__.update(self.__dict__)
        if vars:
            child.__dict__.update(vars)
        return child

    def resolve_variable(self, name: str) -> Any:
        return self.__getattr__(name)

    def __getattr__(self, name: str) -> Any:
        # Only reached for a name that is not bound: cel-python reports NameError as an error.
        raise NameError(name)


_RESERVED_NAMES = frozenset(dir(Bindings)) | {"activation", "base_activation", "celpy", "CEL"}


def compile_expression(text: str, *,
                       variables: frozenset[str] = ORDER_VARIABLES) -> Program:
    """The compiled ``text`` (cached by text and variables).

    Raises RuleSyntaxError with the compiler's message and position.
    """
    if not isinstance(text, str):
        raise RuleSyntaxError("an expression must be text")
    return _compile_cached(text, variables)


@lru_cache(maxsize=4096)
def _compile_cached(text: str, variables: frozenset[str]) -> Program:
    _check_text(text)
    tree = _parse(text)
    _check_tree(tree, text, variables)
    try:
        run = _transpile(tree)
    except RuleSyntaxError as exc:
        if exc.line is None or exc.context:
            raise
        raise RuleSyntaxError(exc.reason, line=exc.line, column=exc.column,
                              context=_caret(text, exc.line, exc.column)) from None
    return Program(text=text, variables=variables, _run=run)


# --- text checks, before the parser --------------------------------------------------------

def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _caret(text: str, line: int, column: int) -> str:
    source = text.splitlines()[line - 1] if text.splitlines() else ""
    return f"{source}\n{' ' * (column - 1)}^"


def _error_at(text: str, index: int, message: str) -> RuleSyntaxError:
    line, column = _position(text, index)
    return RuleSyntaxError(message, line=line, column=column, context=_caret(text, line, column))


def _check_text(text: str) -> None:
    if not text.strip():
        raise RuleSyntaxError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(
            f"the expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "/" and text.startswith("//", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        if char in "\"'":
            index = _skip_string(text, index)
            continue
        if char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise _error_at(text, index, f"brackets nested deeper than {MAX_NESTING} levels")
        elif char in ")]}":
            depth -= 1
        index += 1


def _skip_string(text: str, start: int) -> int:
    """Index after the string literal opening at ``start``; refuses an unterminated one."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        index = start + 3
        while index < len(text):
            if text[index] == "\\":
                index += 2
            elif text.startswith(quote * 3, index):
                return index + 3
            else:
                index += 1
        raise _error_at(text, start, "unterminated string")
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 >= len(text) or text[index + 1] in "\r\n":
                break
            index += 2
        elif char in "\r\n":
            break
        elif char == quote:
            return index + 1
        else:
            index += 1
    raise _error_at(text, start, "unterminated string")


# --- parsing --------------------------------------------------------------------------------

def _parse(text: str) -> TranspilerTree:
    with _LOCK:
        # CELParser keeps one Lark parser per process, built with the tree class of the first
        # caller; the lock keeps its ``text`` attribute ours while we parse.
        parser = celpy.CELParser(tree_class=TranspilerTree)
        try:
            tree = parser.parse(text)
        except celpy.CELParseError as exc:
            raise _syntax_error(exc, text) from None
    if not isinstance(tree, TranspilerTree):
        tree = _as_transpiler_tree(tree)
    return tree


def _syntax_error(exc: celpy.CELParseError, text: str) -> RuleSyntaxError:
    cause = exc.__context__
    if isinstance(cause, lark.exceptions.UnexpectedToken):
        token = cause.token
        what = ("unexpected end of expression" if token.type == "$END"
                else f"unexpected {str(token)!r}")
    elif isinstance(cause, lark.exceptions.UnexpectedCharacters):
        what = f"unexpected character {cause.char!r}"
    else:
        what = "syntax error"
    line, column = exc.line, exc.column
    if line is None or column is None:
        return RuleSyntaxError(what)
    if column < 1:
        column = 1
    return RuleSyntaxError(what, line=line, column=column,
                           context=str(exc.args[0]).rstrip("\n") if exc.args else "")


def _as_transpiler_tree(tree: Any) -> Any:
    # Only when another part of the process built cel-python's parser with plain lark trees.
    if not isinstance(tree, lark.Tree):
        return tree
    return TranspilerTree(tree.data, [_as_transpiler_tree(c) for c in tree.children], tree.meta)


# --- tree checks ----------------------------------------------------------------------------

def _node_error(node: Any, text: str, message: str) -> RuleSyntaxError:
    line = getattr(node, "line", None)
    column = getattr(node, "column", None)
    if line is None and isinstance(node, lark.Tree) and not node.meta.empty:
        line, column = node.meta.line, node.meta.column
    if line is None or column is None:
        return RuleSyntaxError(message)
    return RuleSyntaxError(message, line=line, column=column,
                           context=_caret(text, line, column))


def _bare_identifier(tree: Any) -> lark.Token | None:
    """The IDENT token when ``tree`` is nothing but a name (a macro's bound variable)."""
    while isinstance(tree, lark.Tree):
        if tree.data == "ident":
            return tree.children[0]
        if len(tree.children) != 1:
            return None
        tree = tree.children[0]
    return None


def _checked_children(node: lark.Tree, text: str, variables: frozenset[str],
                      bound: Mapping[str, Any]) -> list[Any]:
    """The children to check further; raises RuleSyntaxError for a refused construct.

    A macro's body is returned wrapped as ``_Bound`` so that its variable is known inside.
    """
    kind = node.data
    if kind == "ident":
        _check_name(node.children[0], text, variables, bound)
        return []
    if kind in ("dot_ident", "dot_ident_arg"):
        raise _node_error(node, text, "a leading '.' before a name is not supported")
    if kind == "member_object":
        raise _node_error(node, text, "message construction (Type{field: …}) is not supported")
    if kind == "ident_arg":
        name = node.children[0]
        _check_callable(name, text, FUNCTIONS, "function")
        return list(node.children[1:])
    if kind == "member_dot_arg":
        return _checked_method(node, text, variables, bound)
    if kind == "member_dot":
        _check_field(node, text, bound)
    return list(node.children)


def _check_name(token: lark.Token, text: str, variables: frozenset[str],
                bound: Mapping[str, Any]) -> None:
    name = str(token)
    if name in variables or name in bound:
        return
    if name == "line":
        raise _node_error(token, text, "line is only available in line rules and per-line "
                                       "arguments")
    raise _node_error(token, text, f"unknown name {name!r}; expressions can use "
                                   f"{', '.join(sorted(variables))}")


def _schema(tree: Any, bound: Mapping[str, Any]) -> tuple[Any, str]:
    """The facts schema of ``tree`` when it is a known path (``order.ship_to``), and the path
    as text; (None, "") when unknown."""
    while isinstance(tree, lark.Tree) and tree.data not in ("ident", "member_dot",
                                                            "member_dot_arg"):
        if len(tree.children) != 1:
            return None, ""
        tree = tree.children[0]
    if not isinstance(tree, lark.Tree):
        return None, ""
    if tree.data == "ident":
        name = str(tree.children[0])
        schema = bound[name] if name in bound else SCHEMAS.get(name)
        return schema, name
    if tree.data == "member_dot":
        parent, path = _schema(tree.children[0], bound)
        field_name = str(tree.children[1])
        if isinstance(parent, dict) and field_name in parent:
            return parent[field_name], f"{path}.{field_name}"
        return None, ""
    # l.filter(x, …) keeps the elements' schema.
    if str(tree.children[1]) == "filter":
        return _schema(tree.children[0], bound)
    return None, ""


def _check_field(node: lark.Tree, text: str, bound: Mapping[str, Any]) -> None:
    parent, path = _schema(node.children[0], bound)
    field_name = node.children[1]
    if isinstance(parent, dict) and str(field_name) not in parent:
        close = difflib.get_close_matches(str(field_name), list(parent), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise _node_error(field_name, text, f"{path} has no field {str(field_name)!r}{hint}")


def _check_callable(token: lark.Token, text: str, allowed: frozenset[str], what: str) -> None:
    name = str(token)
    if name in REFUSED:
        raise _node_error(token, text, REFUSED[name])
    if name not in allowed:
        raise _node_error(token, text, f"unknown {what} {name!r}")


def _checked_method(node: lark.Tree, text: str, variables: frozenset[str],
                    bound: Mapping[str, Any]) -> list[Any]:
    target, name_token, *rest = node.children
    name = str(name_token)
    if name not in MACROS:
        _check_callable(name_token, text, METHODS, "method")
        return [target, *rest]
    arguments = rest[0].children if rest else []
    if len(arguments) != 2:
        raise _node_error(name_token, text, f"{name}() takes a variable and an expression, "
                                            f"e.g. {name}(l, l.quantity > 1)")
    variable = _bare_identifier(arguments[0])
    if variable is None:
        raise _node_error(name_token, text, f"the first argument of {name}() must be a name")
    var_name = str(variable)
    if not _BIND_NAME.match(var_name) or var_name in _RESERVED_NAMES:
        raise _node_error(variable, text, f"{var_name!r} cannot name a macro variable; use a "
                                          "lower-case name such as l or x")
    if var_name in variables or var_name in bound:
        raise _node_error(variable, text, f"{var_name!r} is already defined; choose another "
                                          "name")
    source, _ = _schema(target, bound)
    element = source.element if isinstance(source, LinesOf) else None
    return [target, _Bound(arguments[1], {**bound, var_name: element})]


@dataclass(frozen=True)
class _Bound:
    tree: Any
    bound: Mapping[str, Any]


def _expand_bound(item: tuple[Any, int, Mapping[str, Any]]) -> tuple[Any, int, Mapping[str, Any]]:
    node, depth, bound = item
    if isinstance(node, _Bound):
        return node.tree, depth, node.bound
    return node, depth, bound


def _check_tree(root: TranspilerTree, text: str, variables: frozenset[str]) -> None:
    """Raises RuleSyntaxError for the first refused construct (iterative: no recursion)."""
    stack: list[tuple[Any, int, Mapping[str, Any]]] = [(root, 1, {})]
    while stack:
        node, depth, bound = _expand_bound(stack.pop())
        if not isinstance(node, lark.Tree):
            continue
        if depth > MAX_TREE_DEPTH:
            raise _node_error(node, text, f"the expression nests deeper than {MAX_TREE_DEPTH} "
                                          "levels of operators")
        for child in _checked_children(node, text, variables, bound):
            stack.append((child, depth + 1, bound))


# --- transpiling ----------------------------------------------------------------------------

_NAMESPACE: dict[str, Any] = {**celpy.evaluation.__dict__, "dropstream": dropstream}


class _HoistingPhase1(Phase1Transpiler):
    """cel-python's first pass, changed in four ways:

    * each literal is built once per program, not per evaluation: building ``IntType(100)``
      costs more than the comparison it feeds (cel-python wraps its int64 check in
      ``functools.wraps`` on every call);
    * so is ``timestamp("…")`` / ``duration("…")`` of a literal (pendulum parses the text on
      every call otherwise), and a literal that does not parse is refused at compile time;
    * macros call ours (``cel_functions``: bounded, short-circuiting), and so do ``&&`` and
      ``||`` (cel-python evaluates both sides first).
    """

    def __init__(self, facade: Transpiler) -> None:
        super().__init__(facade)
        self.constants: list[str] = []
        self.literal_values: dict[str, Any] = {}

    def _constant(self, source: str) -> str:
        name = f"_cel_const_{len(self.constants)}"
        self.constants.append(f"{name} = {source}")
        return name

    def literal(self, tree: TranspilerTree) -> None:
        super().literal(tree)
        token = tree.children[0]
        name = self._constant(tree.transpiled)
        if token.type in ("STRING_LIT", "MLSTRING_LIT"):
            self.literal_values[name] = celstr(token)
        tree.transpiled = name

    def ident_arg(self, tree: TranspilerTree) -> None:
        super().ident_arg(tree)
        function = str(tree.children[0])
        arguments = tree.children[1].children if len(tree.children) == 2 else []
        constructor = _CONSTANT_CALLS.get(function)
        if constructor is None or len(arguments) != 1:
            return
        text = self.literal_values.get(arguments[0].transpiled)
        if text is None:
            return
        try:
            constructor(text)
        except Exception:  # noqa: BLE001 — any parse failure of the literal is the user's typo
            raise RuleSyntaxError(f"{function}({str(text)!r}) is not a valid {function}",
                                  line=tree.meta.line, column=tree.meta.column) from None
        tree.transpiled = self._constant(tree.transpiled)

    def conditionaland(self, tree: TranspilerTree) -> None:
        super().conditionaland(tree)
        self._short_circuit(tree, "cel_and")

    def conditionalor(self, tree: TranspilerTree) -> None:
        super().conditionalor(tree)
        self._short_circuit(tree, "cel_or")

    def _short_circuit(self, tree: TranspilerTree, function: str) -> None:
        # cel-python evaluates both sides of && and || before combining them; ours stop early.
        if not tree.checked_exception:
            return
        template, bindings = tree.checked_exception
        eager = ("${func_name}(celpy.evaluation.result(activation, ex_${n}_l), "
                 "celpy.evaluation.result(activation, ex_${n}_r))")
        if eager in template.template:
            text = template.template.replace(
                eager, f"{cel_functions.__name__}.{function}(activation, ex_${{n}}_l, "
                       "ex_${n}_r)")
            tree.checked_exception = (Template(text), bindings)

    def member_dot_arg(self, tree: TranspilerTree) -> None:
        super().member_dot_arg(tree)
        if tree.checked_exception:
            template, bindings = tree.checked_exception
            text = template.template.replace("celpy.evaluation.macro_",
                                             f"{cel_functions.__name__}.macro_")
            tree.checked_exception = (Template(text), bindings)


_CONSTANT_CALLS = {"timestamp": celpy.celtypes.TimestampType,
                   "duration": celpy.celtypes.DurationType}
_RESULT = "celpy.evaluation.result("


def _program_source(statements: list[str]) -> str:
    """Python defining ``_cel_program(base_activation)`` from the transpiled statements.

    The statements define lambdas of ``activation`` and end with ``CEL = <expression of
    base_activation>``. The lambdas are defined once, at module level; the function only
    evaluates the last line. (Should a future cel-python end differently, the statements are
    wrapped whole in the function instead: slower, same result.)
    """
    *definitions, last = [line for line in statements if line.strip()]
    if last.startswith("CEL = ") and all(not line.startswith("CEL") for line in definitions):
        return ("\n".join(definitions)
                + f"\ndef _cel_program(base_activation):\n    return {last[len('CEL = '):]}\n")
    return ("def _cel_program(base_activation):\n"
            + textwrap.indent("\n".join(statements), "    ") + "\n    return CEL\n")


def _transpile(tree: TranspilerTree) -> Callable[[Bindings], Any]:
    try:
        with _LOCK:
            facade = Transpiler(ast=tree, activation=_FUNCTIONS_ACTIVATION)
            first = _HoistingPhase1(facade)
            first.visit(tree)
            second = Phase2Transpiler(facade)
            second.visit(tree)
            statements = second.statements(tree)
        # Statements hold no user text (literals are constants above), so replacing the
        # result() helper by name there cannot touch a string the user wrote.
        statements = [line.replace(_RESULT, f"{cel_functions.__name__}.result(")
                      for line in statements]
        source = "\n".join(first.constants) + "\n" + _program_source(statements)
        namespace = dict(_NAMESPACE)
        # The source is cel-python's transpilation of a tree we checked (see module docstring);
        # it runs once here to define the function, never per order.
        exec(compile(source, "<rule expression>", "exec"), namespace)  # noqa: S102
    except (RecursionError, SyntaxError, MemoryError):
        raise RuleSyntaxError("the expression is too complex to compile") from None
    return namespace["_cel_program"]


def _new_functions_activation() -> Activation:
    # Environment() raises the process's recursion limit as a side effect; keep ours.
    previous_limit = sys.getrecursionlimit()
    try:
        return Activation(functions=cel_functions.OVERRIDES)
    finally:
        sys.setrecursionlimit(previous_limit)


_FUNCTIONS_ACTIVATION = _new_functions_activation()


# --- run-time errors ------------------------------------------------------------------------

def _plain_repr(value: Any) -> str:
    # 'gift', not StringType('gift'): the operator wrote a string, not a cel-python type.
    if isinstance(value, str):
        return repr(str.__str__(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return repr(int(value))
    return repr(value)


def runtime_reason(error: CELEvalError) -> str:
    """A plain sentence for cel-python's error value."""
    cause = error.__cause__
    if getattr(cause, "cel_plain", False):
        return str(cause)
    args = error.args
    kind = args[1] if len(args) > 1 else None
    detail = args[2] if len(args) > 2 and isinstance(args[2], tuple) else ()
    if kind is KeyError:
        return f"no such key {_plain_repr(detail[0])}" if detail else "no such key"
    if kind is ZeroDivisionError:
        return "division by zero"
    if kind is IndexError:
        return "index out of range"
    if kind is NameError:
        return f"unknown name {detail[0]!r}" if detail else "unknown name"
    if kind is TypeError:
        return "type mismatch: no operator or function takes these types"
    if kind in (ValueError, OverflowError):
        if detail and "overflow" in str(detail[0]) or "range" in str(detail[:1]):
            return "number out of range"
        return f"invalid value: {detail[0]}" if detail else "invalid value"
    if args and isinstance(args[0], type):
        return "invalid value (cannot be parsed)"
    return f"evaluation failed: {args[0] if args else error}"

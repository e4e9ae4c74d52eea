"""Evaluating a store's rules for one order: decisions and a trace, no database writes.

``evaluate(rules, facts, now=…)`` runs the *active* rules of one hook top-down (``position``,
then id). Order rules evaluate their condition once; line rules once per line with ``line``
bound, and act on that line.

Precedence (what the integrator applies):

* **Terminal.** ``fail`` and a run-time **error** end the evaluation at that rule: the outcome is
  ``failed`` / ``error`` with a message naming the rule, and nothing else is applied (earlier
  decisions stay in the trace). A rule that no longer compiles is a run-time error too.
* **Filters** (``accept``/``reject``): for the order and for each line, the *last* matching
  filter wins; the default is accepted. The outcome is ``rejected`` when the order is rejected,
  or when every line is rejected (nothing is left to send).
* **set**: per field (and line), the last value wins. Later rules see it: a condition after
  ``set shipping_method`` reads the new method.
* **route**: the last order route sets the order's connection; a line route is more specific
  and wins for its line whatever the order (later order routes do not move routed lines).
  ``order.connection_id`` and ``line.connection_id`` show the current targets to later rules.
* **hold**: the last matching hold wins.
* **split**: the last matching split wins. Its groups are computed when the rule runs, from the
  facts at that point; lines rejected by the end are left out of every group, and empty groups
  are dropped. Each group inherits the order's fields, hold and route, except that
  ``connection_by_line`` routes each group to its own connection.

Time: each expression evaluation has its own budget (``expressions``), and the whole order has
``ORDER_TIME_BUDGET_S``; running past either is an error naming the rule, for this order only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from celpy import celtypes

from dropstream.rules import validation
from dropstream.rules.cel_functions import kind
from dropstream.rules.errors import RuleRuntimeError, RuleSyntaxError
from dropstream.rules.expressions import Bindings, Program, compile_expression
from dropstream.rules.facts import FactMap, OrderFacts, fact_map
from dropstream.rules.models import Hook, RuleAction, RuleScope

A = RuleAction
ORDER_TIME_BUDGET_S = 1.0
MAX_SPLIT_KEY = 200  # characters of a split_by value


class RuleLike(Protocol):
    """What the engine reads of a rule: a ``models.Rule`` or any object with these fields."""

    id: int | None
    name: str
    hook: str
    position: int
    active: bool
    scope: str
    condition: str
    action: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to evaluate; ``problem`` is set when it does not compile (or its arguments
    are invalid), and evaluating it is then an error."""

    id: int | None
    name: str
    position: int
    scope: str
    action: str
    arguments: Mapping[str, Any]
    condition: Program | None
    argument_program: Program | None = None
    problem: str = ""


@dataclass(frozen=True)
class Hold:
    """Hold the order until ``until``, or (None) until someone releases it."""

    until: datetime | None

    def describe(self) -> str:
        return "until released" if self.until is None else f"until {self.until.isoformat()}"


@dataclass(frozen=True)
class SplitGroup:
    """One order of a split: its lines (indexes into ``order.lines``) and, for
    ``connection_by_line``, the connection it goes to."""

    key: str | int | bool
    line_indexes: tuple[int, ...]
    connection_id: int | None = None


@dataclass(frozen=True)
class Split:
    """The order split into ``groups``; the first group stays the original order."""

    by: str  # "split_by" or "connection_by_line"
    groups: tuple[SplitGroup, ...]


@dataclass(frozen=True)
class Decision:
    """What one rule decided, for the order (``line_index`` None) or one line."""

    rule_id: int | None
    rule_name: str
    action: str  # a RuleAction value, or "error"
    line_index: int | None = None
    line_id: int | None = None
    field: str = ""  # set: the field
    value: str = ""  # set: the new value
    connection_id: int | None = None  # route
    hold: Hold | None = None
    split: Split | None = None
    message: str = ""  # fail: the rule's message; error: what went wrong

    def describe(self) -> str:
        """A sentence for the order's activity: ``Rule "PO boxes" (#3) rejected line 2``."""
        target = "the order" if self.line_index is None else f"line {self.line_index + 1}"
        label = f'Rule "{self.rule_name}"' + (f" (#{self.rule_id})" if self.rule_id else "")
        what = {
            A.ACCEPT: f"accepted {target}",
            A.REJECT: f"rejected {target}",
            A.SET: f"set {self.field} of {target} to {self.value!r}",
            A.ROUTE: f"routed {target} to connection {self.connection_id}",
            A.HOLD: f"held {target} {self.hold.describe() if self.hold else ''}".rstrip(),
            A.SPLIT: (f"split the order into {len(self.split.groups)} orders"
                      if self.split else "split the order"),
            A.FAIL: f"failed the order: {self.message}",
        }.get(self.action, f"could not be evaluated: {self.message}")
        return f"{label} {what}"


class TraceEntry(NamedTuple):
    """One condition evaluated: its result (None when it failed) and what followed."""

    rule_id: int | None
    rule_name: str
    position: int
    action: str
    line_index: int | None
    matched: bool | None
    error: str = ""
    decision: Decision | None = None


@dataclass(frozen=True)
class Evaluation:
    """The result of one order's rules.

    ``outcome`` is ``accepted`` (apply the rest), ``rejected`` (order → Skipped), ``failed``
    (order → Error with ``message``, from a fail rule) or ``error`` (order → Error with
    ``message``, naming the rule that could not be evaluated). Line indexes are positions in
    ``facts.lines``; ``line_id`` maps them to OrderLine ids.
    """

    hook: str
    outcome: str
    message: str = ""
    error_rule_id: int | None = None
    rejected_lines: frozenset[int] = frozenset()
    order_fields: Mapping[str, str] = field(default_factory=dict)
    line_fields: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    connection_id: int | None = None
    line_connections: Mapping[int, int] = field(default_factory=dict)
    hold: Hold | None = None
    split: Split | None = None
    decisions: tuple[Decision, ...] = ()
    # (rule, line index, matched, error, decision) per condition evaluated; ``trace`` builds
    # the entries only when someone reads them (most orders' traces are never read).
    raw_trace: tuple[tuple[Any, ...], ...] = field(default=(), repr=False)
    facts: OrderFacts | None = None

    @property
    def trace(self) -> tuple[TraceEntry, ...]:
        """Every condition evaluated, in order, with its result and decision."""
        return tuple(TraceEntry(rule_id=rule.id, rule_name=rule.name, position=rule.position,
                                action=rule.action, line_index=line, matched=matched,
                                error=error, decision=decision)
                     for rule, line, matched, error, decision in self.raw_trace)

    def line_id(self, index: int) -> int | None:
        """The OrderLine id of line ``index`` (None for a pasted line without one)."""
        if self.facts is None or index >= len(self.facts.line_ids):
            return None
        return self.facts.line_ids[index]

    def activity(self) -> list[str]:
        """One sentence per decision, in the order the rules made them (for the activity)."""
        return [decision.describe() for decision in self.decisions]


# --- compiling ------------------------------------------------------------------------------

class RuleSet(tuple):
    """Compiled active rules of one ``hook``, top-down: what ``compile_rules`` returns. Pass it
    to ``evaluate`` for every order of a batch: compiling a list of 50 rules costs about what
    evaluating them does, so doing it per order would double the cost."""

    hook: str

    def __new__(cls, rules: Iterable[CompiledRule], hook: str) -> RuleSet:
        made = super().__new__(cls, rules)
        made.hook = hook
        return made


def compile_rules(rules: Iterable[RuleLike | CompiledRule], *,
                  hook: str = Hook.ORDER_IMPORT) -> RuleSet:
    """The active rules of ``hook``, top-down, compiled (texts are cached by expressions).

    ``CompiledRule`` items are taken as they are (already filtered). Never raises for a bad
    rule: its ``problem`` makes its evaluation an error. Raises ValueError for a RuleSet of
    another hook (a caller's mistake).
    """
    if isinstance(rules, RuleSet):
        if rules.hook != hook:
            raise ValueError(f"these rules were compiled for {rules.hook}, not {hook}")
        return rules
    compiled: list[tuple[int, int, CompiledRule]] = []
    for rule in rules:
        if isinstance(rule, CompiledRule):
            compiled.append((rule.position, rule.id or 0, rule))
            continue
        if not rule.active or rule.hook != hook:
            continue
        compiled.append((rule.position, rule.id or 0, compile_rule(rule)))
    compiled.sort(key=lambda item: (item[0], item[1]))
    return RuleSet((item[2] for item in compiled), hook)


def compile_rule(rule: RuleLike) -> CompiledRule:
    """One rule compiled; a compile or argument problem is kept in ``problem``."""
    base = dict(id=rule.id, name=rule.name, position=rule.position, scope=rule.scope,
                action=rule.action, arguments=dict(rule.arguments or {}))
    errors = validation.rule_errors(hook=rule.hook, scope=rule.scope, name=rule.name,
                                    condition=rule.condition, action=rule.action,
                                    arguments=rule.arguments)
    if errors:
        return CompiledRule(**base, condition=None, problem="invalid rule: " + "; ".join(
            errors.values()))
    try:
        condition = compile_expression(rule.condition,
                                       variables=validation.condition_variables(rule.scope))
        cel = validation.cel_arguments(rule.scope, rule.action, rule.arguments)
        program = None
        for path, (text, variables) in cel.items():
            try:
                program = compile_expression(text, variables=variables)
            except RuleSyntaxError as exc:
                raise RuleSyntaxError(f"{path}: {exc.message}") from None
    except RuleSyntaxError as exc:
        return CompiledRule(**base, condition=None, problem=f"does not compile: {exc.message}")
    return CompiledRule(**base, condition=condition, argument_program=program)


# --- evaluating -----------------------------------------------------------------------------

class _State:
    """The evaluation of one order in progress."""

    def __init__(self, facts: OrderFacts, now: datetime, deadline: float) -> None:
        self.facts = facts
        self.now = now
        self.cel_now = celtypes.TimestampType(now)
        self.bindings = Bindings({"order": facts.order, "now": self.cel_now},
                                 deadline=deadline)
        self.order_filter: str = A.ACCEPT
        self.line_filters: dict[int, str] = {}
        self.order_fields: dict[str, str] = {}
        self.line_fields: dict[int, dict[str, str]] = {}
        self.connection_id: int | None = None
        self.line_connections: dict[int, int] = {}
        self.hold: Hold | None = None
        self.split: Split | None = None
        self.decisions: list[Decision] = []
        self.trace: list[tuple[Any, ...]] = []

    @property
    def order(self) -> FactMap:
        return self.facts.order

    def replace_order(self, order: FactMap) -> None:
        # Later rules see the change; earlier decisions keep the map they were made on.
        self.facts = self.facts.with_order(order)
        self.bindings.bind("order", order)

    def replace_line(self, index: int, changes: Mapping[str, Any]) -> None:
        lines = list(self.order["lines"])
        lines[index] = fact_map({**lines[index], **changes})
        self.replace_order(fact_map({**self.order, "lines": celtypes.ListType(lines)}))


def evaluate(rules: Iterable[RuleLike | CompiledRule], facts: OrderFacts, *, now: datetime,
             hook: str = Hook.ORDER_IMPORT) -> Evaluation:
    """Run the active ``hook`` rules top-down on ``facts`` (pure: no database access beyond
    what ``rules`` already hold). Never raises for a rule's fault: a rule that cannot be
    evaluated gives outcome ``error`` naming it. ``now`` must be aware (UTC inside); raises
    ValueError otherwise."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    compiled = compile_rules(rules, hook=hook)
    state = _State(facts, now, time.thread_time() + ORDER_TIME_BUDGET_S)
    with state.bindings.current():
        return _evaluate(hook, compiled, state)


def _evaluate(hook: str, compiled: RuleSet, state: _State) -> Evaluation:
    for rule in compiled:
        try:
            if rule.problem:
                raise RuleRuntimeError(rule.problem)
            if rule.scope == RuleScope.LINE:
                finished = _run_line_rule(rule, state)
            else:
                finished = _run_order_rule(rule, state)
        except RuleRuntimeError as exc:
            return _stopped_by_error(hook, state, rule, exc)
        if finished:
            return _finish(hook, state, outcome="failed",
                           message=state.decisions[-1].message,
                           error_rule_id=rule.id)
    return _finish(hook, state)


def _stopped_by_error(hook: str, state: _State, rule: CompiledRule,
                      exc: RuleRuntimeError) -> Evaluation:
    named = exc.for_rule(rule.id, rule.name)
    decision = Decision(rule_id=rule.id, rule_name=rule.name, action="error",
                        message=named.reason)
    state.trace.append((rule, getattr(exc, "line_index", None), None, exc.reason, decision))
    state.decisions.append(decision)
    return _finish(hook, state, outcome="error", message=named.message, error_rule_id=rule.id)


def _run_order_rule(rule: CompiledRule, state: _State) -> bool:
    """Evaluate an order rule; True when it ended the evaluation (fail)."""
    assert rule.condition is not None
    matched = rule.condition.test(state.bindings)
    decision = _apply(rule, state, None) if matched else None
    state.trace.append((rule, None, matched, "", decision))
    return decision is not None and decision.action == A.FAIL


def _run_line_rule(rule: CompiledRule, state: _State) -> bool:
    """Evaluate a line rule for each line; True when it ended the evaluation (fail)."""
    assert rule.condition is not None
    bindings = state.bindings
    for index in range(len(state.order["lines"])):
        # Re-read the line each time: an earlier line's decision may have replaced the list.
        bindings.bind("line", state.order["lines"][index])
        try:
            matched = rule.condition.test(bindings)
            decision = _apply(rule, state, index) if matched else None
        except RuleRuntimeError as exc:
            raise _on_line(exc, index) from exc.__cause__
        state.trace.append((rule, index, matched, "", decision))
        if decision is not None and decision.action == A.FAIL:
            return True
    return False


def _on_line(exc: RuleRuntimeError, index: int) -> RuleRuntimeError:
    error = type(exc)(f"line {index + 1}: {exc.reason}")
    error.line_index = index  # type: ignore[attr-defined]
    return error


def _apply(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    """Record the rule's decision in ``state`` and return it."""
    decision = _ACTIONS[rule.action](rule, state, line)
    state.decisions.append(decision)
    return decision


def _decision(rule: CompiledRule, state: _State, line: int | None, **details: Any) -> Decision:
    line_id = None
    if line is not None and line < len(state.facts.line_ids):
        line_id = state.facts.line_ids[line]
    return Decision(rule_id=rule.id, rule_name=rule.name, action=rule.action, line_index=line,
                    line_id=line_id, **details)


def _filter(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    if line is None:
        state.order_filter = rule.action
    else:
        state.line_filters[line] = rule.action
    return _decision(rule, state, line)


def _set(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    name = rule.arguments["field"]
    limit = validation.settable_fields(rule.scope)[name]
    if rule.argument_program is not None:
        value = rule.argument_program.evaluate(state.bindings)
        if kind(value) != "string":
            raise RuleRuntimeError(f"the set expression must give text, not a {kind(value)}")
        if len(value) > limit:
            raise RuleRuntimeError(f"the set expression gave {len(value):,} characters; "
                                   f"{name} takes at most {limit:,}")
        text = str.__str__(value)
    else:
        text = rule.arguments["value"]
    if line is None:
        state.order_fields[name] = text
        state.replace_order(fact_map({**state.order, name: celtypes.StringType(text)}))
    else:
        state.line_fields.setdefault(line, {})[name] = text
        state.replace_line(line, {name: celtypes.StringType(text)})
    return _decision(rule, state, line, field=name, value=text)


def _hold(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    arguments = rule.arguments
    if "until" in arguments:
        until = validation.parse_until(arguments["until"])
        hold = Hold(until=until.astimezone(UTC) if until is not None else None)
    elif "for_minutes" in arguments:
        hold = Hold(until=state.now + timedelta(minutes=arguments["for_minutes"]))
    else:
        hold = Hold(until=None)
    state.hold = hold
    return _decision(rule, state, line, hold=hold)


def _route(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    connection_id = rule.arguments["connection_id"]
    target = celtypes.IntType(connection_id)
    if line is None:
        state.connection_id = connection_id
        lines = [entry if entry["index"] in state.line_connections
                 else fact_map({**entry, "connection_id": target})
                 for entry in state.order["lines"]]
        state.replace_order(fact_map({**state.order, "connection_id": target,
                                      "lines": celtypes.ListType(lines)}))
    else:
        state.line_connections[line] = connection_id
        state.replace_line(line, {"connection_id": target})
    return _decision(rule, state, line, connection_id=connection_id)


def _split(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    assert rule.argument_program is not None
    by = "connection_by_line" if "connection_by_line" in rule.arguments else "split_by"
    groups: dict[Any, list[int]] = {}
    bindings = state.bindings
    for index, entry in enumerate(state.order["lines"]):
        bindings.bind("line", entry)
        try:
            key = _split_key(rule.argument_program.evaluate(bindings), by)
        except RuleRuntimeError as exc:
            raise _on_line(exc, index) from exc.__cause__
        groups.setdefault(key, []).append(index)
    split = Split(by=by, groups=tuple(
        SplitGroup(key=key, line_indexes=tuple(indexes),
                   connection_id=key if by == "connection_by_line" else None)
        for key, indexes in groups.items()))
    state.split = split
    return _decision(rule, state, line, split=split)


def _split_key(value: Any, by: str) -> str | int | bool:
    value_kind = kind(value)
    if by == "connection_by_line":
        if value_kind not in ("int", "uint") or int(value) < 1:
            raise RuleRuntimeError(f"connection_by_line must give a connection id, not a "
                                   f"{value_kind}")
        return int(value)
    if value_kind == "bool":
        return bool(value)
    if value_kind in ("int", "uint"):
        return int(value)
    if value_kind == "string":
        if len(value) > MAX_SPLIT_KEY:
            raise RuleRuntimeError(f"split_by gave {len(value):,} characters; at most "
                                   f"{MAX_SPLIT_KEY} make a group key")
        return str.__str__(value)
    raise RuleRuntimeError(f"split_by must give true/false, a number or text, not a "
                           f"{value_kind}")


def _fail(rule: CompiledRule, state: _State, line: int | None) -> Decision:
    message = rule.arguments["message"]
    if line is not None:
        message = f"line {line + 1}: {message}"
    return _decision(rule, state, line, message=message)


_ACTIONS = {A.ACCEPT: _filter, A.REJECT: _filter, A.SET: _set, A.HOLD: _hold, A.ROUTE: _route,
            A.SPLIT: _split, A.FAIL: _fail}


def _finish(hook: str, state: _State, *, outcome: str | None = None, message: str = "",
            error_rule_id: int | None = None) -> Evaluation:
    rejected = frozenset(i for i, action in state.line_filters.items() if action == A.REJECT)
    line_count = len(state.order["lines"])
    if outcome is None:
        if state.order_filter == A.REJECT:
            outcome, message = "rejected", _last_reject_message(state)
        elif line_count and len(rejected) == line_count:
            outcome, message = "rejected", "every line was rejected"
        else:
            outcome = "accepted"
    base = dict(hook=hook, outcome=outcome, message=message, error_rule_id=error_rule_id,
                decisions=tuple(state.decisions), raw_trace=tuple(state.trace),
                facts=state.facts)
    if outcome != "accepted":
        return Evaluation(**base)
    return Evaluation(**base, rejected_lines=rejected, order_fields=dict(state.order_fields),
                      line_fields={i: dict(f) for i, f in state.line_fields.items()},
                      connection_id=state.connection_id,
                      line_connections=dict(state.line_connections), hold=state.hold,
                      split=_without_rejected(state.split, rejected))


def _last_reject_message(state: _State) -> str:
    for decision in reversed(state.decisions):
        if decision.action == A.REJECT and decision.line_index is None:
            return decision.describe()
    return "rejected"


def _without_rejected(split: Split | None, rejected: frozenset[int]) -> Split | None:
    if split is None:
        return None
    groups = tuple(SplitGroup(key=g.key, line_indexes=kept, connection_id=g.connection_id)
                   for g in split.groups
                   if (kept := tuple(i for i in g.line_indexes if i not in rejected)))
    return Split(by=split.by, groups=groups)


__all__ = ["CompiledRule", "Decision", "Evaluation", "Hold", "Split", "SplitGroup",
           "TraceEntry", "compile_rule", "compile_rules", "evaluate"]

"""Validation of a rule's fields and of each action's arguments (pure: no database).

Arguments by action (``arguments`` is a JSON object; unknown keys are refused):

    accept, reject   {}
    set              {"field": F, "value": "text"} or {"field": F, "expression": "<CEL>"}
                     F for order rules: shipping_method, carrier, service_level,
                     warehouse_code, notes, gift_message; for line rules: warehouse_sku.
                     The expression sees the rule's variables and must give text.
    hold             exactly one of {"until": "<ISO 8601 time with zone>"},
                     {"for_minutes": 1…525600}, {"until_released": true}
    route            {"connection_id": N}  a connection of the rule's store (checked on
                     activation, by ``actions``)
    split            exactly one of {"split_by": "<CEL over line>"} (lines with the same value —
                     bool, int or string — form one order) or {"connection_by_line": "<CEL over
                     line giving a connection id>"} (one order per connection, routed there)
    fail             {"message": "text"}

Which actions a hook and a scope allow: ``ALLOWED_ACTIONS``. Errors map a field path to a
message that names it (``{"arguments.connection_id": "arguments.connection_id is required"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dropstream.rules.errors import RuleSyntaxError
from dropstream.rules.expressions import (
    LINE_VARIABLES,
    MAX_LENGTH,
    ORDER_VARIABLES,
    compile_expression,
)
from dropstream.rules.models import Hook, RuleAction, RuleScope

A = RuleAction
# Django's ``.values`` builds a list on every call; rules are validated once per batch.
HOOKS = frozenset(Hook.values)
SCOPES = frozenset(RuleScope.values)
ACTIONS = frozenset(A.values)
ALLOWED_ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    (Hook.ORDER_IMPORT, RuleScope.ORDER): frozenset(A.values),
    (Hook.ORDER_IMPORT, RuleScope.LINE): frozenset(
        {A.ACCEPT, A.REJECT, A.SET, A.ROUTE, A.FAIL}),
    # The store is told of a shipment or not (reject), later (hold), or the order fails.
    (Hook.SHIPMENT_NOTIFICATION, RuleScope.ORDER): frozenset(
        {A.ACCEPT, A.REJECT, A.HOLD, A.FAIL}),
}
# Field → the longest value the Order/OrderLine column takes.
ORDER_FIELDS: dict[str, int] = {"shipping_method": 255, "carrier": 100, "service_level": 100,
                                "warehouse_code": 100, "notes": 10_000, "gift_message": 10_000}
LINE_FIELDS: dict[str, int] = {"warehouse_sku": 100}
MAX_HOLD_MINUTES = 525_600  # one year
MAX_MESSAGE = 500
ARGUMENT_KEYS: dict[str, frozenset[str]] = {
    A.ACCEPT: frozenset(), A.REJECT: frozenset(),
    A.SET: frozenset({"field", "value", "expression"}),
    A.HOLD: frozenset({"until", "for_minutes", "until_released"}),
    A.ROUTE: frozenset({"connection_id"}),
    A.SPLIT: frozenset({"split_by", "connection_by_line"}),
    A.FAIL: frozenset({"message"}),
}


def settable_fields(scope: str) -> dict[str, int]:
    """The fields a ``set`` rule of ``scope`` may change, with their longest value."""
    return LINE_FIELDS if scope == RuleScope.LINE else ORDER_FIELDS


def rule_errors(*, hook: str, scope: str, name: str, condition: str, action: str,
                arguments: Any) -> dict[str, str]:
    """Problems of a rule's fields and arguments (without compiling); empty when valid."""
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "name is required"
    elif len(name) > 200:
        errors["name"] = "name must be at most 200 characters"
    if hook not in HOOKS:
        errors["hook"] = f"hook must be one of {', '.join(Hook.values)}"
    if scope not in SCOPES:
        errors["scope"] = f"scope must be one of {', '.join(RuleScope.values)}"
    if not isinstance(condition, str) or not condition.strip():
        errors["condition"] = "condition is required (use true to match every order)"
    elif len(condition) > MAX_LENGTH:
        errors["condition"] = f"condition must be at most {MAX_LENGTH:,} characters"
    if action not in ACTIONS:
        errors["action"] = f"action must be one of {', '.join(A.values)}"
        return errors
    if hook in HOOKS and scope in SCOPES:
        allowed = ALLOWED_ACTIONS.get((hook, scope), frozenset())
        if not allowed:
            errors["scope"] = f"{Hook(hook).label} rules are order rules"
        elif action not in allowed:
            errors["action"] = (f"{action} is not available for {scope} rules on "
                                f"{Hook(hook).label}")
    if not isinstance(arguments, Mapping):
        errors["arguments"] = "arguments must be an object"
        return errors
    errors.update(argument_errors(action, scope, arguments))
    if hook == Hook.SHIPMENT_NOTIFICATION and action == A.HOLD and "until_released" in arguments:
        # Nothing releases a held notification but time: a shipment has no Release action.
        errors["arguments.until_released"] = ("a shipment notification is held until a time or "
                                              "for a number of minutes, not until released")
    return errors


def argument_errors(action: str, scope: str, arguments: Mapping[str, Any]) -> dict[str, str]:
    """Problems of ``arguments`` for ``action``; empty when valid."""
    errors: dict[str, str] = {}
    for key in sorted(set(arguments) - ARGUMENT_KEYS[action]):
        errors[f"arguments.{key}"] = f"arguments.{key} is not used by {action}"
    check = _CHECKS.get(action)
    if check is not None:
        check(scope, arguments, errors)
    return errors


def _text_argument(arguments: Mapping[str, Any], key: str, errors: dict[str, str], *,
                   limit: int) -> str | None:
    value = arguments[key]
    if not isinstance(value, str) or not value.strip():
        errors[f"arguments.{key}"] = f"arguments.{key} must be non-empty text"
        return None
    if len(value) > limit:
        errors[f"arguments.{key}"] = f"arguments.{key} must be at most {limit:,} characters"
        return None
    return value


def _exactly_one(arguments: Mapping[str, Any], keys: tuple[str, ...],
                 errors: dict[str, str]) -> str | None:
    present = [key for key in keys if key in arguments]
    if len(present) == 1:
        return present[0]
    names = ", ".join(f"arguments.{key}" for key in keys)
    errors["arguments"] = (f"give exactly one of {names}" if present
                           else f"one of {names} is required")
    return None


def _check_set(scope: str, arguments: Mapping[str, Any], errors: dict[str, str]) -> None:
    fields = settable_fields(scope)
    field = arguments.get("field")
    limit = 10_000
    if field is None:
        errors["arguments.field"] = "arguments.field is required"
    elif field not in fields:
        errors["arguments.field"] = (f"arguments.field must be one of {', '.join(fields)} for "
                                     f"{scope} rules")
    else:
        limit = fields[field]
    source = _exactly_one(arguments, ("value", "expression"), errors)
    if source == "value":
        value = arguments["value"]
        if not isinstance(value, str):
            errors["arguments.value"] = "arguments.value must be text"
        elif len(value) > limit:
            errors["arguments.value"] = f"arguments.value must be at most {limit:,} characters"
    elif source == "expression":
        _text_argument(arguments, "expression", errors, limit=MAX_LENGTH)


def _check_hold(scope: str, arguments: Mapping[str, Any], errors: dict[str, str]) -> None:
    kind = _exactly_one(arguments, ("until", "for_minutes", "until_released"), errors)
    if kind == "until":
        if parse_until(arguments["until"]) is None:
            errors["arguments.until"] = ("arguments.until must be an ISO 8601 time with a zone, "
                                         "e.g. 2026-12-01T09:00:00Z")
    elif kind == "for_minutes":
        minutes = arguments["for_minutes"]
        if (isinstance(minutes, bool) or not isinstance(minutes, int)
                or not 1 <= minutes <= MAX_HOLD_MINUTES):
            errors["arguments.for_minutes"] = (f"arguments.for_minutes must be a whole number "
                                               f"from 1 to {MAX_HOLD_MINUTES:,}")
    elif kind == "until_released" and arguments["until_released"] is not True:
        errors["arguments.until_released"] = "arguments.until_released must be true"


def parse_until(value: Any) -> datetime | None:
    """An aware datetime from ISO 8601 text with a zone; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _check_route(scope: str, arguments: Mapping[str, Any], errors: dict[str, str]) -> None:
    if "connection_id" not in arguments:
        errors["arguments.connection_id"] = "arguments.connection_id is required"
        return
    value = arguments["connection_id"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors["arguments.connection_id"] = "arguments.connection_id must be a connection id"


def _check_split(scope: str, arguments: Mapping[str, Any], errors: dict[str, str]) -> None:
    kind = _exactly_one(arguments, ("split_by", "connection_by_line"), errors)
    if kind is not None:
        _text_argument(arguments, kind, errors, limit=MAX_LENGTH)


def _check_fail(scope: str, arguments: Mapping[str, Any], errors: dict[str, str]) -> None:
    if "message" not in arguments:
        errors["arguments.message"] = "arguments.message is required"
        return
    _text_argument(arguments, "message", errors, limit=MAX_MESSAGE)


_CHECKS = {A.SET: _check_set, A.HOLD: _check_hold, A.ROUTE: _check_route,
           A.SPLIT: _check_split, A.FAIL: _check_fail}


def condition_variables(scope: str) -> frozenset[str]:
    """The variables a condition (and a ``set`` expression) of ``scope`` sees."""
    return LINE_VARIABLES if scope == RuleScope.LINE else ORDER_VARIABLES


def cel_arguments(scope: str, action: str, arguments: Mapping[str, Any]
                  ) -> dict[str, tuple[str, frozenset[str]]]:
    """The CEL texts among ``arguments``: path → (text, variables)."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    if action == A.SET and isinstance(arguments.get("expression"), str):
        found["arguments.expression"] = (arguments["expression"], condition_variables(scope))
    if action == A.SPLIT:
        for key in ("split_by", "connection_by_line"):
            if isinstance(arguments.get(key), str):
                found[f"arguments.{key}"] = (arguments[key], LINE_VARIABLES)
    return found


def compile_errors(scope: str, condition: str, action: str,
                   arguments: Mapping[str, Any]) -> dict[str, str]:
    """The compiler's message for the condition and each CEL argument that does not compile
    (the message includes line and column); empty when all compile."""
    errors: dict[str, str] = {}
    texts = {"condition": (condition, condition_variables(scope)),
             **cel_arguments(scope, action, arguments)}
    for path, (text, variables) in texts.items():
        try:
            compile_expression(text, variables=variables)
        except RuleSyntaxError as exc:
            errors[path] = exc.message
    return errors

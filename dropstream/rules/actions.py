"""What a person (page, API, CLI) can do to rules: create, update, activate, deactivate, move,
delete, and test them on an order. Each validates first and raises a ``RuleError`` subclass
with a field → message map, changing nothing, when it refuses.

Positions are 1, 2, 3 … within (store, hook), kept dense: creating appends (or inserts),
moving shifts the rules in between, deleting closes the gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from dropstream.rules import validation
from dropstream.rules.engine import Evaluation, evaluate
from dropstream.rules.errors import ActivationRefused, InvalidMove, InvalidRule
from dropstream.rules.facts import OrderFacts
from dropstream.rules.models import Hook, Rule, RuleAction, RuleScope

__all__ = ["activate_rule", "create_rule", "deactivate_rule", "delete_rule", "move_rule",
           "rule_problems", "store_rules", "test_rules", "update_rule"]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def store_rules(store: Any, hook: str) -> list[Rule]:
    """The store's rules of ``hook``, top-down (active and inactive)."""
    return list(Rule.objects.filter(store=store, hook=hook).order_by("position", "id"))


def _locked_rules(store_id: int, hook: str) -> list[Rule]:
    # Lock the list being renumbered so two moves cannot interleave (PostgreSQL; SQLite
    # serialises writers anyway).
    return list(Rule.objects.select_for_update().filter(store_id=store_id, hook=hook)
                .order_by("position", "id"))


def _renumber(rules: list[Rule]) -> None:
    changed = []
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            rule.position = position
            changed.append(rule)
    if changed:
        Rule.objects.bulk_update(changed, ["position"])


def create_rule(store: Any, *, name: str, action: str, condition: str = "true",
                arguments: Mapping[str, Any] | None = None, hook: str = Hook.ORDER_IMPORT,
                scope: str = RuleScope.ORDER, position: int | None = None) -> Rule:
    """A new, inactive rule at ``position`` (1-based; default: last).

    The condition and CEL arguments are not compiled here, so a draft can be saved; activation
    compiles them. Raises InvalidRule (nothing stored).
    """
    arguments = dict(arguments or {})
    errors = validation.rule_errors(hook=hook, scope=scope, name=name, condition=condition,
                                    action=action, arguments=arguments)
    if errors:
        raise InvalidRule(errors)
    with transaction.atomic():
        rules = _locked_rules(store.pk, hook)
        last = len(rules) + 1
        if position is None:
            position = last
        elif isinstance(position, bool) or not isinstance(position, int) or not (
                1 <= position <= last):
            raise InvalidRule({"position": f"position must be from 1 to {last}"})
        rule = Rule(store=store, hook=hook, name=name.strip(), condition=condition,
                    action=action, arguments=arguments, scope=scope, active=False,
                    position=position)
        Rule.objects.filter(store=store, hook=hook, position__gte=position).update(
            position=F("position") + 1)
        rule.save()
    return rule


def update_rule(rule: Rule, *, name: str = UNCHANGED, condition: str = UNCHANGED,
                action: str = UNCHANGED, arguments: Mapping[str, Any] = UNCHANGED,
                scope: str = UNCHANGED) -> Rule:
    """Change a rule's fields (its hook and position stay: use move_rule).

    An active rule must stay valid: the new condition and arguments must compile and name an
    existing connection, else InvalidRule and nothing changes.
    """
    values = {
        "name": rule.name if name is UNCHANGED else name,
        "condition": rule.condition if condition is UNCHANGED else condition,
        "action": rule.action if action is UNCHANGED else action,
        "arguments": dict(rule.arguments if arguments is UNCHANGED else arguments or {}),
        "scope": rule.scope if scope is UNCHANGED else scope,
    }
    errors = validation.rule_errors(hook=rule.hook, **values)
    if not errors and rule.active:
        errors = _activation_errors(rule.store_id, values["scope"], values["condition"],
                                    values["action"], values["arguments"])
    if errors:
        raise InvalidRule(errors)
    values["name"] = values["name"].strip()
    for key, value in values.items():
        setattr(rule, key, value)
    rule.save(update_fields=[*values, "updated_at"])
    return rule


def _activation_errors(store_id: int, scope: str, condition: str, action: str,
                       arguments: Mapping[str, Any]) -> dict[str, str]:
    errors = validation.compile_errors(scope, condition, action, arguments)
    if action == RuleAction.ROUTE:
        errors.update(_connection_errors(store_id, arguments.get("connection_id")))
    return errors


def _connection_errors(store_id: int, connection_id: Any) -> dict[str, str]:
    from dropstream.connections.models import Connection

    if not Connection.objects.filter(pk=connection_id, store_id=store_id).exists():
        return {"arguments.connection_id": f"arguments.connection_id: no connection "
                                           f"{connection_id} serves this store"}
    return {}


def rule_problems(rule: Rule) -> dict[str, str]:
    """Everything that would refuse the rule's activation (empty when it may be activated):
    field and argument problems, the compiler's messages, a route to a missing connection."""
    errors = validation.rule_errors(hook=rule.hook, scope=rule.scope, name=rule.name,
                                    condition=rule.condition, action=rule.action,
                                    arguments=rule.arguments)
    if errors:
        return errors
    return _activation_errors(rule.store_id, rule.scope, rule.condition, rule.action,
                              rule.arguments)


def activate_rule(rule: Rule) -> Rule:
    """Make the rule active. Raises ActivationRefused with the compiler's message (line and
    column) when the condition or a CEL argument does not compile, or when its arguments are
    invalid; the rule then stays inactive."""
    errors = rule_problems(rule)
    if errors:
        raise ActivationRefused(errors)
    if not rule.active:
        rule.active = True
        rule.save(update_fields=["active", "updated_at"])
    return rule


def deactivate_rule(rule: Rule) -> Rule:
    """Make the rule inactive (always allowed)."""
    if rule.active:
        rule.active = False
        rule.save(update_fields=["active", "updated_at"])
    return rule


def move_rule(rule: Rule, position: int) -> Rule:
    """Put the rule at ``position`` (1-based) among its store's rules of its hook; the rules in
    between shift by one. Raises InvalidMove for a position outside 1…count."""
    with transaction.atomic():
        rules = _locked_rules(rule.store_id, rule.hook)
        if isinstance(position, bool) or not isinstance(position, int) or not (
                1 <= position <= len(rules)):
            raise InvalidMove({"position": f"position must be from 1 to {len(rules)}"})
        others = [item for item in rules if item.pk != rule.pk]
        moving = next(item for item in rules if item.pk == rule.pk)
        others.insert(position - 1, moving)
        _renumber(others)
    rule.position = position
    return rule


def delete_rule(rule: Rule) -> None:
    """Delete the rule and close the gap in its list."""
    with transaction.atomic():
        store_id, hook = rule.store_id, rule.hook
        rule.delete()
        _renumber(_locked_rules(store_id, hook))


def test_rules(store: Any, hook: str, facts: OrderFacts, *, now: datetime | None = None,
               include_inactive: bool = False) -> Evaluation:
    """What the store's ``hook`` rules would decide for ``facts`` (an order's, from
    ``facts.facts_from_order``, or pasted JSON's, from ``facts.facts_from_json``).

    Writes nothing. ``include_inactive`` evaluates drafts too (the Test tab's "include
    inactive"), in their positions; a draft that does not compile then gives an error outcome.
    """
    if hook not in Hook.values:
        raise InvalidRule({"hook": f"hook must be one of {', '.join(Hook.values)}"})
    rules = store_rules(store, hook)
    if include_inactive:
        for rule in rules:
            rule.active = True  # on these in-memory copies only
    return evaluate(rules, facts, now=now or datetime.now(UTC), hook=hook)


# pytest collects functions named test_*; this one is the domain action, not a test.
test_rules.__test__ = False  # type: ignore[attr-defined]

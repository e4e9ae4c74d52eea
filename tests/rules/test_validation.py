"""Validation of a rule's fields and of each action's arguments, with messages naming the
field."""

from __future__ import annotations

import pytest

from dropstream.rules.validation import argument_errors, compile_errors, rule_errors


def errors_of(action: str, arguments, *, scope: str = "order", hook: str = "order_import",
              name: str = "A rule", condition: str = "true") -> dict[str, str]:
    return rule_errors(hook=hook, scope=scope, name=name, condition=condition, action=action,
                       arguments=arguments)


@pytest.mark.parametrize(("action", "arguments", "scope"), [
    ("accept", {}, "order"),
    ("reject", {}, "line"),
    ("set", {"field": "shipping_method", "value": "UPS Ground"}, "order"),
    ("set", {"field": "notes", "expression": 'order.notes + " (gift)"'}, "order"),
    ("set", {"field": "warehouse_sku", "value": "WH-1"}, "line"),
    ("hold", {"until": "2026-12-01T09:00:00Z"}, "order"),
    ("hold", {"until": "2026-12-01T09:00:00+01:00"}, "order"),
    ("hold", {"for_minutes": 120}, "order"),
    ("hold", {"until_released": True}, "order"),
    ("route", {"connection_id": 7}, "order"),
    ("route", {"connection_id": 7}, "line"),
    ("split", {"split_by": 'line.sku.startsWith("PRE-")'}, "order"),
    ("split", {"connection_by_line": "line.stock[7] >= line.quantity ? 7 : 8"}, "order"),
    ("fail", {"message": "PO boxes are not served"}, "order"),
    ("fail", {"message": "quantity over 50"}, "line"),
])
def test_valid_arguments_pass(action, arguments, scope):
    assert errors_of(action, arguments, scope=scope) == {}


@pytest.mark.parametrize(("action", "arguments", "scope", "errors"), [
    ("accept", {"value": 1}, "order", {"arguments.value": "arguments.value is not used by "
                                                         "accept"}),
    ("set", {}, "order", {"arguments.field": "arguments.field is required",
                          "arguments": "one of arguments.value, arguments.expression is "
                                       "required"}),
    ("set", {"field": "status", "value": "x"}, "order", {
        "arguments.field": "arguments.field must be one of shipping_method, carrier, "
                           "service_level, warehouse_code, notes, gift_message for order "
                           "rules"}),
    ("set", {"field": "warehouse_sku", "value": "x"}, "order", {
        "arguments.field": "arguments.field must be one of shipping_method, carrier, "
                           "service_level, warehouse_code, notes, gift_message for order "
                           "rules"}),
    ("set", {"field": "shipping_method", "value": "x"}, "line", {
        "arguments.field": "arguments.field must be one of warehouse_sku for line rules"}),
    ("set", {"field": "carrier", "value": 5}, "order", {
        "arguments.value": "arguments.value must be text"}),
    ("set", {"field": "carrier", "value": "x" * 101}, "order", {
        "arguments.value": "arguments.value must be at most 100 characters"}),
    ("set", {"field": "carrier", "value": "UPS", "expression": '"UPS"'}, "order", {
        "arguments": "give exactly one of arguments.value, arguments.expression"}),
    ("hold", {}, "order", {"arguments": "one of arguments.until, arguments.for_minutes, "
                                        "arguments.until_released is required"}),
    ("hold", {"until": "2026-12-01T09:00:00"}, "order", {
        "arguments.until": "arguments.until must be an ISO 8601 time with a zone, e.g. "
                           "2026-12-01T09:00:00Z"}),
    ("hold", {"until": "next monday"}, "order", {
        "arguments.until": "arguments.until must be an ISO 8601 time with a zone, e.g. "
                           "2026-12-01T09:00:00Z"}),
    ("hold", {"for_minutes": 0}, "order", {
        "arguments.for_minutes": "arguments.for_minutes must be a whole number from 1 to "
                                 "525,600"}),
    ("hold", {"for_minutes": "120"}, "order", {
        "arguments.for_minutes": "arguments.for_minutes must be a whole number from 1 to "
                                 "525,600"}),
    ("hold", {"until_released": False}, "order", {
        "arguments.until_released": "arguments.until_released must be true"}),
    ("hold", {"for_minutes": 5, "until_released": True}, "order", {
        "arguments": "give exactly one of arguments.until, arguments.for_minutes, "
                     "arguments.until_released"}),
    ("route", {}, "order", {"arguments.connection_id": "arguments.connection_id is required"}),
    ("route", {"connection_id": "7"}, "order", {
        "arguments.connection_id": "arguments.connection_id must be a connection id"}),
    ("route", {"connection_id": True}, "order", {
        "arguments.connection_id": "arguments.connection_id must be a connection id"}),
    ("split", {}, "order", {"arguments": "one of arguments.split_by, "
                                         "arguments.connection_by_line is required"}),
    ("split", {"split_by": ""}, "order", {
        "arguments.split_by": "arguments.split_by must be non-empty text"}),
    ("fail", {}, "order", {"arguments.message": "arguments.message is required"}),
    ("fail", {"message": "x" * 501}, "order", {
        "arguments.message": "arguments.message must be at most 500 characters"}),
])
def test_each_actions_arguments_are_validated_with_messages_naming_the_field(
        action, arguments, scope, errors):
    assert errors_of(action, arguments, scope=scope) == errors


def test_actions_a_hook_or_scope_does_not_allow_are_refused():
    assert errors_of("split", {"split_by": "true"}, scope="line") == {
        "action": "split is not available for line rules on Order import"}
    assert errors_of("hold", {"for_minutes": 5}, scope="line") == {
        "action": "hold is not available for line rules on Order import"}
    assert errors_of("route", {"connection_id": 1}, hook="shipment_notification") == {
        "action": "route is not available for order rules on Shipment notification"}
    assert errors_of("reject", {}, hook="shipment_notification", scope="line") == {
        "scope": "Shipment notification rules are order rules"}


def test_the_rules_own_fields_are_validated():
    assert rule_errors(hook="returns", scope="basket", name=" ", condition="", action="email",
                       arguments={}) == {
        "name": "name is required",
        "hook": "hook must be one of order_import, shipment_notification",
        "scope": "scope must be one of order, line",
        "condition": "condition is required (use true to match every order)",
        "action": "action must be one of accept, reject, set, hold, route, split, fail",
    }
    assert errors_of("accept", [], name="x" * 201) == {
        "name": "name must be at most 200 characters",
        "arguments": "arguments must be an object"}


def test_compile_errors_give_the_compilers_message_for_the_condition_and_cel_arguments():
    assert compile_errors("order", "order.total >", "split",
                          {"split_by": "line.sku.startsWith("}) == {
        "condition": "line 1, column 13: unexpected end of expression",
        "arguments.split_by": "line 1, column 20: unexpected end of expression",
    }
    assert compile_errors("order", "line.quantity > 1", "set",
                          {"field": "notes", "expression": "line.name"}) == {
        "condition": "line 1, column 1: line is only available in line rules and per-line "
                     "arguments",
        "arguments.expression": "line 1, column 1: line is only available in line rules and "
                                "per-line arguments",
    }
    assert compile_errors("line", "line.quantity > 1", "set",
                          {"field": "warehouse_sku", "expression": '"WH-" + line.sku'}) == {}


def test_unknown_argument_keys_are_named():
    assert argument_errors("route", "order", {"connection_id": 1, "facility": "Gift"}) == {
        "arguments.facility": "arguments.facility is not used by route"}

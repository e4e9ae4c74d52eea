"""Managing rules: create (inactive), update, activate (compiled first), deactivate, move,
delete, test; tenancy and the admin."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from dropstream.connections import actions as connection_actions
from dropstream.orders.models import Order, OrderLine
from dropstream.rules import actions
from dropstream.rules.errors import ActivationRefused, InvalidMove, InvalidRule
from dropstream.rules.facts import facts_from_json, facts_from_order
from dropstream.rules.models import Rule

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def new_rule(store, name: str, **kwargs) -> Rule:
    kwargs.setdefault("action", "reject")
    return actions.create_rule(store, name=name, **kwargs)


def positions(store, hook: str = "order_import") -> list[tuple[str, int]]:
    return [(r.name, r.position) for r in actions.store_rules(store, hook)]


@pytest.fixture
def other_store(other_merchant, store_token):
    return connection_actions.create_store(
        other_merchant, name="Other Store", platform="brightsites",
        adapter={"subdomain": "other", "api_token": store_token,
                 "api_url": "http://127.0.0.1:9/other/api/v2.6.1"})


def test_a_new_rule_is_inactive_and_goes_last(store):
    first = new_rule(store, "First")
    second = new_rule(store, "Second", condition='order.ship_to.country == "KP"')
    assert (first.active, first.position, second.position) == (False, 1, 2)
    third = new_rule(store, "Inserted", position=1)
    assert positions(store) == [("Inserted", 1), ("First", 2), ("Second", 3)]
    assert third.active is False


def test_hooks_have_their_own_positions(store):
    new_rule(store, "Import")
    shipment = new_rule(store, "Shipment", hook="shipment_notification", action="hold",
                        arguments={"for_minutes": 60})
    assert shipment.position == 1


def test_an_invalid_rule_is_refused_and_nothing_is_stored(store):
    with pytest.raises(InvalidRule) as caught:
        actions.create_rule(store, name="Route", action="route", arguments={})
    assert caught.value.errors == {
        "arguments.connection_id": "arguments.connection_id is required"}
    with pytest.raises(InvalidRule) as caught:
        new_rule(store, "Late", position=3)
    assert caught.value.errors == {"position": "position must be from 1 to 1"}
    assert Rule.objects.count() == 0


def test_a_draft_may_hold_a_condition_that_does_not_compile(store):
    rule = new_rule(store, "Draft", condition="order.total >")
    assert rule.condition == "order.total >"
    assert actions.rule_problems(rule) == {
        "condition": "line 1, column 13: unexpected end of expression"}


def test_activation_is_refused_with_the_compilers_message(store):
    rule = new_rule(store, "Broken", condition="order.ship_to.country == \"US\" &&\n  "
                                                "order.lines.exists(l, l.qty > 1)",
                    action="split", arguments={"split_by": "line.sku.startsWith("})
    with pytest.raises(ActivationRefused) as caught:
        actions.activate_rule(rule)
    assert caught.value.errors == {
        "condition": "line 2, column 27: l has no field 'qty'",
        "arguments.split_by": "line 1, column 20: unexpected end of expression",
    }
    rule.refresh_from_db()
    assert rule.active is False


def test_activation_refuses_a_route_to_a_connection_of_another_store(
        store, connection, other_merchant, other_store, warehouse_root):
    warehouse = connection_actions.create_warehouse(
        other_merchant, description="Other DC", platform="dropstream",
        adapter={"connection_string": f"file://{warehouse_root}"})
    foreign = connection_actions.create_connection(name="Other", customer=other_merchant,
                                                   store=other_store, warehouse=warehouse)
    rule = new_rule(store, "Route", action="route", arguments={"connection_id": foreign.pk})
    with pytest.raises(ActivationRefused) as caught:
        actions.activate_rule(rule)
    assert caught.value.errors == {
        "arguments.connection_id": f"arguments.connection_id: no connection {foreign.pk} "
                                   "serves this store"}
    ours = new_rule(store, "Route home", action="route",
                    arguments={"connection_id": connection.pk})
    assert actions.activate_rule(ours).active is True
    ours.refresh_from_db()
    assert ours.active is True


def test_an_active_rule_must_stay_valid_but_a_draft_need_not(store):
    rule = actions.activate_rule(new_rule(store, "Active", condition="order.total > 10.0"))
    with pytest.raises(InvalidRule) as caught:
        actions.update_rule(rule, condition="order.total >")
    assert caught.value.errors == {"condition": "line 1, column 13: unexpected end of expression"}
    rule.refresh_from_db()
    assert rule.condition == "order.total > 10.0"
    actions.deactivate_rule(rule)
    actions.update_rule(rule, condition="order.total >", name=" Renamed ")
    rule.refresh_from_db()
    assert (rule.condition, rule.name, rule.active) == ("order.total >", "Renamed", False)


def test_moving_a_rule_shifts_the_ones_in_between(store):
    for name in "ABCD":
        new_rule(store, name)
    d = Rule.objects.get(name="D")
    actions.move_rule(d, 2)
    assert positions(store) == [("A", 1), ("D", 2), ("B", 3), ("C", 4)]
    a = Rule.objects.get(name="A")
    assert actions.move_rule(a, 4).position == 4
    assert positions(store) == [("D", 1), ("B", 2), ("C", 3), ("A", 4)]
    with pytest.raises(InvalidMove) as caught:
        actions.move_rule(a, 5)
    assert caught.value.errors == {"position": "position must be from 1 to 4"}
    assert positions(store) == [("D", 1), ("B", 2), ("C", 3), ("A", 4)]


def test_deleting_a_rule_closes_the_gap(store):
    for name in "ABC":
        new_rule(store, name)
    actions.delete_rule(Rule.objects.get(name="B"))
    assert positions(store) == [("A", 1), ("C", 2)]


def test_test_rules_evaluates_the_active_rules_or_the_drafts_too(store, connection):
    order = Order.objects.create(connection=connection, store=store, external_id="1",
                                 ship_country="CA", total_amount=Decimal("20.00"))
    OrderLine.objects.create(order=order, store_sku="GIFT-1", quantity_ordered=1)
    OrderLine.objects.create(order=order, store_sku="TEE-M", quantity_ordered=1)
    actions.activate_rule(new_rule(store, "No gift cards", scope="line",
                                   condition='line.sku.startsWith("GIFT-")'))
    new_rule(store, "No Canada", condition='order.ship_to.country == "CA"')
    facts = facts_from_order(order)
    result = actions.test_rules(store, "order_import", facts, now=NOW)
    assert (result.outcome, result.rejected_lines) == ("accepted", frozenset({0}))
    assert result.line_id(0) == order.lines.get(store_sku="GIFT-1").pk
    result = actions.test_rules(store, "order_import", facts, now=NOW, include_inactive=True)
    assert result.outcome == "rejected"
    assert result.message.startswith('Rule "No Canada" (#')
    assert Rule.objects.filter(active=True).count() == 1
    pasted = facts_from_json({"shipping_address": {"country": "US"},
                              "items": [{"sku": "GIFT-9"}, {"sku": "MUG"}]}, now=NOW)
    result = actions.test_rules(store, "order_import", pasted, now=NOW)
    assert result.rejected_lines == frozenset({0}) and result.line_id(0) is None


def test_a_merchants_rules_are_scoped(store, other_store, merchant_user, outsider_user,
                                      admin_user):
    ours = new_rule(store, "Ours")
    theirs = new_rule(other_store, "Theirs")
    assert list(Rule.objects.visible_to(merchant_user)) == [ours]
    assert list(Rule.objects.visible_to(outsider_user)) == [theirs]
    assert set(Rule.objects.visible_to(admin_user)) == {ours, theirs}


def test_the_models_clean_reports_problems_under_the_model_fields(store):
    rule = Rule(store=store, name="Admin", action="route", arguments={}, active=True)
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert caught.value.message_dict == {
        "arguments": ["arguments.connection_id: arguments.connection_id is required"]}
    rule = Rule(store=store, name="Admin", action="reject", condition="order.x == 1",
                active=True)
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert caught.value.message_dict == {
        "condition": ["condition: line 1, column 7: order has no field 'x'"]}


def test_the_admin_lists_and_adds_rules(client, admin_user, store):
    new_rule(store, "Listed")
    client.force_login(admin_user)
    assert client.get("/admin/rules/rule/").status_code == 200
    assert client.get("/admin/rules/rule/add/").status_code == 200

"""The engine: top-down evaluation, overriding, line rules, holds, routes, splits, and errors
that stop one order only. No database: rules are unsaved ``Rule`` objects."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dropstream.rules.engine import Hold, Split, SplitGroup, compile_rules, evaluate
from dropstream.rules.facts import facts_from_json
from dropstream.rules.models import Rule

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def rule(n: int, action: str, condition: str = "true", *, scope: str = "order",
         arguments: dict | None = None, hook: str = "order_import", active: bool = True,
         position: int | None = None, name: str = "") -> Rule:
    return Rule(id=n, name=name or f"R{n}", hook=hook, position=n if position is None
                else position, active=active, scope=scope, condition=condition, action=action,
                arguments=arguments or {})


def order_facts(*skus: str, country: str = "US", email: str = "zoe@example.com",
                method: str = "USPS Priority", connection_id: int = 1):
    return facts_from_json({
        "id": 1, "connection_id": connection_id, "customer_email": email,
        "external_shipping_description": method, "total_amount": "50.00",
        "shipping_address": {"country": country, "state": "CO"},
        "items": [{"id": 100 + i, "sku": sku, "qty_ordered": 1 + i, "unit_price": "10.00"}
                  for i, sku in enumerate(skus or ("TEE-M",))],
    }, now=NOW)


def run(rules, facts=None, **kwargs):
    return evaluate(rules, facts or order_facts(), now=NOW, **kwargs)


# --- order and filters ----------------------------------------------------------------------

def test_rules_run_top_down_and_a_later_filter_overrides_an_earlier_one():
    reject_ca = rule(1, "reject", 'order.ship_to.country == "CA"', name="No Canada")
    accept_vip = rule(2, "accept", 'order.customer_email.endsWith("@vip.example")',
                      name="VIPs always")
    facts = order_facts(country="CA", email="amy@vip.example")
    result = run([accept_vip, reject_ca], facts)
    assert result.outcome == "accepted"
    assert result.activity() == ['Rule "No Canada" (#1) rejected the order',
                                 'Rule "VIPs always" (#2) accepted the order']
    moved = rule(2, "accept", 'order.customer_email.endsWith("@vip.example")', position=0,
                 name="VIPs always")
    result = run([moved, reject_ca], facts)
    assert result.outcome == "rejected"
    assert result.message == 'Rule "No Canada" (#1) rejected the order'
    assert [(t.rule_id, t.matched) for t in result.trace] == [(2, True), (1, True)]


def test_inactive_rules_and_other_hooks_are_left_out():
    rules = [rule(1, "reject", active=False), rule(2, "reject", hook="shipment_notification"),
             rule(3, "set", arguments={"field": "notes", "value": "seen"})]
    result = run(rules)
    assert result.outcome == "accepted"
    assert [t.rule_id for t in result.trace] == [3]
    assert run(rules, hook="shipment_notification").outcome == "rejected"


def test_a_set_field_is_seen_by_later_rules_and_the_last_value_wins():
    rules = [
        rule(1, "set", 'order.shipping_method == "Free Shipping"',
             arguments={"field": "shipping_method", "value": "UPS Ground"}),
        rule(2, "set", 'order.shipping_method.startsWith("UPS")',
             arguments={"field": "carrier", "value": "UPS"}),
        rule(3, "set", arguments={"field": "notes", "expression": '"Ship " + order.carrier'}),
        rule(4, "set", 'order.carrier == "UPS"',
             arguments={"field": "carrier", "value": "UPSN"}),
    ]
    result = run(rules, order_facts(method="Free Shipping"))
    assert result.order_fields == {"shipping_method": "UPS Ground", "carrier": "UPSN",
                                   "notes": "Ship UPS"}
    assert result.facts.order["carrier"] == "UPSN"
    assert result.decisions[2].describe() == "Rule \"R3\" (#3) set notes of the order to 'Ship UPS'"


# --- line rules -----------------------------------------------------------------------------

def test_a_line_rule_rejecting_by_sku_prefix_drops_only_those_lines():
    rules = [rule(1, "reject", 'line.sku.startsWith("GIFT-")', scope="line",
                  name="No gift cards")]
    result = run(rules, order_facts("TEE-M", "GIFT-25", "MUG-1", "GIFT-50"))
    assert result.outcome == "accepted"
    assert result.rejected_lines == frozenset({1, 3})
    assert [(t.line_index, t.matched) for t in result.trace] == [
        (0, False), (1, True), (2, False), (3, True)]
    assert [result.line_id(i) for i in sorted(result.rejected_lines)] == [101, 103]
    assert result.activity() == ['Rule "No gift cards" (#1) rejected line 2',
                                 'Rule "No gift cards" (#1) rejected line 4']


def test_a_later_line_accept_brings_a_line_back_and_all_lines_rejected_rejects_the_order():
    rules = [rule(1, "reject", scope="line"),
             rule(2, "accept", 'line.sku == "TEE-M"', scope="line")]
    result = run(rules, order_facts("TEE-M", "MUG-1"))
    assert result.outcome == "accepted" and result.rejected_lines == frozenset({1})
    result = run(rules[:1], order_facts("TEE-M", "MUG-1"))
    assert result.outcome == "rejected" and result.message == "every line was rejected"


def test_a_line_set_changes_that_lines_warehouse_sku():
    rules = [rule(1, "set", 'line.sku.startsWith("MUG-")', scope="line",
                  arguments={"field": "warehouse_sku", "expression": '"WH-" + line.sku'}),
             rule(2, "reject", 'line.warehouse_sku == ""', scope="line")]
    result = run(rules, order_facts("MUG-1", "TEE-M"))
    assert result.line_fields == {0: {"warehouse_sku": "WH-MUG-1"}}
    assert result.rejected_lines == frozenset({1})


def test_routing_one_line_and_the_order_where_the_line_route_is_more_specific():
    rules = [
        rule(1, "route", 'line.sku.startsWith("BAG-")', scope="line",
             arguments={"connection_id": 9}),
        rule(2, "route", 'order.ship_to.country == "US"', arguments={"connection_id": 5}),
        rule(3, "set", "line.connection_id == 9", scope="line",
             arguments={"field": "warehouse_sku", "value": "SEEN-AT-9"}),
    ]
    result = run(rules, order_facts("TEE-M", "BAG-1"))
    assert result.connection_id == 5
    assert result.line_connections == {1: 9}
    assert [int(line["connection_id"]) for line in result.facts.lines] == [5, 9]
    assert result.line_fields == {1: {"warehouse_sku": "SEEN-AT-9"}}
    assert result.activity() == ['Rule "R1" (#1) routed line 2 to connection 9',
                                 'Rule "R2" (#2) routed the order to connection 5',
                                 "Rule \"R3\" (#3) set warehouse_sku of line 2 to 'SEEN-AT-9'"]


# --- hold and split -------------------------------------------------------------------------

@pytest.mark.parametrize(("arguments", "hold"), [
    ({"until": "2026-12-01T09:00:00Z"}, Hold(until=datetime(2026, 12, 1, 9, tzinfo=UTC))),
    ({"until": "2026-12-01T10:00:00+01:00"}, Hold(until=datetime(2026, 12, 1, 9, tzinfo=UTC))),
    ({"for_minutes": 120}, Hold(until=NOW + timedelta(minutes=120))),
    ({"until_released": True}, Hold(until=None)),
])
def test_hold_variants(arguments, hold):
    result = run([rule(1, "hold", arguments=arguments)])
    assert result.outcome == "accepted" and result.hold == hold


def test_the_last_matching_hold_wins():
    result = run([rule(1, "hold", arguments={"for_minutes": 30}),
                  rule(2, "hold", arguments={"until_released": True}),
                  rule(3, "hold", "false", arguments={"for_minutes": 5})])
    assert result.hold == Hold(until=None)
    assert result.decisions[1].describe() == 'Rule "R2" (#2) held the order until released'


def test_split_by_condition_groups_lines_and_leaves_out_rejected_ones():
    rules = [rule(1, "split", 'order.lines.exists(l, l.sku.startsWith("PRE-"))',
                  arguments={"split_by": 'line.sku.startsWith("PRE-")'}),
             rule(2, "reject", 'line.sku == "GIFT-1"', scope="line")]
    result = run(rules, order_facts("TEE-M", "PRE-1", "GIFT-1", "PRE-2"))
    assert result.split == Split(by="split_by", groups=(
        SplitGroup(key=False, line_indexes=(0,)), SplitGroup(key=True, line_indexes=(1, 3))))
    assert result.decisions[0].describe() == 'Rule "R1" (#1) split the order into 2 orders'


def test_split_by_connection_routes_each_group():
    rules = [rule(1, "split", arguments={
        "connection_by_line": 'line.stock[7] >= line.quantity ? 7 : 8'})]
    facts = order_facts("TEE-M", "MUG-1", "CAP-1")
    lines = facts.order["lines"]
    for line, available in zip(lines, (5, 0, 9), strict=True):
        dict.__setitem__(line, "stock", {7: available})
    result = run(rules, facts)
    assert result.split == Split(by="connection_by_line", groups=(
        SplitGroup(key=7, line_indexes=(0, 2), connection_id=7),
        SplitGroup(key=8, line_indexes=(1,), connection_id=8)))


def test_a_split_key_that_is_not_a_connection_id_is_an_error():
    result = run([rule(1, "split", arguments={"connection_by_line": "line.sku"})])
    assert result.outcome == "error"
    assert result.message == ('rule "R1" (#1): line 1: connection_by_line must give a '
                              'connection id, not a string')


# --- terminal decisions and errors ----------------------------------------------------------

def test_fail_ends_the_evaluation_with_its_message():
    rules = [rule(1, "set", arguments={"field": "notes", "value": "x"}),
             rule(2, "fail", "line.quantity > 1", scope="line",
                  arguments={"message": "quantity over 1 needs a quote"}),
             rule(3, "reject")]
    result = run(rules, order_facts("TEE-M", "MUG-1", "CAP-1"))
    assert result.outcome == "failed"
    assert result.message == "line 2: quantity over 1 needs a quote"
    assert result.error_rule_id == 2
    assert result.order_fields == {}
    assert [(t.rule_id, t.line_index) for t in result.trace] == [(1, None), (2, 0), (2, 1)]


def test_a_run_time_error_names_the_rule_and_stops_only_that_order():
    rules = [rule(1, "set", arguments={"field": "notes", "value": "checked"}),
             rule(2, "reject", 'order.lines[2].sku == "X"', name="Third line"),
             rule(3, "hold", arguments={"for_minutes": 5})]
    compiled = compile_rules(rules)
    short = evaluate(compiled, order_facts("A", "B"), now=NOW)
    long = evaluate(compiled, order_facts("A", "B", "C"), now=NOW)
    assert short.outcome == "error"
    assert short.message == 'rule "Third line" (#2): index out of range'
    assert short.error_rule_id == 2
    assert short.hold is None and short.order_fields == {}
    assert short.trace[-1].error == "index out of range"
    assert short.decisions[-1].action == "error"
    assert short.activity() == ['Rule "R1" (#1) set notes of the order to \'checked\'',
                                'Rule "Third line" (#2) could not be evaluated: index out of '
                                'range']
    assert long.outcome == "accepted"
    assert long.order_fields == {"notes": "checked"} and long.hold is not None


def test_a_line_rule_error_names_the_line():
    result = run([rule(4, "reject", "line.stock[3] > 0", scope="line", name="Stock")],
                 order_facts("A", "B"))
    assert result.message == "rule \"Stock\" (#4): line 1: no such key 3"
    assert result.trace[-1].line_index == 0


def test_a_non_boolean_condition_is_a_plain_error():
    result = run([rule(1, "reject", "order.total")])
    assert result.message == ('rule "R1" (#1): the condition must be true or false, but gave '
                              'a double')


def test_an_active_rule_that_does_not_compile_is_an_error_for_the_order():
    result = run([rule(1, "reject", "order.total >")])
    assert result.outcome == "error"
    assert result.message == ('rule "R1" (#1): does not compile: line 1, column 13: '
                              'unexpected end of expression')


def test_a_set_expression_must_give_text():
    result = run([rule(1, "set", arguments={"field": "notes", "expression": "order.total"})])
    assert result.message == 'rule "R1" (#1): the set expression must give text, not a double'


def test_a_hostile_rule_fails_its_order_in_bounded_time():
    facts = facts_from_json({"items": [{"sku": f"S{i}"} for i in range(1000)]}, now=NOW)
    rules = [rule(1, "reject", "order.lines.all(a, order.lines.all(b, a.index >= 0))",
                  name="Quadratic")]
    started = time.thread_time()
    result = run(rules, facts)
    assert time.thread_time() - started < 0.5
    assert result.outcome == "error"
    assert result.message.startswith('rule "Quadratic" (#1): stopped after ')


def test_compile_rules_filters_sorts_and_is_reused():
    rules = [rule(3, "accept", position=1), rule(1, "reject", active=False),
             rule(2, "accept", position=1)]
    compiled = compile_rules(rules)
    assert [r.id for r in compiled] == [2, 3]
    assert compile_rules(compiled) is compiled
    with pytest.raises(ValueError, match="compiled for order_import, not shipment_notification"):
        evaluate(compiled, order_facts(), now=NOW, hook="shipment_notification")
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        evaluate(compiled, order_facts(), now=datetime(2026, 11, 20))


def test_one_compiled_rule_set_serves_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    compiled = compile_rules([
        rule(1, "reject", 'order.lines.exists(l, l.sku.startsWith("GIFT-"))'),
        rule(2, "hold", "order.line_count > 2", arguments={"for_minutes": 5})])
    orders = [order_facts(*(["GIFT-1"] if n % 3 == 0 else ["TEE-M"] * (n % 5 + 1)))
              for n in range(200)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda f: evaluate(compiled, f, now=NOW), orders))
    expected = [evaluate(compiled, f, now=NOW) for f in orders]
    assert [(e.outcome, e.hold) for e in outcomes] == [(e.outcome, e.hold) for e in expected]
    assert sum(e.outcome == "rejected" for e in outcomes) == 67

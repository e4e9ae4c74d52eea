"""The CEL sandbox: what compiles, what is refused (with the compiler's message and position),
what a run-time error says, and that hostile expressions are stopped in time."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from celpy import celtypes
from hypothesis import given, settings
from hypothesis import strategies as st

from dropstream.rules import expressions
from dropstream.rules.errors import BudgetExceeded, RuleRuntimeError, RuleSyntaxError
from dropstream.rules.expressions import LINE_VARIABLES, compile_expression
from dropstream.rules.facts import facts_from_json

NOW = celtypes.TimestampType(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
HUNDRED = "[" + ",".join(["1"] * 100) + "]"


@pytest.fixture(scope="module")
def order():
    return facts_from_json({
        "id": 7, "customer_email": "Zoe@Example.com", "total_amount": "120.50",
        "external_shipping_description": "UPS Ground", "notes": "n" * 5000,
        "shipping_address": {"country": "US", "state": "CO", "city": "Denver",
                             "zipcode": "80202"},
        "created_at": "2026-11-20T11:00:00Z",
        "items": [{"id": 10 + i, "sku": f"TEE-{i}", "qty_ordered": 2, "unit_price": "10.00"}
                  for i in range(3)] + [{"id": 99, "sku": "PRE-1", "qty_ordered": 1}],
    }).order


@pytest.fixture(scope="module")
def big_order():
    return facts_from_json({"items": [{"sku": f"S{i}", "qty_ordered": 1}
                                      for i in range(1000)]}).order


def run(text: str, order, **extra):
    return compile_expression(text, variables=LINE_VARIABLES if "line" in extra
                              else expressions.ORDER_VARIABLES).evaluate(
        {"order": order, "now": NOW, **extra})


def syntax_error(text: str, **kwargs) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_expression(text, **kwargs)
    return caught.value


# --- compiling ------------------------------------------------------------------------------

def test_it_evaluates_conditions_over_the_order(order):
    assert bool(run('order.ship_to.country == "US" && order.total > 100', order)) is True
    assert bool(run('order.lines.exists(l, l.sku.startsWith("PRE-"))', order)) is True
    assert bool(run('order.lines.all(l, l.quantity >= 2)', order)) is False
    assert bool(run('order.customer_email.lowerAscii().endsWith("@example.com")', order))
    assert bool(run('order.ship_to.state in ["CO", "WY"]', order)) is True
    assert bool(run('now - order.created_at < duration("2h")', order)) is True
    assert int(run("order.lines.filter(l, l.sku.startsWith(\"TEE\")).size()", order)) == 3
    assert run("order.lines.map(l, l.quantity)", order) == [2, 2, 2, 1]


def test_numbers_compare_across_int_and_double_but_arithmetic_does_not(order):
    assert bool(run("order.total > 100", order)) is True
    assert bool(run("100 < order.total", order)) is True
    assert bool(run("order.quantity == 7.0", order)) is True
    with pytest.raises(RuleRuntimeError) as caught:
        run("order.total + 1 > 0.0", order)
    assert caught.value.reason == "cannot add double and int"


def test_a_compiled_text_is_cached():
    assert compile_expression("order.id == 1") is compile_expression("order.id == 1")


def test_a_syntax_error_gives_the_compilers_message_and_position():
    error = syntax_error("order.total >")
    assert (error.line, error.column) == (1, 13)
    assert error.message == "line 1, column 13: unexpected end of expression"
    assert error.context == "order.total >\n            ^"
    error = syntax_error('order.total == 1 &&\n  order.notes = "x"')
    assert (error.line, error.column) == (2, 15)
    assert error.message == "line 2, column 15: unexpected character '='"


def test_unknown_names_functions_and_methods_are_refused_at_compile_time():
    assert syntax_error("shipment.id == 1").message == (
        "line 1, column 1: unknown name 'shipment'; expressions can use now, order")
    assert syntax_error('line.sku == "A"').message == (
        "line 1, column 1: line is only available in line rules and per-line arguments")
    assert syntax_error("order.lines.exists(l, m.sku == \"A\")").message == (
        "line 1, column 23: unknown name 'm'; expressions can use now, order")
    assert syntax_error("exec(order.id)").message == "line 1, column 1: unknown function 'exec'"
    assert syntax_error("order.notes.split(',') == []").message == (
        "line 1, column 13: unknown method 'split'")
    assert syntax_error('order.customer_email.matches("(a+)+$")').message.startswith(
        "line 1, column 22: matches() is not available in rules")
    assert syntax_error("order.lines.reduce(x, 1) == 1").message == (
        "line 1, column 13: reduce() is not supported")


def test_a_line_rule_sees_line_and_a_macro_variable_is_scoped():
    compile_expression('line.sku.startsWith("A") && order.id > 0', variables=LINE_VARIABLES)
    assert syntax_error("order.lines.exists(l, true) && l.sku == \"A\"").message == (
        "line 1, column 32: unknown name 'l'; expressions can use now, order")


def test_attribute_access_outside_order_line_and_now_is_refused():
    for text, message in [
        ("__class__ == 1", "line 1, column 1: unknown name '__class__'; expressions can use "
                           "now, order"),
        ("nested_activation == 1", "line 1, column 1: unknown name 'nested_activation'; "
                                   "expressions can use now, order"),
        (".order.id == 1", "line 1, column 1: a leading '.' before a name is not supported"),
        ("google.protobuf.Int32Value{value: 1} == 1",
         "line 1, column 1: message construction (Type{field: …}) is not supported"),
        ("order.lines.exists(_budget, true)",
         "line 1, column 20: '_budget' cannot name a macro variable; use a lower-case name "
         "such as l or x"),
        ("order.lines.exists(bind, true)",
         "line 1, column 20: 'bind' cannot name a macro variable; use a lower-case name "
         "such as l or x"),
        ("order.lines.exists(order, true)",
         "line 1, column 20: 'order' is already defined; choose another name"),
    ]:
        assert syntax_error(text).message == message


def test_a_misspelt_field_is_refused_at_compile_time_with_a_hint():
    assert syntax_error('order.shiping_method == "UPS"').message == (
        "line 1, column 7: order has no field 'shiping_method'; did you mean shipping_method?")
    assert syntax_error('order.ship_to.zip == "80202"').message == (
        "line 1, column 15: order.ship_to has no field 'zip'")
    assert syntax_error('order.lines.filter(l, true).exists(m, m.skus == "A")').message == (
        "line 1, column 41: m has no field 'skus'; did you mean sku?")
    assert syntax_error("line.warehouse_sk == ''", variables=LINE_VARIABLES).message == (
        "line 1, column 6: line has no field 'warehouse_sk'; did you mean warehouse_sku?")
    assert syntax_error("order.__class__ == 1").message == (
        "line 1, column 7: order has no field '__class__'")


def test_a_field_the_check_cannot_follow_is_a_run_time_no_such_key(order):
    with pytest.raises(RuleRuntimeError) as caught:
        run("order.lines[0].__class__ == 1", order)
    assert caught.value.reason == "no such key '__class__'"


def test_a_very_long_expression_is_refused():
    error = syntax_error("true && " * 300 + "true")
    assert error.message == "the expression is 2,404 characters long; the limit is 2,000"
    assert error.line is None


def test_deep_nesting_is_refused_with_its_position():
    error = syntax_error("(" * 13 + "1" + ")" * 13 + " == 1")
    assert error.message == "line 1, column 13: brackets nested deeper than 12 levels"
    error = syntax_error("!" * 300 + "true")
    assert error.message.endswith("the expression nests deeper than 200 levels of operators")
    error = syntax_error(" + ".join(["1"] * 400) + " > 0")
    assert error.message.endswith("the expression nests deeper than 200 levels of operators")


def test_an_unterminated_string_of_backslashes_is_refused_before_the_lexer_backtracks():
    # cel-python's string pattern backtracks exponentially here: 30 pairs would not finish.
    started = time.thread_time()
    error = syntax_error('order.notes == "' + "\\\\" * 30)
    assert time.thread_time() - started < 0.5
    assert error.message == "line 1, column 16: unterminated string"
    assert syntax_error("'abc\n'").message == "line 1, column 1: unterminated string"
    assert syntax_error('"""abc""').message == "line 1, column 1: unterminated string"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="\"'\\ \nrbx", max_size=40))
def test_no_text_of_quotes_and_backslashes_makes_the_compiler_hang(text):
    started = time.thread_time()
    try:
        compile_expression(text)
    except RuleSyntaxError:
        pass
    assert time.thread_time() - started < 0.5


def test_an_invalid_timestamp_literal_is_refused_at_compile_time():
    assert syntax_error('order.created_at > timestamp("yesterday")').message == (
        "line 1, column 20: timestamp('yesterday') is not a valid timestamp")


# --- run-time errors ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "reason"), [
    ('order["gift"] == 1', "no such key 'gift'"),
    ("order.lines[0].zip == '1'", "no such key 'zip'"),
    ("order.id / 0 == 1", "division by zero"),
    ('order.id == "7"', "cannot compare int with string"),
    ('order.total < "7"', "cannot compare double < string"),
    ("order.lines[9].sku == 'A'", "index out of range"),
    ('"a" + order.id == "a7"', "cannot add string and int"),
    ("9223372036854775807 + order.id > 0", "number out of range"),
    ("order.notes.startsWith(1)", "startsWith() works on strings, not string and int"),
    ('order.lines.exists(l, l.sku)', "the expression of exists() must be true or false, "
                                     "not a string"),
    ("order.total", "the condition must be true or false, but gave a double"),
])
def test_run_time_errors_have_plain_reasons(order, text, reason):
    with pytest.raises(RuleRuntimeError) as caught:
        compile_expression(text).evaluate_bool({"order": order, "now": NOW})
    assert caught.value.reason == reason


def test_errors_follow_cels_rules_for_or_and_exists(order):
    # An error on one side of || is absorbed when the other side is true, as CEL says.
    assert bool(run('order["gift"] == 1 || order.id == 7', order)) is True
    assert bool(run("order.lines.exists(l, l.sku == 'PRE-1' || l.stock[1] > 0)", order)) is True
    with pytest.raises(RuleRuntimeError):
        run('order["gift"] == 1 || order.id == 8', order)
    assert bool(run("has(order.lines[0].gift)", order)) is False
    assert bool(run("has(order.notes)", order)) is True


# --- bounded evaluation ---------------------------------------------------------------------

def assert_stopped(text: str, order, reason: str) -> None:
    program = compile_expression(text)
    started = time.thread_time()
    with pytest.raises(RuleRuntimeError) as caught:
        program.evaluate({"order": order, "now": NOW})
    assert time.thread_time() - started < 0.5
    assert caught.value.reason == reason


STOPPED_50_MS = "stopped after 50 ms of work; simplify the expression"
STOPPED_STEPS = ("stopped after 20,000 steps (macro iterations and compared elements); "
                 "simplify the expression")


def test_nested_maps_are_stopped_within_the_time_budget(order):
    text = f"{HUNDRED}.map(x, {HUNDRED}.map(y, {HUNDRED}.map(z, x + y + z))).size() > 0"
    program = compile_expression(text)
    started = time.thread_time()
    with pytest.raises(BudgetExceeded) as caught:
        program.evaluate({"order": order, "now": NOW})
    assert time.thread_time() - started < 0.5
    assert caught.value.reason in (STOPPED_50_MS, STOPPED_STEPS)


def test_a_quadratic_macro_over_a_thousand_lines_is_stopped(big_order):
    program = compile_expression("order.lines.all(a, order.lines.all(b, a.sku != b.sku || "
                                 "a.index == b.index))")
    started = time.thread_time()
    with pytest.raises(BudgetExceeded):
        program.evaluate({"order": big_order, "now": NOW})
    assert time.thread_time() - started < 0.5


def test_the_step_limit_holds_however_fast_the_steps_are(big_order):
    # 21 × 1,000 cheap iterations: over 20,000 steps, well under 50 ms on any machine.
    text = " || ".join(f'order.lines.exists(l, l.index < 0 && l.sku == "{n}")'
                       for n in range(21))
    program = compile_expression(text)
    with pytest.raises(BudgetExceeded) as caught:
        program.evaluate({"order": big_order, "now": NOW},
                         deadline=time.thread_time() + 60)
    assert caught.value.reason in (STOPPED_STEPS, STOPPED_50_MS)


def test_comparing_huge_nested_lists_is_charged_per_element(order):
    text = f"{HUNDRED}.map(x, {HUNDRED}.map(y, {HUNDRED})) == {HUNDRED}.map(x, {HUNDRED}.map(y, {HUNDRED}))"
    program = compile_expression(text)
    started = time.thread_time()
    with pytest.raises(BudgetExceeded):
        program.evaluate({"order": order, "now": NOW})
    assert time.thread_time() - started < 0.5


def test_string_doubling_is_stopped_by_the_size_limit(order):
    doubling = "".join(f".map(v{n}, v{n} + v{n})" for n in range(8))
    assert_stopped(f"[order.notes]{doubling}.size() == 1", order,
                   "a string grew past 100,000 characters")


def test_string_and_list_repetition_is_refused(order):
    assert_stopped('"ab" * 1000000000 == "a"', order, "cannot multiply string and int")
    assert_stopped("[1] * 1000000000 == [1]", order, "cannot multiply list and int")


def test_printing_a_huge_list_is_refused(order):
    assert_stopped(f'string({HUNDRED}.map(x, {HUNDRED})) == ""', order,
                   "string() converts scalars, not a list")


def test_the_callers_deadline_stops_it_earlier(big_order):
    program = compile_expression("order.lines.all(a, order.lines.all(b, true))")
    started = time.thread_time()
    with pytest.raises(BudgetExceeded):
        program.evaluate({"order": big_order, "now": NOW}, deadline=time.thread_time() + 0.01)
    assert time.thread_time() - started < 0.04


def test_an_evaluation_after_a_stopped_one_has_its_full_budget(big_order):
    bindings = expressions.Bindings({"order": big_order, "now": NOW})
    hostile = compile_expression("order.lines.all(a, order.lines.all(b, true))")
    with pytest.raises(BudgetExceeded):
        hostile.evaluate(bindings)
    assert bool(compile_expression("order.lines.exists(l, l.sku == 'S999')").evaluate(
        bindings)) is True

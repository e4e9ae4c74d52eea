"""The connection page's Rules and Test tabs: the list per hook with switch, move and delete;
the rule form with the compiler's message as you type (htmx); the Test tab's trace; roles and
tenancy."""

from __future__ import annotations

import json

import pytest

from dropstream.rules import actions
from dropstream.rules.models import Rule

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 costs ~0.3 s per user, and each test makes two or three."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def rules_url(connection, *rest: object) -> str:
    return "/".join([f"/connections/{connection.pk}/rules", *map(str, rest)]) + "/"


def form(**values: str) -> dict[str, str]:
    base = {"name": "A rule", "hook": "order_import", "scope": "order", "condition": "true",
            "action": "reject"}
    return {**base, **values}


def test_the_rules_tab_lists_each_hooks_rules_top_down(staff_client, connection):
    store = connection.store
    actions.create_rule(store, name="Second", action="reject")
    actions.create_rule(store, name="First", action="accept", position=1,
                        condition="order.total >")
    actions.create_rule(store, name="Late shipments", hook="shipment_notification",
                        action="hold", arguments={"for_minutes": 30})
    body = staff_client.get(rules_url(connection)).content.decode()
    imports = body[body.index('id="rules-order_import"'):body.index(
        'id="rules-shipment_notification"')]
    assert imports.index(">First<") < imports.index(">Second<")
    assert "Late shipments" not in imports and "Late shipments" in body
    # A draft that does not compile says why before anyone tries to switch it on.
    assert "Cannot be switched on yet: line 1, column 13: unexpected end of expression" in body
    assert 'aria-label="First active"' in body and 'id="new-rule"' in body


def test_merchant_users_see_the_rules_but_cannot_change_them(merchant_client, connection):
    rule = actions.create_rule(connection.store, name="Mine", action="reject")
    body = merchant_client.get(rules_url(connection)).content.decode()
    assert "Mine" in body and 'id="new-rule"' not in body and 'role="switch"' not in body
    assert merchant_client.get(rules_url(connection, "new")).status_code == 403
    for path, data in ((rules_url(connection, rule.pk, "active"), {"active": "1"}),
                       (rules_url(connection, rule.pk, "delete"), {}),
                       (rules_url(connection, rule.pk), form(name="Taken")),
                       (rules_url(connection, "check"), form())):
        assert merchant_client.post(path, data).status_code == 403, path
    rule.refresh_from_db()
    assert (rule.name, rule.active, Rule.objects.count()) == ("Mine", False, 1)


def test_another_merchants_rules_are_not_found(staff_client, merchant_client, connection,
                                               other_connection, scoped_staff_user):
    theirs = actions.create_rule(other_connection.store, name="Theirs", action="reject")
    # A rule of another store is not found under this connection, even for unscoped staff.
    assert staff_client.get(rules_url(connection, theirs.pk)).status_code == 404
    assert staff_client.post(rules_url(connection, theirs.pk, "delete")).status_code == 404
    assert merchant_client.get(rules_url(other_connection)).status_code == 404
    assert merchant_client.get(rules_url(other_connection, "test")).status_code == 404
    from tests.web.conftest import login

    scoped = login(scoped_staff_user)
    assert scoped.post(rules_url(other_connection, theirs.pk, "active"),
                       {"active": "1"}).status_code == 404
    assert Rule.objects.get(pk=theirs.pk).active is False


@pytest.fixture
def scoped_staff_user(merchant):
    from dropstream.accounts.models import User

    user = User.objects.create_user("scoped@example.com", "pw-scoped-1", role="staff")
    user.merchants.add(merchant)
    return user


def test_a_new_rule_is_saved_inactive_with_its_actions_arguments(staff_client, connection,
                                                                 other_connection):
    page = staff_client.get(rules_url(connection, "new")).content.decode()
    # Route offers the store's connections only.
    assert f'<option value="{connection.pk}">' in page
    assert f'<option value="{other_connection.pk}">' not in page
    response = staff_client.post(rules_url(connection, "new"), form(
        name="US to A", condition='order.ship_to.country == "US"', action="route",
        route_connection=str(connection.pk), fail_message="ignored: not this action"))
    assert response.status_code == 302 and response["Location"] == rules_url(connection)
    rule = Rule.objects.get()
    assert (rule.name, rule.action, rule.arguments, rule.active, rule.position) == (
        "US to A", "route", {"connection_id": connection.pk}, False, 1)
    listed = staff_client.get(rules_url(connection)).content.decode()
    assert "<td>Route → Acme → Acme DC</td>" in listed


@pytest.mark.parametrize(("values", "arguments"), [
    ({"action": "set", "set_field": "carrier", "set_source": "value", "set_value": "UPS"},
     {"field": "carrier", "value": "UPS"}),
    ({"action": "set", "set_field": "notes", "set_source": "expression",
      "set_expression": 'order.notes + " (gift)"'},
     {"field": "notes", "expression": 'order.notes + " (gift)"'}),
    ({"action": "hold", "hold_kind": "until", "hold_until": "2026-12-24T09:00:00Z"},
     {"until": "2026-12-24T09:00:00Z"}),
    ({"action": "hold", "hold_kind": "for_minutes", "hold_for_minutes": "120"},
     {"for_minutes": 120}),
    ({"action": "hold", "hold_kind": "until_released"}, {"until_released": True}),
    ({"action": "split", "split_kind": "split_by",
      "split_expression": 'line.sku.startsWith("FRZ")'}, {"split_by": 'line.sku.startsWith("FRZ")'}),
    ({"action": "fail", "fail_message": "Call the customer"}, {"message": "Call the customer"}),
])
def test_each_actions_arguments_are_saved_and_shown_again(staff_client, connection, values,
                                                          arguments):
    response = staff_client.post(rules_url(connection, "new"), form(**values))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = Rule.objects.get()
    assert rule.arguments == arguments
    # The edit form shows the same values, and saving it unchanged keeps them.
    page = staff_client.get(rules_url(connection, rule.pk))
    initial = {name: value for name, value in page.context["form"].initial.items()
               if value not in (None, "")}
    assert staff_client.post(rules_url(connection, rule.pk),
                             {**form(), **initial}).status_code == 302
    rule.refresh_from_db()
    assert rule.arguments == arguments


def test_refused_fields_are_shown_beside_the_field_and_nothing_is_stored(staff_client,
                                                                        connection):
    response = staff_client.post(rules_url(connection, "new"), form(
        name="", action="set", set_source="value", set_value="x"))
    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="err-id_set_field" role="alert">arguments.field is required' in body
    assert 'id="err-id_name" role="alert">name is required' in body
    assert Rule.objects.count() == 0


def test_the_check_answers_the_compilers_message_for_each_expression(staff_client,
                                                                     connection):
    response = staff_client.post(rules_url(connection, "check"), form(
        condition="order.total > ", action="set", set_expression="order.carrier +",
        split_expression='line.sku.startsWith("A")'), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert ('<p class="cel-check bad" id="check-condition" aria-live="polite" '
            'hx-swap-oob="true" role="alert">line 1, column 13: unexpected end of expression'
            '</p>') in body
    assert 'id="check-set_expression"' in body and "line 1, column 15:" in body
    assert ('<p class="cel-check ok" id="check-split_expression" aria-live="polite" '
            'hx-swap-oob="true">Compiles.</p>') in body
    outside = staff_client.post(rules_url(connection, "check"),
                                form(condition="order.__class__"), **HTMX).content.decode()
    assert "line 1, column 7: order has no field &#x27;__class__&#x27;" in outside
    # Line fields need a line rule: the scope decides what compiles.
    line = staff_client.post(rules_url(connection, "check"),
                             form(scope="line", condition='line.sku == "A"'),
                             **HTMX).content.decode()
    assert 'class="cel-check ok" id="check-condition"' in line
    assert Rule.objects.count() == 0


def test_the_switch_activates_only_a_rule_that_compiles(staff_client, connection):
    rule = actions.create_rule(connection.store, name="Big orders", action="reject",
                               condition="order.total >")
    refused = staff_client.post(rules_url(connection, rule.pk, "active"), {"active": "1"},
                                **HTMX)
    body = refused.content.decode()
    assert refused.status_code == 200 and body.startswith('<div id="rule-lists">')
    assert ('<p class="field-error" role="alert">“Big orders” stays inactive: condition: line '
            '1, column 13: unexpected end of expression</p>') in body
    rule.refresh_from_db()
    assert rule.active is False
    # Without htmx: a redirect and the same message.
    plain = staff_client.post(rules_url(connection, rule.pk, "active"), {"active": "1"},
                              follow=True)
    assert "stays inactive: condition: line 1, column 13" in plain.content.decode()

    actions.update_rule(rule, condition="order.total > 500")
    on = staff_client.post(rules_url(connection, rule.pk, "active"), {"active": "1"}, **HTMX)
    assert 'aria-checked="true" aria-label="Big orders active"' in on.content.decode()
    rule.refresh_from_db()
    assert rule.active is True
    staff_client.post(rules_url(connection, rule.pk, "active"), {"active": "0"}, **HTMX)
    rule.refresh_from_db()
    assert rule.active is False


def test_an_active_rule_is_not_saved_with_a_condition_that_does_not_compile(staff_client,
                                                                           connection):
    rule = actions.activate_rule(actions.create_rule(connection.store, name="On",
                                                     action="reject", condition="true"))
    response = staff_client.post(rules_url(connection, rule.pk),
                                 form(name="On", condition="order.shiping_method == ''"))
    body = response.content.decode()
    assert response.status_code == 422
    assert ('id="err-id_condition" role="alert">line 1, column 7: order has no field '
            '&#x27;shiping_method&#x27;') in body
    rule.refresh_from_db()
    assert rule.condition == "true"


def test_move_up_and_down_and_delete(staff_client, connection):
    store = connection.store
    a, b, c = (actions.create_rule(store, name=n, action="reject") for n in "ABC")
    staff_client.post(rules_url(connection, c.pk, "move"), {"direction": "up"}, **HTMX)
    staff_client.post(rules_url(connection, a.pk, "move"), {"direction": "up"}, **HTMX)
    assert [r.name for r in actions.store_rules(store, "order_import")] == ["A", "C", "B"]
    staff_client.post(rules_url(connection, b.pk, "move"), {"direction": "down"}, **HTMX)
    assert [r.name for r in actions.store_rules(store, "order_import")] == ["A", "C", "B"]
    deleted = staff_client.post(rules_url(connection, a.pk, "delete"))
    assert deleted.status_code == 302
    assert [(r.name, r.position) for r in actions.store_rules(store, "order_import")] == [
        ("C", 1), ("B", 2)]


# --------------------------------------------------------------------------------- Test tab ----

def test_the_test_tab_runs_active_rules_on_a_chosen_order(merchant_client, connection, order):
    rule = actions.activate_rule(actions.create_rule(
        connection.store, name="Red tees by hand", scope="line",
        condition='line.sku.startsWith("TEE-RED")', action="set",
        arguments={"field": "warehouse_sku", "value": "HAND-RED"}))
    page = merchant_client.get(rules_url(connection, "test"), {"order": order.pk})
    assert page.context["form"].initial["order"] == str(order.pk)
    response = merchant_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "order": str(order.pk)})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="test-outcome">accepted</span>' in body
    assert (f"Rule &quot;Red tees by hand&quot; (#{rule.pk}) set warehouse_sku of line 1 to "
            "&#x27;HAND-RED&#x27;") in body
    assert "<li>Line 1 warehouse_sku → <code>HAND-RED</code></li>" in body
    line = order.lines.get()
    assert line.warehouse_sku == ""  # the test changed nothing


def test_the_test_tab_shows_where_a_route_sends_the_order(staff_client, connection, order):
    actions.activate_rule(actions.create_rule(
        connection.store, name="US to the DC", condition='order.ship_to.country == "US"',
        action="route", arguments={"connection_id": connection.pk}))
    body = staff_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "order": str(order.pk)}).content.decode()
    assert f"<li>Order sent through Acme → Acme DC (#{connection.pk})</li>" in body


def test_the_test_tab_runs_on_pasted_json_and_names_a_failing_rule(staff_client, connection):
    actions.activate_rule(actions.create_rule(connection.store, name="Gift cards",
                                              scope="line", action="reject",
                                              condition='line.sku.startsWith("GIFT")'))
    broken = actions.activate_rule(actions.create_rule(
        connection.store, name="Weight", action="reject", condition="order.total / 0.0 > 1 "
                                                                    "&& 1 / order.quantity > 0"))
    pasted = {"order": {"items": [{"sku": "GIFT-1", "qty_ordered": 0}]}}
    response = staff_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "pasted": json.dumps(pasted)})
    report = response.context["report"]
    assert report["rejected_lines"] == [] and report["outcome"] == "error"
    assert report["error_rule_id"] == broken.pk
    assert report["message"].startswith(f'rule "Weight" (#{broken.pk}): ')
    assert [(t["rule_name"], t["matched"]) for t in report["trace"]] == [
        ("Gift cards", True), ("Weight", None)]


def test_the_test_tab_says_what_is_wrong_with_the_input(staff_client, connection, order):
    bad_json = staff_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "pasted": '{"items": [}'})
    assert bad_json.status_code == 422
    assert "Not valid JSON: Expecting value (line 1, column 12)." in bad_json.content.decode()
    bad_field = staff_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "pasted": '{"items": [{"qty_ordered": -1}]}'})
    assert bad_field.status_code == 422
    assert "items[0].qty_ordered: must be a whole number, 0 or more" in \
        bad_field.content.decode()
    both = staff_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "order": str(order.pk), "pasted": "{}"})
    assert both.status_code == 422
    assert "Choose an order or paste one (not both)." in both.content.decode()


def test_the_test_tab_offers_only_this_stores_orders(staff_client, connection, order,
                                                     other_order):
    response = staff_client.post(rules_url(connection, "test"), {
        "hook": "order_import", "order": str(other_order.pk)})
    assert response.status_code == 422
    assert "report" not in response.context
    assert f'<option value="{other_order.pk}"' not in response.content.decode()

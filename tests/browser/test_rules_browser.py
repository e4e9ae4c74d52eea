"""The rules editor in Chromium: a bad condition shows the compiler's message as it is typed
(htmx, nothing submitted), fixing it says "Compiles."; the rule is saved, switched on, and the
Test tab runs it on pasted order JSON. No CSP violation on the way."""

from __future__ import annotations

import json

import pytest

from dropstream.accounts.models import User
from dropstream.rules.models import Rule
from dropstream.rules.validation import compile_errors
from tests.fixtures.secret_leaks import make_secret

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"),
              pytest.mark.django_db(transaction=True)]

PASTED = {"order": {"external_display_id": "R42", "shipping_address": {"country": "CA"},
                    "items": [{"sku": "TEE-S", "qty_ordered": 1, "unit_price": "20.00"}]}}


def test_a_rule_is_written_checked_as_typed_activated_and_tested(page, live_server,
                                                                 connection, artifacts):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    password = make_secret("pw")
    User.objects.create_user("ops@example.com", password, role="staff")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", "ops@example.com")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/connections/{connection.pk}/rules/")
    page.click("#new-rule")
    page.wait_for_url(f"{base}/connections/{connection.pk}/rules/new/")
    # Only the chosen action's arguments show (app.js).
    page.select_option("#id_action", "fail")
    assert page.is_visible("#id_fail_message") and not page.is_visible("#id_set_field")

    page.fill("#id_name", "No orders outside the US")
    page.fill("#id_condition", "")
    page.type("#id_condition", "order.ship_to.country != ", delay=10)
    check = page.locator("#check-condition")
    check.filter(has_text="unexpected end of expression").wait_for()
    assert check.text_content() == compile_errors("order", "order.ship_to.country != ",
                                                  "fail", {})["condition"]
    assert Rule.objects.count() == 0  # checked as typed, nothing submitted
    page.screenshot(path=str(artifacts / "rule-form-error.png"), full_page=True)
    page.type("#id_condition", '"US"', delay=10)
    check.filter(has_text="Compiles.").wait_for()

    page.fill("#id_fail_message", "We ship to the US only")
    page.click("#save-rule")
    page.wait_for_url(f"{base}/connections/{connection.pk}/rules/")
    rule = Rule.objects.get()
    assert (rule.condition, rule.arguments, rule.active) == (
        'order.ship_to.country != "US"', {"message": "We ship to the US only"}, False)

    page.click(f"#rule-{rule.pk} button[role=switch]")
    page.wait_for_selector(f"#rule-{rule.pk} button[aria-checked=true]")
    rule.refresh_from_db()
    assert rule.active is True
    page.screenshot(path=str(artifacts / "rules-list.png"), full_page=True)

    page.click("nav.tabs a:has-text('Test rules')")
    page.fill("#id_pasted", json.dumps(PASTED, indent=1))
    page.click("#run-test")
    page.wait_for_selector("#test-outcome")
    assert page.text_content("#test-outcome") == "failed"
    assert page.text_content("#test-message") == "We ship to the US only"
    trace = page.text_content("#test-trace")
    assert "No orders outside the US" in trace and "matched" in trace
    assert f'Rule "No orders outside the US" (#{rule.pk}) failed the order' in trace
    page.screenshot(path=str(artifacts / "rules-test.png"), full_page=True)
    assert problems == []

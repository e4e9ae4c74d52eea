"""``/api/stores/{store_id}/rules``: create (inactive), read, update, delete, activate (compiled
first), move, test on an order or pasted JSON; 422 with the field map and the compiler's
message; tenancy; malicious expressions refused or bounded."""

from __future__ import annotations

import time

import pytest

from dropstream.rules import actions
from dropstream.rules.models import Rule

GIFT_ORDER = {"external_display_id": "R77", "shipping_address": {"country": "US"},
              "items": [{"sku": "TEE-S", "qty_ordered": 2, "unit_price": "10.00"},
                        {"sku": "GIFT-CARD", "qty_ordered": 1, "unit_price": "25.00"}]}


def rules_url(store, *rest: object) -> str:
    return "/".join([f"/api/stores/{store.pk}/rules", *map(str, rest)])


def create(client, store, **body) -> int:
    body.setdefault("name", "A rule")
    body.setdefault("action", "reject")
    response = client.post(rules_url(store), body)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_rule_is_created_inactive_read_listed_and_updated(staff_api, store):
    rule_id = create(staff_api, store, name="No PO boxes",
                     condition='order.ship_to.street1.startsWith("PO Box")')
    detail = staff_api.get(rules_url(store, rule_id)).json()
    assert {k: detail[k] for k in ("store_id", "hook", "name", "position", "active", "scope",
                                   "condition", "action", "arguments", "problems")} == {
        "store_id": store.pk, "hook": "order_import", "name": "No PO boxes", "position": 1,
        "active": False, "scope": "order",
        "condition": 'order.ship_to.street1.startsWith("PO Box")', "action": "reject",
        "arguments": {}, "problems": {}}
    assert detail["created_at"].endswith("Z")

    response = staff_api.patch(rules_url(store, rule_id),
                               {"name": "Carrier for PO boxes", "action": "set",
                                "arguments": {"field": "carrier", "value": "USPS"}})
    assert response.status_code == 204
    page = staff_api.get(rules_url(store)).json()
    assert (page["total_count"], page["page"], page["total_pages"]) == (1, 1, 1)
    assert [(r["name"], r["action"], r["arguments"]) for r in page["rules"]] == [
        ("Carrier for PO boxes", "set", {"field": "carrier", "value": "USPS"})]


def test_the_list_filters_by_hook_and_pages(staff_api, store):
    for n in range(3):
        create(staff_api, store, name=f"Import {n}")
    create(staff_api, store, name="Ship", hook="shipment_notification", action="hold",
           arguments={"for_minutes": 60})
    shipment = staff_api.get(rules_url(store), {"hook": "shipment_notification"}).json()
    assert [r["name"] for r in shipment["rules"]] == ["Ship"]
    second = staff_api.get(rules_url(store), {"hook": "order_import", "limit": 2,
                                              "page": 2}).json()
    assert ([r["name"] for r in second["rules"]], second["total_count"],
            second["total_pages"]) == (["Import 2"], 3, 2)


def test_invalid_fields_are_422_with_the_field_map_and_nothing_is_stored(staff_api, store):
    response = staff_api.post(rules_url(store), {"name": " ", "action": "route",
                                                 "arguments": {"warehouse": 3}})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "name": "name is required",
        "arguments.warehouse": "arguments.warehouse is not used by route",
        "arguments.connection_id": "arguments.connection_id is required"}
    unknown = staff_api.post(rules_url(store), {"name": "x", "action": "reject", "when": "1"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == {"when": "when is not a known field"}
    nul = staff_api.post(rules_url(store), {"name": "x", "action": "reject",
                                            "condition": "true\x00"})
    assert nul.status_code == 422 and "condition" in nul.json()["errors"]
    assert Rule.objects.count() == 0


def test_activation_is_refused_with_the_compilers_message(staff_api, store):
    rule_id = create(staff_api, store, condition="order.total > ")
    refused = staff_api.post(rules_url(store, rule_id, "activate"))
    assert refused.status_code == 422
    assert refused.json()["errors"] == {
        "condition": "line 1, column 13: unexpected end of expression"}
    assert Rule.objects.get(pk=rule_id).active is False
    assert staff_api.get(rules_url(store, rule_id)).json()["problems"] == {
        "condition": "line 1, column 13: unexpected end of expression"}

    assert staff_api.patch(rules_url(store, rule_id),
                           {"condition": "order.total > 100"}).status_code == 204
    activated = staff_api.post(rules_url(store, rule_id, "activate"))
    assert activated.status_code == 200 and activated.json()["active"] is True
    # An active rule must keep compiling: the bad text is refused and the rule unchanged.
    again = staff_api.patch(rules_url(store, rule_id), {"condition": "order.totl > 1"})
    assert again.status_code == 422
    assert again.json()["errors"]["condition"].startswith("line 1, column 7: order has no "
                                                          "field 'totl'")
    assert Rule.objects.get(pk=rule_id).condition == "order.total > 100"
    deactivated = staff_api.post(rules_url(store, rule_id, "deactivate"))
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False


def test_a_route_must_name_a_connection_of_the_store(staff_api, store, connection,
                                                     other_world):
    foreign = other_world["connection"].pk
    rule_id = create(staff_api, store, action="route", arguments={"connection_id": foreign})
    refused = staff_api.post(rules_url(store, rule_id, "activate"))
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"arguments.connection_id": (
        f"arguments.connection_id: no connection {foreign} serves this store")}
    assert staff_api.patch(rules_url(store, rule_id),
                           {"arguments": {"connection_id": connection.pk}}).status_code == 204
    assert staff_api.post(rules_url(store, rule_id, "activate")).status_code == 200


def test_move_and_delete_keep_positions_dense(staff_api, store):
    first, second, third = (create(staff_api, store, name=n) for n in ("A", "B", "C"))
    moved = staff_api.post(rules_url(store, third, "move"), {"position": 1})
    assert moved.status_code == 200 and moved.json()["position"] == 1
    names = [(r["name"], r["position"]) for r in staff_api.get(rules_url(store)).json()["rules"]]
    assert names == [("C", 1), ("A", 2), ("B", 3)]
    out_of_range = staff_api.post(rules_url(store, first, "move"), {"position": 4})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["errors"] == {"position": "position must be from 1 to 3"}
    assert staff_api.delete(rules_url(store, third)).status_code == 204
    names = [(r["name"], r["position"]) for r in staff_api.get(rules_url(store)).json()["rules"]]
    assert names == [("A", 1), ("B", 2)]
    assert not Rule.objects.filter(pk=third).exists() and second


def _active(store, name: str, **fields) -> Rule:
    return actions.activate_rule(actions.create_rule(store, name=name, **fields))


def test_the_test_endpoint_runs_active_rules_on_one_of_the_stores_orders(merchant_api, world):
    store, order = world["store"], world["orders"][0]
    carrier = _active(store, "US by UPS", condition='order.ship_to.country == "US"',
                      action="set", arguments={"field": "carrier", "value": "UPS"})
    draft = actions.create_rule(store, name="Draft reject", action="reject")
    # Merchant users are read-only elsewhere; a test changes nothing, so they may run it.
    response = merchant_api.post(rules_url(store, "test"), {"order_id": order.pk})
    assert response.status_code == 200
    report = response.json()
    assert (report["outcome"], report["order_fields"]) == ("accepted", {"carrier": "UPS"})
    assert [(t["rule_id"], t["matched"], t["decision"]) for t in report["trace"]] == [
        (carrier.pk, True, f"Rule \"US by UPS\" (#{carrier.pk}) set carrier of the order to "
                           "'UPS'")]
    assert report["activity"] == [report["trace"][0]["decision"]]
    with_drafts = merchant_api.post(rules_url(store, "test"),
                                    {"order_id": order.pk, "include_inactive": True}).json()
    assert (with_drafts["outcome"], with_drafts["trace"][-1]["rule_id"]) == ("rejected",
                                                                             draft.pk)
    order.refresh_from_db()
    assert order.shipping_carrier_name == "" and order.status == "open"


def test_the_test_endpoint_runs_on_pasted_json_and_shows_line_decisions(staff_api, store):
    gift = _active(store, "No gift cards", scope="line",
                   condition='line.sku.startsWith("GIFT")', action="reject")
    # GET /api/orders/{id}'s envelope is accepted as it is.
    report = staff_api.post(rules_url(store, "test"), {"order": {"order": GIFT_ORDER}}).json()
    assert (report["outcome"], report["rejected_lines"]) == ("accepted", [1])
    assert [(t["line_index"], t["matched"]) for t in report["trace"]] == [(0, False), (1, True)]
    assert report["activity"] == [f'Rule "No gift cards" (#{gift.pk}) rejected line 2']


def test_a_bad_test_body_is_422_naming_the_field(staff_api, store, other_world):
    bad = staff_api.post(rules_url(store, "test"),
                         {"order": {"items": [{"sku": "A", "qty_ordered": "two"}]}})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "order.items[0].qty_ordered": "order.items[0].qty_ordered must be a whole number, 0 or "
                                      "more"}
    both = staff_api.post(rules_url(store, "test"), {"order_id": 1, "order": {}})
    assert both.json()["errors"] == {
        "order": "give order_id or order (pasted order JSON), not both"}
    foreign = other_world["order"].pk
    other = staff_api.post(rules_url(store, "test"), {"order_id": foreign})
    assert (other.status_code, other.json()["errors"]) == (
        422, {"order_id": f"order_id: no order {foreign} of this store"})
    hook = staff_api.post(rules_url(store, "test"), {"order": {}, "hook": "returns"})
    assert hook.status_code == 422 and set(hook.json()["errors"]) == {"hook"}


# ------------------------------------------------------------------------------- tenancy ----

def _paths(store, rule_id: int) -> list[tuple[str, str, dict | None]]:
    return [("GET", rules_url(store), None), ("GET", rules_url(store, rule_id), None),
            ("POST", rules_url(store), {"name": "Taken", "action": "reject"}),
            ("PATCH", rules_url(store, rule_id), {"name": "Taken"}),
            ("DELETE", rules_url(store, rule_id), None),
            ("POST", rules_url(store, rule_id, "activate"), None),
            ("POST", rules_url(store, rule_id, "deactivate"), None),
            ("POST", rules_url(store, rule_id, "move"), {"position": 1}),
            ("POST", rules_url(store, "test"), {"order": {}})]


def _snapshot() -> list[tuple]:
    return list(Rule.objects.order_by("id").values_list("id", "name", "active", "position"))


@pytest.mark.parametrize("role", ["merchant_user", "scoped_staff_user"])
def test_another_merchants_store_and_rules_are_not_found(request, api_as, role, world,
                                                         other_world):
    other_store = other_world["store"]
    theirs = actions.create_rule(other_store, name="Theirs", action="reject")
    mine = actions.create_rule(world["store"], name="Mine", action="reject")
    client = api_as(request.getfixturevalue(role))
    before = _snapshot()
    for method, path, body in _paths(other_store, theirs.pk):
        response = client.request(method, path, body)
        assert (response.status_code, response.json()["detail"]) == (
            404, f"no store with id {other_store.pk}"), (method, path)
    # Their rule's id under my store's path is not found either.
    for method, path, body in _paths(world["store"], theirs.pk)[1:-1]:
        if method == "POST" and path.endswith("/rules"):
            continue
        response = client.request(method, path, body)
        assert (response.status_code, response.json()["detail"]) == (
            404, f"no rule with id {theirs.pk}"), (method, path)
    assert _snapshot() == before
    listed = client.get(rules_url(world["store"])).json()
    assert [r["id"] for r in listed["rules"]] == [mine.pk]


def test_merchant_users_read_but_do_not_change_rules(merchant_api, world):
    store = world["store"]
    rule = actions.create_rule(store, name="Mine", action="reject")
    before = _snapshot()
    assert merchant_api.get(rules_url(store, rule.pk)).status_code == 200
    for method, path, body in _paths(store, rule.pk)[2:-1]:
        response = merchant_api.request(method, path, body)
        assert (response.status_code, response.json()["detail"]) == (
            403, "merchant users have read-only access"), (method, path)
    assert _snapshot() == before


# ----------------------------------------------------------------- malicious expressions ----

@pytest.mark.parametrize(("condition", "message"), [
    ("(" * 14 + "true" + ")" * 14, "line 1, column 13: brackets nested deeper than 12 levels"),
    ("!" * 300 + "true", "deeper than"),
    ("order.__class__", "line 1, column 7: order has no field '__class__'"),
    ('__import__("os")', "line 1, column 1: unknown function '__import__'"),
    ('order.ship_to.system("true")', "line 1, column 15: unknown method 'system'"),
    ("request.user.is_superuser", "line 1, column 1: unknown name 'request'; expressions can "
                                  "use now, order"),
    ("line.sku == 'x'", "line 1, column 1: line is only available in line rules"),
    ('order.customer_email.matches("(a+)+$")', "line 1, column 22: matches() is not available"),
    ('"' + "\\\\" * 40, "unterminated string"),
])
def test_malicious_conditions_are_refused_with_the_compilers_message(staff_api, store,
                                                                     condition, message):
    rule_id = create(staff_api, store, condition=condition)
    started = time.thread_time()
    refused = staff_api.post(rules_url(store, rule_id, "activate"))
    assert time.thread_time() - started < 2.0
    assert refused.status_code == 422
    assert message in refused.json()["errors"]["condition"]
    assert Rule.objects.get(pk=rule_id).active is False


def test_a_huge_macro_loop_is_stopped_and_named_within_its_budget(staff_api, store):
    loop = _active(store, "Cubic", action="reject", condition=(
        'order.lines.all(a, order.lines.all(b, order.lines.all(c, a.sku != "")))'))
    pasted = {"items": [{"sku": f"S{i}", "qty_ordered": 1} for i in range(1000)]}
    started = time.process_time()
    report = staff_api.post(rules_url(store, "test"), {"order": pasted}).json()
    assert time.process_time() - started < 1.5  # the order's budget is 1 s of CPU
    assert (report["outcome"], report["error_rule_id"]) == ("error", loop.pk)
    # Whichever bound comes first on this machine: 20,000 steps, or 50 ms of CPU (a loaded
    # machine spends more CPU per step).
    assert report["message"] in (
        f'rule "Cubic" (#{loop.pk}): stopped after 20,000 steps (macro iterations and compared '
        "elements); simplify the expression",
        f'rule "Cubic" (#{loop.pk}): stopped after 50 ms of work; simplify the expression')
    assert report["trace"][0]["matched"] is None

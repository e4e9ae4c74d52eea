"""The connection page's Rules and Test tabs (reference §10; issue 16).

Rules belong to the connection's store, so every connection of a store shows the same list.
Everyone who sees the connection sees its rules and may run the Test tab (it writes nothing);
only Administrators and Staff change rules. Every change is a ``rules.actions`` call; its
refusals are shown beside the field (form) or above the list (switch, move).

The condition is compiled as you type: the form posts to ``rules/check/`` (htmx), which answers
the compiler's message for each CEL text out-of-band, without saving anything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dropstream.connections.models import Connection
from dropstream.orders.models import Order
from dropstream.rules import actions
from dropstream.rules.errors import InvalidFacts, RuleError
from dropstream.rules.models import Hook, Rule
from dropstream.rules.trace import evaluation_report, facts_for_order, pasted_facts
from dropstream.rules.validation import compile_errors
from dropstream.web.forms import CEL_FIELDS, RuleForm, RuleTestForm, rule_initial
from dropstream.web.views.common import can_manage, get_visible, page

TEST_ORDER_CHOICES = 50  # the most recent orders offered in the Test tab's list


def _connection(request: HttpRequest, pk: int) -> Connection:
    return get_visible(Connection.objects.select_related("customer", "store", "warehouse"),
                       request.user, pk=pk)


def _rule(request: HttpRequest, connection: Connection, rule_pk: int) -> Rule:
    return get_visible(Rule.objects, request.user, pk=rule_pk, store=connection.store)


def _store_connections(request: HttpRequest, connection: Connection) -> list[tuple[int, str]]:
    """The route targets: the store's connections (each a warehouse)."""
    rows = (Connection.objects.visible_to(request.user).filter(store=connection.store)
            .select_related("warehouse").order_by("name", "id"))
    return [(row.pk, f"{row.name} → {row.warehouse}") for row in rows]


def _hook_lists(connection: Connection, names: dict[int, str]) -> list[dict[str, Any]]:
    """Each hook's rules top-down, with what keeps an inactive one from being activated and,
    for a route, the name of the connection it sends to."""
    lists = []
    for hook, label in Hook.choices:
        rules = actions.store_rules(connection.store, hook)
        lists.append({"hook": hook, "label": label, "rules": [
            {"rule": rule, "problems": {} if rule.active else actions.rule_problems(rule),
             "route_to": names.get((rule.arguments or {}).get("connection_id"), "")
             if rule.action == "route" else ""}
            for rule in rules]})
    return lists


def _list_context(request: HttpRequest, connection: Connection, **extra: Any) -> dict[str, Any]:
    names = dict(_store_connections(request, connection))
    return {"c": connection, "tab": "rules", "hooks": _hook_lists(connection, names),
            "can_manage": can_manage(request.user), **extra}


@page
def rule_list(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    return render(request, "web/rules/list.html", _list_context(request, connection))


def _after_list_change(request: HttpRequest, connection: Connection, *,
                       refused: dict[int, str] | None = None) -> HttpResponse:
    """htmx gets the lists back (with a refusal beside its rule); others a redirect."""
    if request.htmx:
        return render(request, "web/rules/_lists.html",
                      _list_context(request, connection, refused=refused or {}))
    return redirect("web:rules", pk=connection.pk)


@page(manage=True)
@require_POST
def rule_active(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    """Switch a rule on (compiled first; the compiler's message when refused) or off."""
    connection = _connection(request, pk)
    rule = _rule(request, connection, rule_pk)
    if request.POST.get("active") not in ("1", "true", "on"):
        actions.deactivate_rule(rule)
        return _after_list_change(request, connection)
    try:
        actions.activate_rule(rule)
    except RuleError as exc:
        message = f"“{rule.name}” stays inactive: {exc}"
        if not request.htmx:
            messages.error(request, message)
        return _after_list_change(request, connection, refused={rule.pk: message})
    return _after_list_change(request, connection)


@page(manage=True)
@require_POST
def rule_move(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    """One place up or down in its hook's list."""
    connection = _connection(request, pk)
    rule = _rule(request, connection, rule_pk)
    step = -1 if request.POST.get("direction") == "up" else 1
    try:
        actions.move_rule(rule, rule.position + step)
    except RuleError:
        pass  # already first (or last): nothing to move
    return _after_list_change(request, connection)


@page(manage=True)
@require_POST
def rule_delete(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    rule = _rule(request, connection, rule_pk)
    actions.delete_rule(rule)
    if not request.htmx:
        messages.success(request, f"Rule “{rule.name}” deleted.")
    return _after_list_change(request, connection)


def _render_form(request: HttpRequest, connection: Connection, form: RuleForm,
                 rule: Rule | None, status: int = 200) -> HttpResponse:
    slots = {slot["name"]: slot for slot in _slots(form)}
    context = {"c": connection, "tab": "rules", "can_manage": True, "form": form,
               "rule": rule, "slots": slots}
    return render(request, "web/rules/form.html", context, status=status)


@page(manage=True)
def rule_edit(request: HttpRequest, pk: int, rule_pk: int | None = None) -> HttpResponse:
    """New rule (inactive, last in its hook) or edit one; an active rule must keep compiling."""
    connection = _connection(request, pk)
    rule = _rule(request, connection, rule_pk) if rule_pk is not None else None
    choices = _store_connections(request, connection)
    if request.method != "POST":
        initial = rule_initial(rule) if rule is not None else {}
        form = RuleForm(initial=initial, connections=choices, editing=rule is not None)
        return _render_form(request, connection, form, rule)
    form = RuleForm(request.POST, initial=rule_initial(rule) if rule else None,
                    connections=choices, editing=rule is not None)
    if not form.is_valid():
        return _render_form(request, connection, form, rule, status=422)
    try:
        if rule is None:
            rule = actions.create_rule(connection.store, hook=form.cleaned_data["hook"],
                                       **form.rule_fields())
            messages.success(request, f"Rule “{rule.name}” saved (inactive: switch it on in "
                                      f"the list).")
        else:
            actions.update_rule(rule, **form.rule_fields())
            messages.success(request, f"Rule “{rule.name}” saved.")
    except RuleError as exc:
        form.add_rule_errors(exc.errors)
        return _render_form(request, connection, form, rule, status=422)
    return redirect("web:rules", pk=pk)


def _checks(form: RuleForm) -> dict[str, str]:
    """Each CEL text of the form → the compiler's message, or "" when it compiles (texts left
    empty are not checked: the save says what is required)."""
    data = getattr(form, "cleaned_data", {})
    scope = data.get("scope") or "order"
    condition = data.get("condition") or ""
    texts = {"set_expression": data.get("set_expression") or "",
             "split_expression": data.get("split_expression") or ""}
    # Compile each argument text as the action that reads it would (split_by and
    # connection_by_line are both line expressions).
    arguments_of = {"set_expression": ("set", {"expression": texts["set_expression"]}),
                    "split_expression": ("split", {"split_by": texts["split_expression"]})}
    found: dict[str, str] = {}
    if condition.strip():
        found["condition"] = compile_errors(scope, condition, "accept", {}).get("condition", "")
    for name, (action, arguments) in arguments_of.items():
        if texts[name].strip():
            errors = compile_errors(scope, "true", action, arguments)
            found[name] = errors.get(CEL_FIELDS[name], "")
    return found


@page(manage=True)
@require_POST
def rule_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The compiler's message for each CEL text of the posted form (htmx, as you type); saves
    nothing. Answers one out-of-band slot per text."""
    connection = _connection(request, pk)
    form = RuleForm(request.POST, connections=_store_connections(request, connection))
    form.is_valid()  # only to read cleaned_data; choices that do not validate fall back
    return render(request, "web/rules/_check.html", {"slots": _slots(form)})


def _slots(form: RuleForm) -> list[dict[str, Any]]:
    """One message slot per CEL field: checked or not, and the compiler's message."""
    checks = _checks(form) if form.is_bound else {}
    return [{"name": name, "message": checks.get(name, ""), "checked": name in checks}
            for name in CEL_FIELDS]


def _test_orders(request: HttpRequest, connection: Connection,
                 chosen: str | None) -> list[tuple[int, str]]:
    """The store's most recent orders, and the chosen one if it is older."""
    orders = Order.objects.visible_to(request.user).filter(store=connection.store)
    recent = list(orders.order_by("-ordered_at", "-id")[:TEST_ORDER_CHOICES])
    if chosen and chosen.isdigit() and all(str(o.pk) != chosen for o in recent):
        recent.extend(orders.filter(pk=int(chosen)))
    return [(o.pk, f"{o.external_display_id or o.external_id} · {o.get_status_display()}")
            for o in recent]


@page
def rule_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the store's rules of a hook on one of its orders or pasted JSON; writes nothing."""
    connection = _connection(request, pk)
    chosen = (request.POST if request.method == "POST" else request.GET).get("order")
    orders = _test_orders(request, connection, chosen)
    context: dict[str, Any] = {"c": connection, "tab": "test",
                               "can_manage": can_manage(request.user)}
    if request.method != "POST":
        context["form"] = RuleTestForm(initial={"order": chosen or ""}, orders=orders)
        return render(request, "web/rules/test.html", context)
    form = RuleTestForm(request.POST, orders=orders)
    context["form"] = form
    status = 200
    if form.is_valid():
        try:
            context["report"] = _run_test(request, connection, form)
        except InvalidFacts as exc:
            for path, message in exc.errors.items():
                form.add_error("pasted", f"{path}: {message}")
            status = 422
    else:
        status = 422
    return render(request, "web/rules/test.html", context, status=status)


def _run_test(request: HttpRequest, connection: Connection, form: RuleTestForm
              ) -> dict[str, Any]:
    data = form.cleaned_data
    if data.get("order"):
        order = get_visible(Order.objects.select_related("store"), request.user,
                            pk=data["order"], store=connection.store)
        facts = facts_for_order(order)
    else:
        facts = pasted_facts(data["pasted_data"])
    evaluation = actions.test_rules(connection.store, data["hook"], facts,
                                    include_inactive=data["include_inactive"])
    report = evaluation_report(evaluation)
    connections = dict(_store_connections(request, connection))
    report["connection_label"] = connections.get(report["connection_id"], "")
    for line in report["line_connections"]:
        line["label"] = connections.get(line["connection_id"], "")
    names = {rule.pk: rule.name for rule in actions.store_rules(connection.store, data["hook"])}
    report["rule_count"] = len(names)
    report["edit_urls"] = {pk: reverse("web:rule-edit", args=[connection.pk, pk])
                           for pk in names}
    return report

"""Orders list and order page (reference §4.2–4.4, §5), shipments list."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dropstream.orders import actions as order_actions
from dropstream.orders.actions import OrderAction, availability, perform
from dropstream.orders.errors import OrderActionError
from dropstream.orders.filters import OrderFilter
from dropstream.orders.models import Order, OrderStatus
from dropstream.rules.apply import rule_held
from dropstream.shipments import actions as shipment_actions
from dropstream.shipments.filters import ShipmentFilter
from dropstream.shipments.models import Shipment, ShipmentState
from dropstream.web.forms import OrderEditForm, OrderFilterForm
from dropstream.web.views.common import (
    can_manage,
    get_visible,
    page,
    paginate,
    parse_local_date,
    query_without,
)

BULK_ACTIONS = {OrderAction.REPROCESS: "Retry processing", OrderAction.RESET: "Reset",
                OrderAction.ARCHIVE: "Archive", OrderAction.DELETE: "Delete"}
BULK_LIMIT = 500


def order_filter(form: OrderFilterForm) -> OrderFilter:
    """The page's filter form as the shared OrderFilter (dates are the user's local days)."""
    if not form.is_valid():
        return OrderFilter()
    data = form.cleaned_data
    start = parse_local_date(data["date_from"].isoformat()) if data.get("date_from") else None
    end = parse_local_date(data["date_to"].isoformat(), end=True) if data.get("date_to") else None
    return OrderFilter(
        ordered_from=start, ordered_to=end - timedelta(microseconds=1) if end else None,
        statuses=(data["status"],) if data.get("status") else (),
        connection_id=int(data["connection"]) if data.get("connection") else None,
        search=data.get("q") or "")


def filter_orders(user, form: OrderFilterForm) -> tuple[QuerySet, QuerySet]:
    """(orders matching every filter, the same without the status filter — for the counts)."""
    visible = Order.objects.visible_to(user)
    chosen = order_filter(form)
    return chosen.apply(visible), replace(chosen, statuses=()).apply(visible)


@page
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET or None)
    qs, without_status = filter_orders(request.user, form)
    counts = dict(without_status.order_by().values_list("status").annotate(n=Count("id"))
                  .values_list("status", "n"))
    statuses = [{"value": value, "label": label, "count": counts.get(value, 0)}
                for value, label in OrderStatus.choices]
    current = form.cleaned_data.get("status", "") if form.is_valid() else ""
    context = {
        "form": form,
        "page": paginate(request, qs.select_related("connection")),
        "statuses": statuses,
        "total": sum(counts.values()),
        "status": current,
        "query": query_without(request, "page"),
        "status_query": query_without(request, "page", "status"),
        "bulk_actions": BULK_ACTIONS if can_manage(request.user) else {},
    }
    return render(request, "web/orders/list.html", context)


def _bulk(request: HttpRequest, *, choices: dict[str, str], rows: QuerySet, noun: str,
          apply, default_back: str) -> HttpResponse:
    """Apply the chosen action to the selected rows (``ids``; a row's own button sends
    ``one``); each result is counted, failures listed. ``apply(action, rows, user=…)``
    returns a BulkResult."""
    action = request.POST.get("action", "")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:BULK_LIMIT]
    one = request.POST.get("one", "")
    if one.isdigit():
        action, ids = request.POST.get("one_action", ""), [int(one)]
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse(default_back)
    if action not in choices:
        messages.error(request, "Choose an action.")
        return redirect(back)
    chosen = list(rows.filter(pk__in=ids))
    if not chosen:
        messages.error(request, f"Select at least one {noun}.")
        return redirect(back)
    result = apply(action, chosen, user=request.user)
    done = len(result.done)
    if done:
        messages.success(request, f"{choices[action]}: {done} {noun}"
                                  f"{'s' if done != 1 else ''} done.")
    names = {row.pk: str(row) for row in chosen}
    failures = [f"{names[pk]}: {message}" for pk, message in result.failed.items()]
    for failure in failures[:10]:
        messages.error(request, failure)
    if len(failures) > 10:
        messages.error(request, f"… and {len(failures) - 10} more could not be changed.")
    return redirect(back)


@page(manage=True)
@require_POST
def order_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected orders."""
    return _bulk(request, choices=BULK_ACTIONS, rows=Order.objects.visible_to(request.user),
                 noun="order", apply=order_actions.bulk, default_back="web:orders")


def _order(request: HttpRequest, pk: int) -> Order:
    return get_visible(Order.objects.select_related("connection", "store",
                                                   "connection__warehouse"),
                       request.user, pk=pk)


# What the menu says of each action (the domain decides whether it is possible, and why not).
MENU_TEXT: dict[OrderAction, tuple[str, str, str]] = {  # label, help, confirmation
    OrderAction.RELEASE: ("Release", "Send this held order on.", ""),
    OrderAction.REPROCESS: ("Reprocess", "Retry the most recent processing step.", ""),
    OrderAction.EDIT: ("Edit", "Correct address or fields.", ""),
    OrderAction.RESET: ("Reset", "Start again from import.",
                        "Reset undoes all processing and manual edits and starts again as if "
                        "just imported. Continue?"),
    OrderAction.ARCHIVE: ("Archive", "Stop for good (resume with Reprocess).",
                          "Archive stops all processing; it will not be re-imported. Continue?"),
    OrderAction.DELETE: ("Delete", "Remove from DropStream.",
                         "Delete removes it from DropStream only; the next import may bring it "
                         "back. Continue?"),
    OrderAction.FORCE_DELETE: ("Force delete", "Administrators only.",
                               "Force delete removes an order the warehouse already has. A "
                               "re-import may then duplicate it at the warehouse. Continue?"),
}


def _menu(order: Order, user) -> list[dict]:
    """The actions menu (reference §5.1): each action the domain offers this user, with why an
    unavailable one is unavailable."""
    menu = []
    for offer in availability(order, user):
        label, help_text, confirm = MENU_TEXT[offer.action]
        menu.append({"name": offer.action.value, "label": label, "help": help_text,
                     "confirm": confirm, "disabled": _sentence(offer.refusal)})
    return menu


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] + ("." if reason and reason[-1] not in ".)" else "")


@page
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    lines = list(order.lines.all())
    context = {
        "order": order,
        "lines": [line for line in lines if line.parent_id is None],
        "components": {line.parent_id: [] for line in lines},
        "shipments": order.shipments.prefetch_related("lines"),
        "activity": order.activity.all()[:200],
        "actions": _menu(order, request.user),
        # A store order that rules split across warehouses: its parts, or the order it is part of.
        "parts": order.parts.select_related("connection").order_by("id"),
        "rule_hold": rule_held(order),
        "subtotal": sum((line.unit_price * line.quantity_ordered for line in lines
                         if line.parent_id is None), start=0),
    }
    for line in lines:
        if line.parent_id is not None:
            context["components"].setdefault(line.parent_id, []).append(line)
    return render(request, "web/orders/detail.html", context)


@page(manage=True)
@require_POST
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    order = _order(request, pk)
    try:
        changed = perform(action, order, user=request.user)
    except OrderActionError as exc:
        messages.error(request, _sentence(exc.message))
        return redirect("web:order", pk=pk)
    if changed is None:
        messages.success(request, f"Order {order} deleted.")
        return redirect("web:orders")
    messages.success(request, f"{action.replace('_', ' ').capitalize()}: done.")
    return redirect("web:order", pk=pk)


@page(manage=True)
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    initial = {name: getattr(order, name) for name in OrderEditForm.base_fields}
    form = OrderEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != initial.get(k)}
        if not changes:
            messages.info(request, "Nothing changed.")
            return redirect("web:order", pk=pk)
        try:
            order_actions.edit(order, actor=request.user.email, changes=changes)
        except OrderActionError as exc:
            form.add_error(None, exc.message)
            return render(request, "web/orders/edit.html", {"order": order, "form": form},
                          status=422)
        else:
            messages.success(request, "Order saved. Reprocess it to send the change on.")
        return redirect("web:order", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "web/orders/edit.html", {"order": order, "form": form},
                  status=status)


SHIPMENT_BULK_ACTIONS = {"reprocess": "Reprocess", "archive": "Archive"}


@page
def shipment_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    q = request.GET.get("q", "").strip()
    chosen = ShipmentFilter(states=(state,) if state in ShipmentState.values else (), search=q)
    qs = chosen.apply(Shipment.objects.visible_to(request.user)
                      .select_related("order", "connection"))
    context = {"page": paginate(request, qs), "state": state, "q": q,
               "states": ShipmentState.choices, "query": query_without(request, "page"),
               "bulk_actions": SHIPMENT_BULK_ACTIONS if can_manage(request.user) else {}}
    return render(request, "web/shipments/list.html", context)


@page(manage=True)
@require_POST
def shipment_bulk(request: HttpRequest) -> HttpResponse:
    """Reprocess or archive the selected shipments."""
    return _bulk(request, choices=SHIPMENT_BULK_ACTIONS,
                 rows=Shipment.objects.visible_to(request.user), noun="shipment",
                 apply=shipment_actions.bulk, default_back="web:shipments")

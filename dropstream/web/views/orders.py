"""Orders list and order page (reference §4.2–4.4, §5), shipments list."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments import actions as shipment_actions
from dropstream.shipments.models import Shipment, ShipmentState
from dropstream.web import services
from dropstream.web.forms import OrderEditForm, OrderFilterForm
from dropstream.web.views.common import (
    can_manage,
    get_visible,
    page,
    paginate,
    parse_local_date,
    query_without,
)

BULK_ACTIONS = {"reprocess": "Retry processing", "reset": "Reset", "archive": "Archive",
                "delete": "Delete"}
BULK_LIMIT = 500


def filter_orders(user, form: OrderFilterForm) -> tuple[QuerySet, QuerySet]:
    """(orders matching every filter, the same without the status filter — for the counts)."""
    qs = Order.objects.visible_to(user)
    if not form.is_valid():
        return qs, qs
    data = form.cleaned_data
    if data.get("connection"):
        qs = qs.filter(connection_id=data["connection"])
    q = (data.get("q") or "").strip()
    if q:
        qs = qs.filter(customer_email__iexact=q) if "@" in q else qs.filter(
            Q(external_display_id=q) | Q(external_id=q) | Q(warehouse_order_number=q)
            | Q(external_display_id__startswith=q))
    start = parse_local_date(data["date_from"].isoformat()) if data.get("date_from") else None
    end = parse_local_date(data["date_to"].isoformat(), end=True) if data.get("date_to") else None
    if start:
        qs = qs.filter(ordered_at__gte=start)
    if end:
        qs = qs.filter(ordered_at__lt=end)
    unfiltered = qs
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    return qs, unfiltered


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
    ``one``); each result is counted, failures listed. ``apply(action, rows, actor=…)``
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
    result = apply(action, chosen, actor=request.user.email)
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
                 noun="order", apply=services.bulk_order_action, default_back="web:orders")


def _order(request: HttpRequest, pk: int) -> Order:
    return get_visible(Order.objects.select_related("connection", "store",
                                                   "connection__warehouse"),
                       request.user, pk=pk)


def _available_actions(order: Order, user) -> list[dict]:
    """The actions menu: what each does, and why one is unavailable (reference §5.1)."""
    if not can_manage(user):
        return []
    has_shipment = order.shipments.exists()
    sent = order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_SHIPPED,
                            OrderStatus.SHIPPED) or order.exported_at is not None
    actions = [
        {"name": "reprocess", "label": "Reprocess", "confirm": "",
         "help": "Retry the most recent processing step."},
        {"name": "edit", "label": "Edit", "confirm": "", "help": "Correct address or fields."},
        {"name": "reset", "label": "Reset",
         "confirm": "Reset undoes all processing and manual edits and starts again as if "
                    "just imported. Continue?",
         "disabled": "It has a shipment: the warehouse already worked it." if has_shipment
         else "", "help": "Start again from import."},
        {"name": "archive", "label": "Archive",
         "confirm": "Archive stops all processing; it will not be re-imported. Continue?",
         "help": "Stop for good (resume with Reprocess)."},
        {"name": "delete", "label": "Delete",
         "confirm": "Delete removes it from DropStream only; the next import may bring it "
                    "back. Continue?",
         "disabled": "It was sent to the warehouse: archive it instead." if sent else "",
         "help": "Remove from DropStream."},
    ]
    if order.status == OrderStatus.PENDING:
        actions.insert(0, {"name": "release", "label": "Release", "confirm": "",
                           "help": "Send this held order on."})
    if sent and user.is_administrator:
        actions.append({"name": "force_delete", "label": "Force delete",
                        "confirm": "Force delete removes an order the warehouse already has. "
                                   "A re-import may then duplicate it at the warehouse. "
                                   "Continue?", "help": "Administrators only."})
    return actions


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
        "actions": _available_actions(order, request.user),
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
    force = action == "force_delete"
    if force and not request.user.is_administrator:
        messages.error(request, "Only administrators can force-delete.")
        return redirect("web:order", pk=pk)
    name = "delete" if force else action
    if name not in services.ORDER_ACTIONS:
        messages.error(request, "Unknown action.")
        return redirect("web:order", pk=pk)
    try:
        services.order_action(name, order, actor=request.user.email, force=force)
    except services.OrderActionError as exc:
        messages.error(request, exc.message)
    else:
        if name == "delete":
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
            services.edit_order(order, actor=request.user.email, changes=changes)
        except services.OrderActionError as exc:
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
    qs = Shipment.objects.visible_to(request.user).select_related("order", "connection")
    state = request.GET.get("state", "")
    if state in ShipmentState.values:
        qs = qs.filter(state=state)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(tracking_number=q) | Q(order_number=q))
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

"""API usage per store (DESIGN "Cost model"): requests per day, month to date against the
allowance, projection, overage cost, the guard, and what spends the most."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dropstream.connections.models import Store
from dropstream.metering.models import ApiCall
from dropstream.scheduling.budget import get_budget, store_usage, update_budget
from dropstream.scheduling.errors import InvalidBudget
from dropstream.web.forms import BudgetForm
from dropstream.web.views.common import can_manage, get_visible, page, user_zone

CHART_DAYS = 30
CHART_HEIGHT = 120


def daily_requests(store: Store, zone, days: int = CHART_DAYS) -> list[dict[str, Any]]:
    """Requests per local day for the last ``days`` days (oldest first, zero days included)."""
    today = timezone.localdate(timezone=zone)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=zone)
    counts = dict(ApiCall.objects.filter(store=store, at__gte=since)
                  .annotate(day=TruncDate("at", tzinfo=zone)).values_list("day")
                  .annotate(n=Count("id")).values_list("day", "n").order_by())
    return [{"day": first + timedelta(days=i), "n": counts.get(first + timedelta(days=i), 0)}
            for i in range(days)]


def chart_bars(rows: list[dict[str, Any]], *, height: int = CHART_HEIGHT,
               width: int = 18) -> dict[str, Any]:
    """Geometry of a server-rendered SVG bar chart: one bar per day, scaled to the busiest."""
    top = max((r["n"] for r in rows), default=0) or 1
    bars = []
    for i, row in enumerate(rows):
        h = round(row["n"] / top * (height - 4)) if row["n"] else 0
        bars.append({"x": i * (width + 4), "y": height - h, "h": h, "w": width, **row})
    return {"bars": bars, "width": len(rows) * (width + 4), "height": height, "top": top}


def _ranked(counts: dict[str, int]) -> list[dict[str, Any]]:
    total = sum(counts.values()) or 1
    rows = [{"name": name, "n": n, "percent": round(100 * n / total)}
            for name, n in counts.items()]
    return sorted(rows, key=lambda r: (-r["n"], r["name"]))


def _budget_form(store: Store, data=None) -> BudgetForm:
    budget = get_budget(store)
    return BudgetForm(data, initial={
        "monthly_allowance": budget.monthly_allowance, "overage_price": budget.overage_price,
        "guard": budget.guard, "max_delay_minutes": budget.max_delay_minutes})


def _render(request: HttpRequest, store: Store | None, form: BudgetForm | None = None,
            status: int = 200) -> HttpResponse:
    stores = Store.objects.visible_to(request.user).select_related("customer")
    context: dict[str, Any] = {"stores": stores, "store": store,
                               "can_manage": can_manage(request.user)}
    if store is not None:
        usage = store_usage(store)
        allowance = usage["allowance"]
        context.update({
            "usage": usage,
            "percent": min(999, round(100 * usage["requests_month"] / allowance))
            if allowance else None,
            "projection_percent": min(999, round(100 * usage["projection"] / allowance))
            if allowance else None,
            "chart": chart_bars(daily_requests(store, user_zone(request.user))),
            "channels": _ranked(usage["by_channel"]),
            "endpoints": _ranked(usage["by_endpoint"])[:10],
            "form": form or _budget_form(store),
        })
    return render(request, "web/usage.html", context, status=status)


@page
def usage(request: HttpRequest, store_pk: int | None = None) -> HttpResponse:
    chosen = request.GET.get("store", "")
    if store_pk is None and chosen.isdigit():
        return redirect("web:usage-store", store_pk=int(chosen))
    if store_pk is None:
        store = Store.objects.visible_to(request.user).order_by("name", "id").first()
    else:
        store = get_visible(Store.objects, request.user, pk=store_pk)
    return _render(request, store)


@page(manage=True)
@require_POST
def budget_save(request: HttpRequest, store_pk: int) -> HttpResponse:
    store = get_visible(Store.objects.select_related("customer"), request.user, pk=store_pk)
    form = _budget_form(store, request.POST)
    if not form.is_valid():
        return _render(request, store, form, status=422)
    try:
        update_budget(store, **form.cleaned_data)
    except InvalidBudget as exc:
        for key, message in exc.errors.items():
            form.add_error(key if key in form.fields else None, message)
        return _render(request, store, form, status=422)
    messages.success(request, f"Budget for {store.name} saved.")
    return redirect("web:usage-store", store_pk=store.pk)

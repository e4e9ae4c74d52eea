"""Health check and the dashboard: what needs attention now, today's flow, this month's requests."""

from __future__ import annotations

from typing import Any

from django.db import connection as db_connection
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dropstream.alerts.models import Alert
from dropstream.connections.models import Connection, Store
from dropstream.inventory.models import StoreInventory
from dropstream.metering.models import ApiCall
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment
from dropstream.web.views.common import local_day_start, local_month_start, page


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; 503 otherwise. No login, no data."""
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 — any database failure means unhealthy
        return JsonResponse({"status": "unhealthy", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def _attention(user) -> list[dict]:
    """Connections with open alerts or orders in Error, worst first (three queries)."""
    open_alerts = dict(
        Alert.objects.visible_to(user).filter(resolved_at__isnull=True, connection__isnull=False)
        .values_list("connection_id").annotate(n=Count("id")).values_list("connection_id", "n"))
    errors = dict(
        Order.objects.visible_to(user).filter(status=OrderStatus.ERROR)
        .values_list("connection_id").annotate(n=Count("id")).values_list("connection_id", "n"))
    ids = set(open_alerts) | set(errors)
    rows = []
    for conn in Connection.objects.visible_to(user).filter(pk__in=ids).select_related("customer"):
        rows.append({"connection": conn, "alerts": open_alerts.get(conn.pk, 0),
                     "errors": errors.get(conn.pk, 0)})
    rows.sort(key=lambda r: (-(r["errors"] + r["alerts"]), r["connection"].name))
    return rows


@page
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    connections = Connection.objects.visible_to(user)
    orders = Order.objects.visible_to(user)
    today = local_day_start()
    month = local_month_start()
    error_orders = orders.filter(status=OrderStatus.ERROR).select_related("connection")
    context = {
        "connection_count": connections.count(),
        "enabled_count": connections.filter(enabled_at__isnull=False).count(),
        "attention": _attention(user),
        "error_count": error_orders.count(),
        "error_orders": error_orders[:8],
        "today": {
            "imported": orders.filter(created_at__gte=today).count(),
            "sent": orders.filter(exported_at__gte=today).count(),
            "shipments": Shipment.objects.visible_to(user).filter(created_at__gte=today).count(),
            "inventory": StoreInventory.objects.visible_to(user)
            .filter(written_at__gte=today).count(),
        },
        "usage": month_usage(
            user, ApiCall.objects.visible_to(user).filter(at__gte=month)),
    }
    return render(request, "web/home.html", context)


def month_usage(user, calls: QuerySet) -> list[dict[str, Any]]:
    """Requests this month per visible store that made any, with allowance and projection."""
    from dropstream.scheduling.budget import store_usage

    counts = dict(calls.filter(store__isnull=False).values_list("store_id")
                  .annotate(n=Count("id")).values_list("store_id", "n"))
    rows = []
    for store in Store.objects.visible_to(user).filter(pk__in=counts.keys()):
        row: dict[str, Any] = {"store": store, "requests": counts[store.pk],
                               "allowance": None, "percent": None}
        usage = store_usage(store)
        allowance = usage.get("allowance")
        if usage.get("requests_month") is not None:
            row["requests"] = usage["requests_month"]
            row["projection"] = usage.get("projection")
        if allowance:
            row["allowance"] = allowance
            row["percent"] = min(999, round(100 * row["requests"] / allowance))
        rows.append(row)
    rows.sort(key=lambda r: -r["requests"])
    return rows

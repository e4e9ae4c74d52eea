"""Project-wide pages: health, home."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection as db_connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dropstream.connections.models import Connection
from dropstream.orders.models import Order, OrderStatus


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; 503 otherwise. No login, no data."""
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 — any database failure means unhealthy
        return JsonResponse({"status": "unhealthy", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    connections = Connection.objects.visible_to(request.user)
    orders = Order.objects.visible_to(request.user)
    context = {
        "connection_count": connections.count(),
        "enabled_count": connections.filter(enabled_at__isnull=False).count(),
        "error_count": orders.filter(status=OrderStatus.ERROR).count(),
    }
    return render(request, "web/home.html", context)

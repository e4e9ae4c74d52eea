"""Alerts: every failure, newest first; open ones can be marked resolved (reference §12)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dropstream.alerts.models import Alert, AlertKind
from dropstream.web.views.common import can_manage, get_visible, page, paginate, query_without


@page
def alert_list(request: HttpRequest) -> HttpResponse:
    qs = Alert.objects.visible_to(request.user).select_related("connection")
    show = request.GET.get("show", "open")
    if show == "open":
        qs = qs.filter(resolved_at__isnull=True)
    kind = request.GET.get("kind", "")
    if kind in AlertKind.values:
        qs = qs.filter(kind=kind)
    context = {"page": paginate(request, qs), "show": show, "kind": kind,
               "kinds": AlertKind.choices, "query": query_without(request, "page"),
               "can_manage": can_manage(request.user)}
    return render(request, "web/alerts/list.html", context)


@page
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_visible(Alert.objects.select_related("connection", "customer"), request.user,
                        pk=pk)
    related_url = ""
    if alert.content_type and alert.content_type.model == "order" and alert.object_id:
        related_url = f"/orders/{alert.object_id}/"
    return render(request, "web/alerts/detail.html",
                  {"alert": alert, "related_url": related_url,
                   "can_manage": can_manage(request.user)})


@page(manage=True)
@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_visible(Alert.objects, request.user, pk=pk)
    if alert.resolved_at is None:
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at"])
        messages.success(request, "Alert marked resolved.")
    return redirect("web:alerts")

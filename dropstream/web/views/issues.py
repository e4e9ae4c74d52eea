"""Issues (groups of alerts opened by a policy), alert policies and notification channels
(reference §12.1). Issues are scoped like alerts; policies and channels are the
Administrators' to edit."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dropstream.alerts.models import Alert, AlertPolicy, Issue, NotificationChannel
from dropstream.web.forms import AlertPolicyForm, NotificationChannelForm
from dropstream.web.views.common import get_visible, page, paginate, query_without


@page
def issue_list(request: HttpRequest) -> HttpResponse:
    qs = Issue.objects.visible_to(request.user).select_related("policy", "connection")
    show = request.GET.get("show", "open")
    if show == "open":
        qs = qs.filter(closed_at__isnull=True)
    elif show == "closed":
        qs = qs.filter(closed_at__isnull=False)
    return render(request, "web/alerts/issues.html",
                  {"page": paginate(request, qs), "show": show,
                   "query": query_without(request, "page")})


@page
def issue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    issue = get_visible(Issue.objects.select_related("policy", "connection", "customer"),
                        request.user, pk=pk)
    # The alerts too go through the user's scope: an issue shown to a merchant only ever
    # holds its own alerts, and this keeps it so even if that changes.
    alerts = (Alert.objects.visible_to(request.user).filter(issues=issue)
              .select_related("connection"))
    return render(request, "web/alerts/issue.html",
                  {"issue": issue, "page": paginate(request, alerts),
                   "query": query_without(request, "page")})


# ----------------------------------------------------------------------------- policies


@page(admin=True)
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = (AlertPolicy.objects.visible_to(request.user).select_related("customer")
                .annotate(channel_count=Count("channels", distinct=True),
                          open_issues=Count("issues", filter=Q(issues__closed_at__isnull=True),
                                            distinct=True)))
    channels = NotificationChannel.objects.annotate(policy_count=Count("policies"))
    return render(request, "web/alerts/policies.html",
                  {"policies": policies, "channels": channels})


def _policy_initial(policy: AlertPolicy) -> dict:
    return {"name": policy.name, "kinds": policy.kinds, "customer": policy.customer,
            "connections": list(policy.connections.all()), "grouping": policy.grouping,
            "auto_close_hours": policy.auto_close_hours,
            "channels": list(policy.channels.all())}


@page(admin=True)
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_visible(AlertPolicy.objects, request.user, pk=pk) if pk else None
    if request.method != "POST":
        form = AlertPolicyForm(user=request.user,
                               initial=_policy_initial(policy) if policy else None)
        return render(request, "web/alerts/policy_form.html", {"form": form, "policy": policy})
    form = AlertPolicyForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "web/alerts/policy_form.html",
                      {"form": form, "policy": policy}, status=422)
    data = form.cleaned_data
    with transaction.atomic():
        policy = policy or AlertPolicy()
        policy.name, policy.kinds = data["name"], list(data["kinds"])
        policy.customer = data["customer"]
        policy.grouping, policy.auto_close_hours = data["grouping"], data["auto_close_hours"]
        policy.save()
        policy.connections.set(data["connections"])
        policy.channels.set(data["channels"])
    messages.success(request, f"Alert policy “{policy.name}” saved.")
    return redirect("web:policies")


@page(admin=True)
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_visible(AlertPolicy.objects, request.user, pk=pk)
    policy.delete()
    messages.success(request, f"Alert policy “{policy.name}” deleted with its issues.")
    return redirect("web:policies")


# ----------------------------------------------------------------------------- channels


@page(admin=True)
def channel_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk) if pk else None
    if request.method != "POST":
        initial = ({"name": channel.name, "emails": channel.emails,
                    "batch_minutes": channel.batch_minutes} if channel else None)
        return render(request, "web/alerts/channel_form.html",
                      {"form": NotificationChannelForm(initial=initial), "channel": channel})
    form = NotificationChannelForm(request.POST)
    if not form.is_valid():
        return render(request, "web/alerts/channel_form.html",
                      {"form": form, "channel": channel}, status=422)
    channel = channel or NotificationChannel()
    for key, value in form.cleaned_data.items():
        setattr(channel, key, value)
    channel.save()
    messages.success(request, f"Notification channel “{channel.name}” saved.")
    return redirect("web:policies")


@page(admin=True)
@require_POST
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    channel.delete()
    messages.success(request, f"Notification channel “{channel.name}” deleted.")
    return redirect("web:policies")

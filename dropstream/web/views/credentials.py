"""Credentials from the merchant, not by e-mail: a 3PL user creates a one-time link on the
connection's Settings tab; the merchant opens it without logging in, tests and saves the
store's credentials (the platform's credential fields). A secret is never shown back."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Connection
from dropstream.web import credential_links
from dropstream.web.forms import CredentialLinkForm
from dropstream.web.views.common import get_visible, page

SESSION_NEW_LINK = "credential_link_shown"


@page(manage=True)
@require_POST
def link_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Create a link for the connection's store and show it once on the Settings tab."""
    connection = get_visible(Connection.objects.select_related("store"), request.user, pk=pk)
    new = credential_links.create_link(connection.store, user=request.user,
                                       connection=connection)
    # The link is shown once, on the next page; only its hash stays in the database.
    request.session[SESSION_NEW_LINK] = {"connection": connection.pk,
                                         "url": new.url}
    messages.success(request, "Link created. Send it to the merchant; it works once, for "
                              f"{credential_links.link_hours()} hours.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#credential-link")


@page(manage=True)
@require_POST
def link_revoke(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    from django.utils import timezone

    connection = get_visible(Connection.objects.select_related("store"), request.user, pk=pk)
    connection.store.credential_links.filter(pk=link_pk, used_at__isnull=True,
                                             revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    messages.success(request, "Link revoked.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#credential-link")


@never_cache
def merchant_entry(request: HttpRequest, token: str) -> HttpResponse:
    """The public page behind a link: no login; the token in the URL is the authorisation."""
    try:
        link = credential_links.open_link(token)
    except credential_links.LinkUnusable as exc:
        return render(request, "web/credentials/unusable.html", {"message": str(exc)},
                      status=410)
    form = CredentialLinkForm(link.store.platform_spec, request.POST or None)
    context = {"link": link, "form": form, "store": link.store,
               "merchant": link.store.customer}
    if request.method != "POST":
        return render(request, "web/credentials/entry.html", context)
    if not form.is_valid():
        return render(request, "web/credentials/entry.html", context, status=422)
    values = form.cleaned_data
    try:
        result = credential_links.test_link_settings(link, values)
    except credential_links.LinkUnusable as exc:
        return render(request, "web/credentials/unusable.html", {"message": str(exc)},
                      status=410)
    except ConnectionsError as exc:
        _field_errors(form, exc)
        return render(request, "web/credentials/entry.html", context, status=422)
    context["test"] = result
    if not result.ok:
        form.add_error(result.field if result.field in form.fields else None, result.message)
        return render(request, "web/credentials/entry.html", context, status=422)
    if request.POST.get("action") == "test":
        return render(request, "web/credentials/entry.html", context)
    try:
        credential_links.redeem(token, values)
    except credential_links.LinkUnusable as exc:
        return render(request, "web/credentials/unusable.html", {"message": str(exc)},
                      status=410)
    except ConnectionsError as exc:
        _field_errors(form, exc)
        return render(request, "web/credentials/entry.html", context, status=422)
    return render(request, "web/credentials/done.html", context)


def _field_errors(form: CredentialLinkForm, exc: ConnectionsError) -> None:
    for key, message in exc.errors.items():
        name = key.rsplit(".", 1)[-1]
        form.add_error(name if name in form.fields else None, message)

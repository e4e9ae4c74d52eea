"""Connections list and the connection page (Channels and Settings tabs) — reference §1.4, §3."""

from __future__ import annotations

import json

from django.conf import settings as django_settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dropstream.catalog import actions as catalog_actions
from dropstream.catalog.errors import CatalogError
from dropstream.catalog.models import Listing, ShippingMethodMap
from dropstream.connections import actions as connection_actions
from dropstream.connections.actions import accept_pending_change, pending_change
from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Channel, ChannelType, Connection, Merchant
from dropstream.platforms.base import get_platform, platforms
from dropstream.scheduling import actions as scheduling_actions
from dropstream.scheduling.models import RunMode, RunTrigger
from dropstream.web.forms import (
    ConnectionOptionsForm,
    CsvUploadForm,
    ListingForm,
    PlatformSettingsForm,
    ShippingMapForm,
    connection_options_initial,
)
from dropstream.web.views.common import can_manage, get_visible, page, paginate, query_without


def _platform_choices(kind: str) -> list[tuple[str, str]]:
    return [(name, get_platform(kind, name).label) for name in platforms(kind)]  # type: ignore


@page
def connection_list(request: HttpRequest) -> HttpResponse:
    """Search by name; filter by status, merchant, store platform and warehouse platform."""
    user = request.user
    qs = (Connection.objects.visible_to(user)
          .select_related("customer", "store", "warehouse")
          .annotate(error_orders=Count("orders", filter=Q(orders__status="error")))
          .order_by("name", "id"))
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(store__name__icontains=q)
                       | Q(customer__company_name__icontains=q))
    status = request.GET.get("status", "")
    if status == "enabled":
        qs = qs.filter(enabled_at__isnull=False)
    elif status == "disabled":
        qs = qs.filter(enabled_at__isnull=True)
    merchant = request.GET.get("merchant", "")
    if merchant.isdigit():
        qs = qs.filter(customer_id=int(merchant))
    if request.GET.get("store_platform"):
        qs = qs.filter(store__platform=request.GET["store_platform"])
    if request.GET.get("warehouse_platform"):
        qs = qs.filter(warehouse__platform=request.GET["warehouse_platform"])
    context = {
        "page": paginate(request, qs),
        "q": q, "status": status, "merchant": merchant,
        "store_platform": request.GET.get("store_platform", ""),
        "warehouse_platform": request.GET.get("warehouse_platform", ""),
        "merchants": Merchant.objects.visible_to(user),
        "store_platforms": _platform_choices("store"),
        "warehouse_platforms": _platform_choices("warehouse"),
        "query": query_without(request, "page"),
        "created": request.GET.get("created", ""),
        "can_manage": can_manage(user),
    }
    if request.htmx and not request.htmx.boosted and request.htmx.target == "connection-rows":
        return render(request, "web/connections/_rows.html", context)
    return render(request, "web/connections/list.html", context)


@page(manage=True)
@require_POST
def connection_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a connection on or off; htmx gets the switch back, others a redirect."""
    connection = get_visible(Connection.objects.select_related("store"), request.user, pk=pk)
    enable = request.POST.get("enabled") in ("1", "true", "on")
    connection_actions.set_connection_enabled(connection, timezone.now() if enable else None)
    if request.htmx:
        return render(request, "web/connections/_switch.html", {"c": connection,
                                                                 "can_manage": True})
    messages.success(request, f"{connection.name} {'enabled' if enable else 'disabled'}.")
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("web:connection", args=[pk])
    return redirect(back)


def _connection(request: HttpRequest, pk: int) -> Connection:
    return get_visible(Connection.objects.select_related("customer", "store", "warehouse"),
                       request.user, pk=pk)


def _channel_cards(connection: Connection) -> list[dict]:
    channels = {c.type: c for c in connection.channels.all()}
    cards = []
    for channel_type, label in ChannelType.choices:
        channel = channels.get(channel_type)
        card = {"type": channel_type, "label": label, "channel": channel}
        if channel is not None:
            channel.connection = connection
            card["summary"] = scheduling_actions.channel_summary(channel)
            card["rules_json"] = json.dumps(channel.rules, indent=1)
            card["full_sync_json"] = json.dumps(channel.full_sync_rules, indent=1)
        cards.append(card)
    return cards


@page
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    context = {"c": connection, "tab": "channels", "cards": _channel_cards(connection),
               "can_manage": can_manage(request.user)}
    return render(request, "web/connections/channels.html", context)


@page(manage=True)
@require_POST
def channel_toggle(request: HttpRequest, pk: int, channel_type: str) -> HttpResponse:
    connection = _connection(request, pk)
    channel = get_visible(Channel.objects, request.user, connection=connection,
                          type=channel_type)
    enable = request.POST.get("enabled") in ("1", "true", "on")
    scheduling_actions.set_channel_enabled(channel, timezone.now() if enable else None)
    return _after_channel_change(request, connection, channel_type)


def _after_channel_change(request: HttpRequest, connection: Connection,
                          channel_type: str) -> HttpResponse:
    if request.htmx:
        card = next(c for c in _channel_cards(connection) if c["type"] == channel_type)
        return render(request, "web/connections/_channel_card.html",
                      {"c": connection, "card": card, "can_manage": True})
    return redirect("web:connection", pk=connection.pk)


@page(manage=True)
@require_POST
def channel_run(request: HttpRequest, pk: int, channel_type: str) -> HttpResponse:
    """Run now (``mode`` full for an inventory Full Sync); the schedule is unchanged."""
    connection = _connection(request, pk)
    channel = get_visible(Channel.objects, request.user, connection=connection,
                          type=channel_type)
    full = request.POST.get("mode") == "full"
    try:
        scheduling_actions.request_run(channel, mode=RunMode.FULL if full else RunMode.DEFAULT,
                                        trigger=RunTrigger.MANUAL)
    except ValueError as exc:
        messages.error(request, scheduling_message(exc))
    else:
        label = "Full sync" if full else "Run"
        messages.success(request, f"{label} of {channel.get_type_display()} queued.")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("web:connection", args=[pk])
        return response
    return redirect("web:connection", pk=pk)


@page(manage=True)
@require_POST
def channel_rules(request: HttpRequest, pk: int, channel_type: str) -> HttpResponse:
    """Save the schedule rules (JSON lists, validated by scheduling)."""
    connection = _connection(request, pk)
    channel = get_visible(Channel.objects, request.user, connection=connection,
                          type=channel_type)
    try:
        rules = json.loads(request.POST.get("rules") or "[]")
        full = json.loads(request.POST["full_sync_rules"]) \
            if request.POST.get("full_sync_rules") else None
        warnings = scheduling_actions.set_channel_rules(channel, rules, full) or []
    except json.JSONDecodeError as exc:
        messages.error(request, f"The rules are not valid JSON: {exc.msg} (line {exc.lineno}).")
    except ValueError as exc:
        messages.error(request, scheduling_message(exc))
    else:
        for warning in warnings:
            messages.warning(request, str(warning))
        messages.success(request, f"{channel.get_type_display()} schedule saved.")
    return redirect("web:connection", pk=pk)


@page(manage=True)
def connection_settings(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    store, warehouse = connection.store, connection.warehouse
    options = ConnectionOptionsForm(initial=connection_options_initial(connection))
    forms = {
        "store": _settings_form(store, None),
        "warehouse": _settings_form(warehouse, None),
    }
    return _render_settings(request, connection, options=options, forms=forms)


def _settings_form(obj, data) -> PlatformSettingsForm:
    spec = obj.platform_spec
    shown = obj.adapter_settings()
    initial = {k: v for k, v in shown.items() if k not in spec.secret_fields}
    return PlatformSettingsForm(spec, data, keep_secrets=True, initial=initial,
                                prefix=spec.kind)


def _field_errors(form, errors: dict[str, str]) -> None:
    """A domain error's messages beside their fields (the rest above the form)."""
    for key, message in errors.items():
        form.add_error(key if key in form.fields else None, message)


def stored_secrets(owner) -> list[tuple[str, str]]:
    """(label, masked value) of each secret setting the owner holds, for "Stored: …"."""
    masked = owner.masked_adapter()
    return [(f.label, masked[f.name]) for f in owner.platform_spec.fields
            if f.secret and masked.get(f.name)]


def hook_url(owner) -> str | None:
    """The owner's hook URL on the hub's public address, when its platform delivers to one."""
    if owner.platform_spec.hooks() is None:
        return None
    path = reverse("hook", args=[owner.platform, owner.hook_secret])
    return f"{django_settings.PUBLIC_URL.rstrip('/')}{path}"


def _hook_card(owner) -> dict | None:
    spec = owner.platform_spec.hooks()
    if spec is None:
        return None
    return {"title": spec.title, "url": hook_url(owner), "steps": spec.setup_steps}


def _render_settings(request: HttpRequest, connection: Connection, *, options=None, forms=None,
                     shipping_form=None, csv_form=None, listing_form=None,
                     status: int = 200) -> HttpResponse:
    store = connection.store
    forms = forms or {"store": _settings_form(store, None),
                      "warehouse": _settings_form(connection.warehouse, None)}
    context = {
        "c": connection, "tab": "settings", "can_manage": True,
        "options": options or ConnectionOptionsForm(
            initial=connection_options_initial(connection)),
        "store_form": forms["store"], "warehouse_form": forms["warehouse"],
        "store_secrets": stored_secrets(store),
        "warehouse_secrets": stored_secrets(connection.warehouse),
        "credential_names": " and ".join(
            f.label for f in store.platform_spec.credential_fields if f.required),
        "store_hook": _hook_card(store),
        "warehouse_hook": _hook_card(connection.warehouse),
        "warehouse_change": pending_change(connection.warehouse),
        "shipping": ShippingMethodMap.objects.filter(connection=connection),
        "shipping_form": shipping_form or ShippingMapForm(),
        "csv_form": csv_form or CsvUploadForm(),
        "listings": Listing.objects.filter(store=store).select_related("product")[:200],
        "listing_count": Listing.objects.filter(store=store).count(),
        "listing_form": listing_form or ListingForm(),
        "credential_links": store.credential_links.select_related("created_by")[:10],
        "new_link": _new_link(request, connection),
    }
    return render(request, "web/connections/settings.html", context, status=status)


def _new_link(request: HttpRequest, connection: Connection) -> str:
    """The credential link just created for this connection, shown once, then forgotten."""
    shown = request.session.get("credential_link_shown")
    if not shown or shown.get("connection") != connection.pk:
        return ""
    request.session.pop("credential_link_shown", None)
    return shown.get("url", "")


@page(manage=True)
@require_POST
def connection_settings_save(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """Save one card of the Settings tab: options, store, warehouse credentials."""
    connection = _connection(request, pk)
    if part == "options":
        form = ConnectionOptionsForm(request.POST)
        if not form.is_valid():
            return _render_settings(request, connection, options=form, status=422)
        changes = dict(form.cleaned_data)
        try:
            with transaction.atomic():
                connection_actions.update_store(
                    connection.store, {"import_since": changes.pop("import_since")})
                connection_actions.update_connection(connection, changes)
        except ConnectionsError as exc:
            for key, message in exc.errors.items():
                form.add_error(key if key in form.fields else None, message)
            return _render_settings(request, connection, options=form, status=422)
        messages.success(request, "Connection settings saved.")
        return redirect("web:connection-settings", pk=pk)
    if part not in ("store", "warehouse"):
        return redirect("web:connection-settings", pk=pk)
    obj = connection.store if part == "store" else connection.warehouse
    form = _settings_form(obj, request.POST)
    forms = {"store": _settings_form(connection.store, None),
             "warehouse": _settings_form(connection.warehouse, None)}
    forms[part] = form
    if not form.is_valid():
        return _render_settings(request, connection, forms=forms, status=422)
    changes = form.raw_settings()
    # Unset flags arrive as False; empty text fields mean "clear", empty secrets "keep".
    for setting in obj.platform_spec.fields:
        if setting.name not in changes and not setting.secret:
            changes[setting.name] = None
    try:
        connection_actions.update_adapter_settings(obj, changes)
    except ConnectionsError as exc:
        form.add_connection_errors(exc)
        return _render_settings(request, connection, forms=forms, status=422)
    messages.success(request, f"{obj.platform_spec.label} settings saved.")
    return redirect("web:connection-settings", pk=pk)


@page(manage=True)
@require_POST
def connection_test(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """Test the stored store or warehouse credentials."""
    connection = _connection(request, pk)
    obj = connection.store if part == "store" else connection.warehouse
    spec = obj.platform_spec
    result = connection_actions.check_credentials(spec.kind, spec.name, obj.adapter_settings(),
                                                   state=obj.adapter_state)
    if request.htmx:
        return render(request, "web/wizard/_test_result.html", {"test": result, "form": None})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("web:connection-settings", pk=pk)


@page(manage=True)
@require_POST
def shipping_add(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = ShippingMapForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, connection, shipping_form=form, status=422)
    try:
        catalog_actions.add_shipping_method(connection, **form.cleaned_data)
    except CatalogError as exc:
        _field_errors(form, exc.errors)
        return _render_settings(request, connection, shipping_form=form, status=422)
    messages.success(request, f"“{form.cleaned_data['store_description']}” mapped.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#shipping")


@page(manage=True)
@require_POST
def host_key_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """The user checked with the warehouse: approve what its platform waits for (DSFX: trust
    the host key its server now presents)."""
    connection = _connection(request, pk)
    try:
        accept_pending_change(connection.warehouse)
    except ConnectionsError as exc:
        messages.error(request, "; ".join(exc.errors.values()))
    else:
        messages.success(request, "Accepted; the warehouse runs again.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#warehouse-settings")


@page(manage=True)
@require_POST
def push_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret Push Orders URL; the old one answers 404 from now on."""
    connection = _connection(request, pk)
    connection_actions.rotate_hook_secret(connection.store)
    messages.success(request, "A new URL was made: paste it into the store's settings.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#push")


@page(manage=True)
@require_POST
def shipping_delete(request: HttpRequest, pk: int, row: int) -> HttpResponse:
    connection = _connection(request, pk)
    ShippingMethodMap.objects.filter(connection=connection, pk=row).delete()
    return redirect(reverse("web:connection-settings", args=[pk]) + "#shipping")


@page(manage=True)
@require_POST
def shipping_import(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = CsvUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_settings(request, connection, csv_form=form, status=422)
    try:
        text = form.cleaned_data["file"].read(1024 * 1024).decode("utf-8-sig")
    except UnicodeDecodeError:
        form.add_error("file", "The file is not UTF-8 text; save it as CSV UTF-8.")
        return _render_settings(request, connection, csv_form=form, status=422)
    result = catalog_actions.import_shipping_map(connection, text,
                                                 overwrite=form.cleaned_data["overwrite"])
    if result.errors:
        for error in result.errors[:10]:
            form.add_error("file", error)
        return _render_settings(request, connection, csv_form=form, status=422)
    messages.success(request, f"Imported: {result.created} added, {result.updated} updated, "
                              f"{result.skipped} kept as they were.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#shipping")


@page(manage=True)
@require_POST
def listing_add(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = ListingForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, connection, listing_form=form, status=422)
    try:
        catalog_actions.add_listing(connection.store, **form.cleaned_data)
    except CatalogError as exc:
        _field_errors(form, exc.errors)
        return _render_settings(request, connection, listing_form=form, status=422)
    messages.success(request, f"{form.cleaned_data['store_sku']} → "
                              f"{form.cleaned_data['warehouse_sku']} saved.")
    return redirect(reverse("web:connection-settings", args=[pk]) + "#listings")


@page(manage=True)
@require_POST
def listing_delete(request: HttpRequest, pk: int, row: int) -> HttpResponse:
    connection = _connection(request, pk)
    Listing.objects.filter(store=connection.store, pk=row).delete()
    return redirect(reverse("web:connection-settings", args=[pk]) + "#listings")


def scheduling_message(exc: Exception) -> str:
    """A scheduling error as one sentence per problem."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict):
        return " ".join(f"{key}: {message}" if not key.startswith(("connection", "mode"))
                        else message[:1].upper() + message[1:] + "."
                        for key, message in errors.items())
    return str(exc)

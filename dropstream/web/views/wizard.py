"""The Add Connection wizard (reference §2): Basic Information → Merchant → Warehouse → Store.

Nothing is written to the database until the last step: the answers live in the session (the
secrets in it encrypted with the hub's key), and "Add connection" creates the merchant,
warehouse, store and connection in one transaction. Cancel just drops the session entry, so a
cancelled wizard leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dropstream import crypto
from dropstream.accounts.scoping import visible_merchant_ids
from dropstream.connections import actions as connection_actions
from dropstream.connections.actions import CredentialCheck
from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Merchant, Warehouse
from dropstream.platforms.base import PlatformSpec, get_platform, platforms
from dropstream.web.forms import (
    BasicInformationForm,
    MerchantChoiceForm,
    NamedSetupForm,
    PlatformSettingsForm,
    WarehouseChoiceForm,
)
from dropstream.web.views.common import page

SESSION_KEY = "connection_wizard"
STEPS = (
    ("basic", "Basic Information"),
    ("merchant", "Merchant"),
    ("warehouse", "Warehouse Setup"),
    ("store", "Store Setup"),
)


# ----------------------------------------------------------------------------- session state


def _state(request: HttpRequest) -> dict[str, Any]:
    return request.session.get(SESSION_KEY) or {}


def _save(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state
    request.session.modified = True


def _seal(spec: PlatformSpec, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings with every secret encrypted, fit to sit in the session."""
    return {k: crypto.encrypt(str(v)) if k in spec.secret_fields and v not in (None, "") else v
            for k, v in settings.items()}


def _unseal(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: crypto.decrypt(v) if crypto.is_encrypted(v) else v for k, v in settings.items()}


def _first_missing(state: dict[str, Any]) -> str | None:
    for key in ("basic", "merchant", "warehouse"):
        if key == "basic" and not state.get("name"):
            return "basic"
        if key == "merchant" and not state.get("merchant"):
            return "merchant"
        if key == "warehouse" and not state.get("warehouse"):
            return "warehouse"
    return None


def _guard(request: HttpRequest, step: str) -> HttpResponse | None:
    """Redirect to the first unanswered step before ``step``; None when ``step`` may show."""
    order = [s for s, _ in STEPS]
    missing = _first_missing(_state(request))
    if missing and order.index(missing) < order.index(step):
        return redirect("web:wizard", step=missing)
    return None


def _render(request: HttpRequest, step: str, context: dict[str, Any],
            status: int = 200) -> HttpResponse:
    order = [s for s, _ in STEPS]
    context.update({
        "steps": [{"key": s, "label": label, "index": i + 1,
                   "state": "current" if s == step else
                   ("done" if i < order.index(step) else "todo")}
                  for i, (s, label) in enumerate(STEPS)],
        "step": step,
        "state": _state(request),
        "back": order[order.index(step) - 1] if order.index(step) else None,
    })
    return render(request, f"web/wizard/{step}.html", context, status=status)


def _specs(kind: str) -> list[PlatformSpec]:
    return [get_platform(kind, name) for name in platforms(kind)]  # type: ignore[arg-type]


def _chosen_spec(request: HttpRequest, kind: str, default: str | None = None) -> PlatformSpec:
    name = request.POST.get("platform") or request.GET.get("platform") or default
    names = platforms(kind)  # type: ignore[arg-type]
    if name not in names:
        name = names[0]
    return get_platform(kind, name)  # type: ignore[arg-type]


def _test_and_report(form: PlatformSettingsForm) -> CredentialCheck | None:
    """Run the credential test on a valid form; put a failure beside its field.

    Returns the result, or None when the form was not valid enough to test.
    A temporary failure (timeout, 5xx) is reported but does not block the step.
    """
    if not form.is_valid():
        return None
    result = connection_actions.check_credentials(form.spec.kind, form.spec.name, form.cleaned_settings)
    return result


# ----------------------------------------------------------------------------- pages


@page(manage=True)
def wizard_start(request: HttpRequest) -> HttpResponse:
    """Begin a fresh wizard (dropping any abandoned one)."""
    request.session.pop(SESSION_KEY, None)
    return redirect("web:wizard", step="basic")


@page(manage=True)
@require_POST
def wizard_cancel(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    messages.info(request, "Cancelled. Nothing was created.")
    return redirect("web:connections")


@page(manage=True)
def wizard(request: HttpRequest, step: str) -> HttpResponse:
    handlers = {"basic": _basic, "merchant": _merchant, "warehouse": _warehouse,
                "store": _store}
    if step not in handlers:
        return redirect("web:wizard", step="basic")
    blocked = _guard(request, step)
    if blocked:
        return blocked
    return handlers[step](request)


def _basic(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    form = BasicInformationForm(request.POST or None, initial={"name": state.get("name", "")})
    if request.method == "POST" and form.is_valid():
        state["name"] = form.cleaned_data["name"].strip()
        _save(request, state)
        return redirect("web:wizard", step="merchant")
    return _render(request, "basic", {"form": form})


def _merchant(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    saved = state.get("merchant") or {}
    can_create = visible_merchant_ids(request.user) is None
    initial = {"mode": "existing" if saved.get("id") or not can_create else "new",
               "merchant": saved.get("id"), **{k: v for k, v in saved.items() if k != "id"}}
    form = MerchantChoiceForm(request.POST or None, user=request.user, initial=initial)
    if not can_create:
        form.fields["mode"].choices = form.MODE_CHOICES[:1]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["mode"] == "existing":
            merchant = {"id": data["merchant"].pk}
        else:
            merchant = {k: (data.get(k) or "").strip() for k in
                        ("company_name", "street1", "city", "state", "zipcode", "country")}
        if merchant != saved:
            state.pop("warehouse", None)  # another merchant's warehouse no longer applies
        state["merchant"] = merchant
        _save(request, state)
        return redirect("web:wizard", step="warehouse")
    return _render(request, "merchant", {"form": form, "can_create": can_create})


def _merchant_warehouses(request: HttpRequest, state: dict[str, Any]) -> list[Warehouse]:
    merchant_id = (state.get("merchant") or {}).get("id")
    if not merchant_id:
        return []
    return list(Warehouse.objects.visible_to(request.user).filter(customer_id=merchant_id))


def _warehouse(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    saved = state.get("warehouse") or {}
    existing = _merchant_warehouses(request, state)
    spec = _chosen_spec(request, "warehouse", saved.get("platform"))
    post = request.POST if request.method == "POST" else None
    choice = WarehouseChoiceForm(post, warehouses=existing,
                                 initial={"warehouse": str(saved["id"]) if saved.get("id")
                                          else None}) if existing else None
    setup = NamedSetupForm(post, kind="warehouse", platforms=_specs("warehouse"),
                           initial={"label": saved.get("description", ""),
                                    "platform": spec.name})
    initial = {k: v for k, v in (saved.get("adapter") or {}).items()
               if k not in spec.secret_fields}
    settings_form = PlatformSettingsForm(spec, post, prefix="adapter", initial=initial)
    context = {"choice": choice, "setup": setup, "settings_form": settings_form, "spec": spec}

    if request.method != "POST" or request.POST.get("action") == "switch":
        if request.method == "POST":  # the platform changed: show its fields, no errors
            settings_form = PlatformSettingsForm(spec, prefix="adapter")
            context["settings_form"] = settings_form
        return _render(request, "warehouse", context)

    use_existing = choice is not None and choice.is_valid() and \
        choice.cleaned_data["warehouse"] != "new"
    if use_existing:
        state["warehouse"] = {"id": int(choice.cleaned_data["warehouse"])}
        _save(request, state)
        return redirect("web:wizard", step="store")

    action = request.POST.get("action", "continue")
    setup_ok = setup.is_valid()
    result = _test_and_report(settings_form)
    context["test"] = result
    if result is not None and not result.ok and result.field:
        settings_form.add_error(result.field, result.message)
    if request.htmx and action == "test":
        return render(request, "web/wizard/_test_result.html",
                      {"test": result, "form": settings_form})
    blocking = result is None or (not result.ok and not _transient(result))
    if action == "test" or not setup_ok or blocking:
        return _render(request, "warehouse", context, status=200 if action == "test" else 422)
    state["warehouse"] = {"platform": spec.name,
                          "description": setup.cleaned_data["label"].strip(),
                          "adapter": _seal(spec, settings_form.cleaned_settings)}
    _save(request, state)
    return redirect("web:wizard", step="store")


def _transient(result: CredentialCheck) -> bool:
    """A failure with no field is a reachability problem: worth a warning, not a refusal."""
    return result.field is None


def _store(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    spec = _chosen_spec(request, "store")
    post = request.POST if request.method == "POST" else None
    setup = NamedSetupForm(post, kind="store", platforms=_specs("store"),
                           initial={"platform": spec.name})
    settings_form = PlatformSettingsForm(spec, post, prefix="adapter")
    context = {"setup": setup, "settings_form": settings_form, "spec": spec,
               "merchant_name": _merchant_name(request, state),
               "warehouse_name": _warehouse_name(request, state)}
    if request.method != "POST" or request.POST.get("action") == "switch":
        if request.method == "POST":
            context["settings_form"] = PlatformSettingsForm(spec, prefix="adapter")
        return _render(request, "store", context)

    action = request.POST.get("action", "create")
    if action == "ask":
        return _create_asking_merchant(request, state, setup, spec, context)
    setup_ok = setup.is_valid()
    result = _test_and_report(settings_form)
    context["test"] = result
    if result is not None and not result.ok and result.field:
        settings_form.add_error(result.field, result.message)
    if request.htmx and action == "test":
        return render(request, "web/wizard/_test_result.html",
                      {"test": result, "form": settings_form})
    blocking = result is None or (not result.ok and not _transient(result))
    if action == "test" or not setup_ok or blocking:
        return _render(request, "store", context, status=200 if action == "test" else 422)

    answers = _warehouse_and_merchant(request, state)
    if isinstance(answers, HttpResponse):
        return answers
    warehouse, merchant = answers
    try:
        connection = connection_actions.create_with_parts(
            name=state["name"], merchant=merchant, warehouse=warehouse,
            store={"name": setup.cleaned_data["label"].strip(), "platform": spec.name,
                   "adapter": settings_form.cleaned_settings,
                   "import_since": setup.cleaned_data.get("import_since")})
    except ConnectionsError as exc:
        settings_form.add_connection_errors(exc)
        return _render(request, "store", context, status=422)
    request.session.pop(SESSION_KEY, None)
    if result is not None and not result.ok:
        messages.warning(request, f"Created, but the store could not be reached just now: "
                                  f"{result.message}")
    messages.success(request, f"Connection “{connection.name}” created. It is disabled: review "
                              "its channels, then switch it on.")
    return redirect(reverse("web:connections") + f"?created={connection.pk}")


def _warehouse_and_merchant(request: HttpRequest, state: dict[str, Any]
                            ) -> tuple[dict[str, Any], dict[str, Any]] | HttpResponse:
    """The wizard's warehouse answers (secrets unsealed) and merchant, or a redirect when the
    chosen merchant is no longer visible to the user (the wizard then starts again)."""
    warehouse = dict(state["warehouse"])
    if warehouse.get("adapter"):
        warehouse["adapter"] = _unseal(warehouse["adapter"])
    merchant = state["merchant"]
    if merchant.get("id") and not Merchant.objects.visible_to(request.user).filter(
            pk=merchant["id"]).exists():
        request.session.pop(SESSION_KEY, None)
        messages.error(request, "That merchant is no longer available to you; start again.")
        return redirect("web:connections")
    return warehouse, merchant


def _create_asking_merchant(request: HttpRequest, state: dict[str, Any], setup: NamedSetupForm,
                            spec: PlatformSpec, context: dict[str, Any]) -> HttpResponse:
    """Create the connection without store credentials and a one-time link for the merchant
    to enter them (shown once on the Settings tab)."""
    from dropstream.web import credential_links
    from dropstream.web.views.credentials import SESSION_NEW_LINK

    context["settings_form"] = PlatformSettingsForm(spec, prefix="adapter")
    if not setup.is_valid():
        return _render(request, "store", context, status=422)
    answers = _warehouse_and_merchant(request, state)
    if isinstance(answers, HttpResponse):
        return answers
    warehouse, merchant = answers
    try:
        connection = connection_actions.create_with_parts(
            name=state["name"], merchant=merchant, warehouse=warehouse,
            store={"name": setup.cleaned_data["label"].strip(), "platform": spec.name,
                   "pending": True})
    except ConnectionsError as exc:
        for message in exc.errors.values():
            setup.add_error(None, message)
        return _render(request, "store", context, status=422)
    request.session.pop(SESSION_KEY, None)
    new = credential_links.create_link(connection.store, user=request.user,
                                       connection=connection)
    request.session[SESSION_NEW_LINK] = {"connection": connection.pk,
                                         "url": new.url}
    messages.success(request, f"Connection “{connection.name}” created, disabled, without store "
                              "credentials. Send the merchant the link below.")
    return redirect(reverse("web:connection-settings", args=[connection.pk]) + "#credential-link")


def _merchant_name(request: HttpRequest, state: dict[str, Any]) -> str:
    merchant = state.get("merchant") or {}
    if merchant.get("id"):
        found = Merchant.objects.visible_to(request.user).filter(pk=merchant["id"]).first()
        return str(found) if found else ""
    return merchant.get("company_name", "")


def _warehouse_name(request: HttpRequest, state: dict[str, Any]) -> str:
    warehouse = state.get("warehouse") or {}
    if warehouse.get("id"):
        found = Warehouse.objects.visible_to(request.user).filter(pk=warehouse["id"]).first()
        return str(found) if found else ""
    if warehouse.get("platform"):
        label = get_platform("warehouse", warehouse["platform"]).label
        return warehouse.get("description") or f"New {label} warehouse"
    return ""

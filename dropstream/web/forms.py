"""Forms of the pages. Platform forms are built from the platform's SettingField list, so a new
platform needs no form code; the platform's own cleaners decide what is valid."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from dropstream.accounts.models import Role, User
from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Merchant
from dropstream.orders.models import OrderStatus
from dropstream.platforms.base import PlatformSpec, SettingField
from dropstream.rules.models import Hook, RuleAction, RuleScope
from dropstream.rules.validation import LINE_FIELDS, ORDER_FIELDS


def _form_field(setting: SettingField, *, keep_secret: bool) -> forms.Field:
    """A Django field for one setting. Values stay raw text: the platform's cleaner decides."""
    common: dict[str, Any] = {"label": setting.label, "help_text": setting.help,
                              "required": False}
    if setting.choices:
        choices = [(c, c) for c in setting.choices]
        if not setting.required and setting.default is None:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(choices=choices, initial=setting.default, **common)
    if isinstance(setting.default, bool):
        return forms.BooleanField(initial=setting.default, **common)
    if setting.secret:
        attrs = {"autocomplete": "off", "spellcheck": "false"}
        if keep_secret:
            attrs["placeholder"] = "Leave empty to keep the current value"
        return forms.CharField(widget=forms.PasswordInput(render_value=False, attrs=attrs),
                               **common)
    initial = None if setting.default in (None, "") else setting.default
    return forms.CharField(initial=initial, **common)



def field_message(name: str, message: str) -> str:
    """``adapter.subdomain must be …`` → ``Must be …`` (the label already names the field)."""
    for prefix in (f"adapter.{name} ", f"{name} "):
        if message.startswith(prefix):
            message = message[len(prefix):]
            break
    return message[:1].upper() + message[1:]


def split_errors(errors: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``ConnectionsError.errors`` → (messages per adapter field name, other messages)."""
    fields: dict[str, str] = {}
    other: list[str] = []
    for key, message in errors.items():
        if key.startswith("adapter."):
            name = key.split(".", 1)[1]
            fields[name] = field_message(name, message)
        else:
            other.append(message)
    return fields, other


def primary_fields(spec: PlatformSpec) -> list[SettingField]:
    """Fields shown up front: required ones, choices, and those with no default value.

    The rest (fields with a sensible default such as flags and tuning numbers) go under
    "Advanced", so the everyday form stays short.
    """
    return [f for f in spec.fields if f.required or f.choices or f.default is None]


def advanced_fields(spec: PlatformSpec) -> list[SettingField]:
    primary = {f.name for f in primary_fields(spec)}
    return [f for f in spec.fields if f.name not in primary]


class PlatformSettingsForm(forms.Form):
    """One platform's ``adapter`` settings.

    ``keep_secrets``: an empty secret field keeps the stored value (editing, not creating).
    ``cleaned_settings`` holds what the platform's cleaners returned.
    """

    def __init__(self, spec: PlatformSpec, *args: Any, keep_secrets: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.keep_secrets = keep_secrets
        self.cleaned_settings: dict[str, Any] = {}
        for setting in spec.fields:
            self.fields[setting.name] = _form_field(setting, keep_secret=keep_secrets)
            if setting.required and not (setting.secret and keep_secrets):
                self.fields[setting.name].widget.attrs["required"] = "required"
                self.fields[setting.name].widget.attrs["aria-required"] = "true"

    def primary(self) -> list[forms.BoundField]:
        return [self[f.name] for f in primary_fields(self.spec)]

    def advanced(self) -> list[forms.BoundField]:
        return [self[f.name] for f in advanced_fields(self.spec)]

    def raw_settings(self) -> dict[str, Any]:
        """The submitted values, with empty ones dropped (and empty secrets kept when editing)."""
        raw: dict[str, Any] = {}
        for setting in self.spec.fields:
            value = self.cleaned_data.get(setting.name)
            if isinstance(value, bool):
                raw[setting.name] = value
            elif value not in (None, ""):
                raw[setting.name] = value
        return raw

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.keep_secrets:
            return cleaned  # edits are validated against the merged settings by the view
        try:
            from dropstream.connections.actions import clean_adapter

            self.cleaned_settings = clean_adapter(self.spec.kind, self.spec.name,
                                                  self.raw_settings())
        except ConnectionsError as exc:
            self.add_connection_errors(exc)
        return cleaned

    def add_connection_errors(self, exc: ConnectionsError) -> None:
        fields, other = split_errors(
            {k.split(".", 1)[1] if k.startswith(("store.", "warehouse.")) else k: v
             for k, v in exc.errors.items()})
        for name, message in fields.items():
            self.add_error(name if name in self.fields else None, message)
        for message in other:
            self.add_error(None, message)


class BasicInformationForm(forms.Form):
    name = forms.CharField(
        label="Connection name", max_length=200,
        help_text="A descriptive name, e.g. “Acme — BrightStores → Main DC”.")


class MerchantChoiceForm(forms.Form):
    MODE_CHOICES = [("existing", "Use an existing merchant"), ("new", "Create a new merchant")]
    mode = forms.ChoiceField(choices=MODE_CHOICES, widget=forms.RadioSelect, initial="new",
                             label="Merchant")
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.none(), required=False,
                                      label="Existing merchant")
    company_name = forms.CharField(max_length=200, required=False, label="Company name")
    street1 = forms.CharField(max_length=200, required=False, label="Street")
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=100, required=False)
    zipcode = forms.CharField(max_length=20, required=False, label="ZIP / postal code")
    country = forms.CharField(max_length=100, required=False)

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = Merchant.objects.visible_to(user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("mode") == "existing" and not cleaned.get("merchant"):
            self.add_error("merchant", "Choose the merchant.")
        if cleaned.get("mode") == "new" and not (cleaned.get("company_name") or "").strip():
            self.add_error("company_name", "Enter the merchant's company name.")
        return cleaned


class WarehouseChoiceForm(forms.Form):
    """For an existing merchant: reuse one of its warehouses or set up a new one."""

    warehouse = forms.ChoiceField(label="Warehouse", widget=forms.RadioSelect)

    def __init__(self, *args: Any, warehouses=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(w.pk), f"{w} ({w.platform_spec.label})") for w in warehouses]
        choices.append(("new", "Set up a new warehouse"))
        self.fields["warehouse"].choices = choices
        self.fields["warehouse"].initial = choices[0][0]


class NamedSetupForm(forms.Form):
    """The name/description and platform above a platform settings form."""

    label = forms.CharField(max_length=200)
    platform = forms.ChoiceField()

    def __init__(self, *args: Any, kind: str, platforms: list[PlatformSpec],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["platform"].choices = [(p.name, p.label) for p in platforms]
        self.fields["platform"].initial = platforms[0].name if platforms else None
        if kind == "store":
            self.fields["label"].label = "Store name"
            self.fields["import_since"] = forms.DateTimeField(
                required=False, label="Import orders since",
                help_text="Default: when the connection is first enabled.")
        else:
            self.fields["label"].label = "Warehouse description"
            self.fields["label"].required = False
            self.fields["label"].help_text = "How you call this warehouse, e.g. “Main DC”."


class ConnectionOptionsForm(forms.Form):
    """The connection's own options (and its store's import start) on the Settings tab."""

    name = forms.CharField(max_length=200, label="Connection name")
    inventory_reserve = forms.IntegerField(
        min_value=0, max_value=100_000, label="Inventory reserve",
        help_text="Units held back from every SKU's quantity written to the store.")
    zero_out_threshold = forms.IntegerField(
        min_value=0, max_value=100_000, label="Zero-out threshold",
        help_text="A quantity at or below this is written to the store as 0.")
    import_since = forms.DateTimeField(
        required=False, label="Import orders since",
        help_text="Orders created before this are never imported. Empty: from when the "
                  "connection is first enabled.")
    unmapped_shipping_method = forms.ChoiceField(
        label="Shipping method with no map entry",
        choices=[("pass", "Send the store's text unchanged"), ("error", "Put the order in Error")])
    # A store with several warehouses, one connection each (issue 16).
    imports_orders = forms.BooleanField(
        required=False, label="Imports the store's orders",
        help_text="One connection of a store imports its orders; the others receive only the "
                  "orders the store's rules route to them.")
    counts_toward_store_stock = forms.BooleanField(
        required=False, label="Counts toward store stock",
        help_text="This warehouse's quantities are added to the store's: the store shows the "
                  "sum over its warehouses that count.")


class ShippingMapForm(forms.Form):
    store_description = forms.CharField(max_length=200, label="Store shipping method",
                                        help_text="Exactly as the store sends it.")
    carrier_code = forms.CharField(max_length=100, label="Warehouse carrier code")
    carrier_name = forms.CharField(max_length=100, required=False, label="Carrier")
    service_level = forms.CharField(max_length=100, required=False, label="Service")


class CsvUploadForm(forms.Form):
    file = forms.FileField(label="CSV file",
                           help_text="Columns: store_description, carrier_code, carrier_name, "
                                     "service_level (header row required).")
    overwrite = forms.BooleanField(required=False, label="Overwrite existing rows")


class ListingForm(forms.Form):
    store_sku = forms.CharField(max_length=100, label="Store SKU")
    warehouse_sku = forms.CharField(max_length=100, label="Warehouse SKU")
    name = forms.CharField(max_length=300, required=False, label="Product name")


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "All"), *OrderStatus.choices])
    q = forms.CharField(required=False, label="Order number or e-mail", max_length=200)
    connection = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date_from = forms.DateField(required=False, label="From",
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To",
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Must be on or after the From date.")
        return cleaned


class OrderEditForm(forms.Form):
    """The fields a person may correct before the order goes (again) to the warehouse."""

    customer_email = forms.EmailField(required=False, label="Customer e-mail")
    shipping_warehouse_code = forms.CharField(required=False, max_length=100,
                                              label="Warehouse carrier code")
    ship_name = forms.CharField(required=False, max_length=255, label="Name")
    ship_company = forms.CharField(required=False, max_length=255, label="Company")
    ship_street1 = forms.CharField(required=False, max_length=255, label="Street")
    ship_street2 = forms.CharField(required=False, max_length=255, label="Street 2")
    ship_city = forms.CharField(required=False, max_length=255, label="City")
    ship_state = forms.CharField(required=False, max_length=255, label="State (ISO code)")
    ship_postal_code = forms.CharField(required=False, max_length=255, label="Postal code")
    ship_country = forms.CharField(required=False, max_length=255, label="Country (ISO code)")
    ship_phone = forms.CharField(required=False, max_length=255, label="Phone")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class InviteUserForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, widget=forms.RadioSelect, initial=Role.STAFF)
    merchant = forms.ModelChoiceField(
        queryset=Merchant.objects.all(), required=False, label="Merchant",
        help_text="Required for a Merchant user: the one merchant it belongs to.")
    merchants = forms.ModelMultipleChoiceField(
        queryset=Merchant.objects.all(), required=False, label="Limit to merchants",
        help_text="Staff only. Leave empty for all merchants.",
        widget=forms.CheckboxSelectMultiple)
    time_zone = forms.CharField(max_length=64, initial="UTC", label="Time zone")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise ValidationError("A user with this e-mail already exists.")
        return email

    def clean_time_zone(self) -> str:
        import zoneinfo

        name = self.cleaned_data["time_zone"].strip() or "UTC"
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError("Not a time zone name; use e.g. America/New_York.") from None
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == Role.MERCHANT and not cleaned.get("merchant"):
            self.add_error("merchant", "A Merchant user needs exactly one merchant.")
        if role != Role.MERCHANT and cleaned.get("merchant"):
            self.add_error("merchant", "Only Merchant users belong to one merchant.")
        if role != Role.STAFF and cleaned.get("merchants"):
            self.add_error("merchants", "Only Staff users can be limited to merchants.")
        return cleaned


class ProfileForm(forms.Form):
    time_zone = forms.CharField(max_length=64, label="Time zone")

    clean_time_zone = InviteUserForm.clean_time_zone


# ---------------------------------------------------------------------------------------------
# API usage budget, alert policies, notification channels, the merchant's credentials page
# ---------------------------------------------------------------------------------------------


class BudgetForm(forms.Form):
    """A store's request budget; ``scheduling.budget.update_budget`` decides what is valid."""

    monthly_allowance = forms.IntegerField(
        label="Monthly allowance (requests)", min_value=0,
        help_text="Default 30,000 — a figure to confirm with Bright Sites.")
    overage_price = forms.DecimalField(
        label="Price per request beyond the allowance ($)", min_value=0, decimal_places=4,
        help_text="Default $0.03 — a figure to confirm with Bright Sites.")
    guard = forms.ChoiceField(label="When the month's requests run high", choices=())
    max_delay_minutes = forms.IntegerField(
        label="Longest gap between scheduled runs when stretching (minutes)", min_value=1,
        max_value=10080)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from dropstream.metering.models import BudgetGuard

        self.fields["guard"].choices = BudgetGuard.choices


class NotificationChannelForm(forms.Form):
    name = forms.CharField(max_length=200, label="Channel name")
    emails = forms.CharField(label="E-mail addresses", widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="One per line.")
    batch_minutes = forms.TypedChoiceField(label="Send", coerce=int, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from dropstream.alerts.models import NotificationChannel

        self.fields["batch_minutes"].choices = NotificationChannel.Batch.choices

    def clean_emails(self) -> str:
        from django.core.validators import validate_email

        text = self.cleaned_data["emails"]
        addresses = [a.strip() for a in text.replace(",", "\n").replace(";", "\n").splitlines()
                     if a.strip()]
        if not addresses:
            raise ValidationError("Enter at least one e-mail address.")
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(f"Not an e-mail address: {', '.join(bad[:5])}.")
        if len(addresses) > 50:
            raise ValidationError("At most 50 addresses per channel.")
        return "\n".join(addresses)


class AlertPolicyForm(forms.Form):
    name = forms.CharField(max_length=200, label="Policy name",
                           help_text="e.g. “Order Import & Processing Alerts”.")
    kinds = forms.MultipleChoiceField(label="Monitored events", choices=(),
                                      widget=forms.CheckboxSelectMultiple)
    customer = forms.ModelChoiceField(queryset=Merchant.objects.none(), required=False,
                                      label="Merchant", empty_label="Every merchant")
    connections = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="Only these connections",
        widget=forms.CheckboxSelectMultiple, help_text="None ticked: every connection.")
    grouping = forms.ChoiceField(label="Alert grouping", choices=(), widget=forms.RadioSelect)
    auto_close_hours = forms.IntegerField(
        label="Auto-close after (hours without a new alert)", min_value=1, max_value=8760,
        initial=24)
    channels = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="Notification channels",
        widget=forms.CheckboxSelectMultiple,
        help_text="Without a channel the policy still opens issues but sends nothing.")

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from dropstream.alerts.models import AlertKind, Grouping, NotificationChannel
        from dropstream.connections.models import Connection

        self.fields["kinds"].choices = AlertKind.choices
        self.fields["grouping"].choices = Grouping.choices
        self.fields["grouping"].initial = Grouping.POLICY
        self.fields["customer"].queryset = Merchant.objects.visible_to(user)
        self.fields["connections"].queryset = Connection.objects.visible_to(user)
        self.fields["channels"].queryset = NotificationChannel.objects.all()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        customer = cleaned.get("customer")
        for connection in cleaned.get("connections") or []:
            if customer is not None and connection.customer_id != customer.pk:
                self.add_error("connections", f"{connection.name} belongs to another merchant "
                                              "than the one chosen.")
                break
        return cleaned


class CredentialLinkForm(forms.Form):
    """What the merchant enters on the one-time credentials page: the store platform's
    credential fields (required ones up front, the rest under "Advanced")."""

    def __init__(self, spec: PlatformSpec, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        for setting in spec.credential_fields:
            self.fields[setting.name] = _form_field(setting, keep_secret=False)

    def primary(self) -> list[forms.BoundField]:
        return [self[f.name] for f in self.spec.credential_fields if f.required]

    def advanced(self) -> list[forms.BoundField]:
        return [self[f.name] for f in self.spec.credential_fields if not f.required]

    def credentials(self) -> dict[str, Any]:
        """The values entered, empty optional ones left out (the stored value stays)."""
        return {name: value for name, value in self.cleaned_data.items()
                if value not in (None, "")}


def connection_options_initial(connection) -> dict[str, Any]:
    return {"name": connection.name, "inventory_reserve": connection.inventory_reserve,
            "zero_out_threshold": connection.zero_out_threshold,
            "unmapped_shipping_method": connection.unmapped_shipping_method,
            "imports_orders": connection.imports_orders,
            "counts_toward_store_stock": connection.counts_toward_store_stock,
            "import_since": connection.store.import_since}


# ---------------------------------------------------------------------------------- rules ----
# The form only collects text; rules.validation decides what is valid (its field → message map
# is shown beside these fields through RULE_ERROR_FIELDS).

def _code_area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "class": "code", "spellcheck": "false",
                                 "autocomplete": "off"})


SET_SOURCES = [("value", "A fixed value"), ("expression", "An expression")]
HOLD_KINDS = [("for_minutes", "For a number of minutes"), ("until", "Until a time"),
              ("until_released", "Until someone releases it")]
SPLIT_KINDS = [("split_by", "Lines with the same value form one order"),
               ("connection_by_line", "One order per connection the expression names")]
# A domain error's path → the form field it is shown beside.
RULE_ERROR_FIELDS = {
    "arguments.field": "set_field", "arguments.value": "set_value",
    "arguments.expression": "set_expression", "arguments.until": "hold_until",
    "arguments.for_minutes": "hold_for_minutes", "arguments.until_released": "hold_kind",
    "arguments.connection_id": "route_connection", "arguments.split_by": "split_expression",
    "arguments.connection_by_line": "split_expression", "arguments.message": "fail_message",
}
# The CEL texts of the form and the slot that shows whether each compiles.
CEL_FIELDS = {"condition": "condition", "set_expression": "arguments.expression",
              "split_expression": "arguments.split_by"}


class RuleForm(forms.Form):
    """One rule: its fields, and the arguments of each action (only the chosen action's are
    used; app.js shows only those)."""

    name = forms.CharField(required=False, max_length=200)
    hook = forms.ChoiceField(label="When")
    scope = forms.ChoiceField(label="For each", help_text="Line rules see line.* and act on "
                                                          "that line.")
    condition = forms.CharField(required=False, strip=False, widget=_code_area(),
                                initial="true",
                                help_text='A CEL expression, e.g. order.ship_to.country == '
                                          '"US" && order.total >= 100. true matches every '
                                          'order.')
    action = forms.ChoiceField(label="Then")
    set_field = forms.ChoiceField(required=False, label="Field")
    set_source = forms.ChoiceField(required=False, choices=SET_SOURCES, label="To",
                                   initial="value")
    set_value = forms.CharField(required=False, strip=False, label="Value")
    set_expression = forms.CharField(required=False, strip=False, widget=_code_area(2),
                                     label="Expression", help_text="Must give text, e.g. "
                                                                   "order.carrier + \" Ground\"")
    hold_kind = forms.ChoiceField(required=False, choices=HOLD_KINDS, label="Hold")
    hold_for_minutes = forms.IntegerField(required=False, label="Minutes")
    hold_until = forms.CharField(required=False, label="Until",
                                 help_text="ISO 8601 with a zone, e.g. 2026-12-01T09:00:00Z")
    route_connection = forms.ChoiceField(required=False, label="Send to")
    split_kind = forms.ChoiceField(required=False, choices=SPLIT_KINDS, label="Split")
    split_expression = forms.CharField(required=False, strip=False, widget=_code_area(2),
                                       label="Expression over line",
                                       help_text='e.g. line.sku.startsWith("FRZ")')
    fail_message = forms.CharField(required=False, max_length=500, label="Message")

    def __init__(self, *args: Any, connections: list[tuple[int, str]], editing: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hook"].choices = Hook.choices
        # A rule's hook is fixed once it exists (its position is in that hook's list).
        self.fields["hook"].disabled = editing
        self.fields["scope"].choices = RuleScope.choices
        self.fields["action"].choices = RuleAction.choices
        self.fields["set_field"].choices = [("", "—"), *(
            (name, name.replace("_", " ")) for name in (*ORDER_FIELDS, *LINE_FIELDS))]
        self.fields["route_connection"].choices = [("", "—"), *(
            (str(pk), label) for pk, label in connections)]

    def arguments(self) -> dict[str, Any]:
        """The chosen action's arguments, as ``rules.validation`` reads them."""
        data = self.cleaned_data
        action = data.get("action")
        if action == "set":
            source = data.get("set_source") or "value"
            text = data.get("set_value" if source == "value" else "set_expression") or ""
            return {"field": data.get("set_field") or None, source: text}
        if action == "hold":
            kind = data.get("hold_kind") or "for_minutes"
            value = {"for_minutes": data.get("hold_for_minutes"),
                     "until": data.get("hold_until") or "", "until_released": True}[kind]
            return {kind: value}
        if action == "route":
            chosen = data.get("route_connection")
            return {"connection_id": int(chosen) if chosen else None}
        if action == "split":
            return {data.get("split_kind") or "split_by": data.get("split_expression") or ""}
        if action == "fail":
            return {"message": data.get("fail_message") or ""}
        return {}

    def rule_fields(self) -> dict[str, Any]:
        """What ``rules.actions`` takes: name, scope, condition, action, arguments."""
        data = self.cleaned_data
        return {"name": data.get("name") or "", "scope": data["scope"],
                "condition": data.get("condition") or "", "action": data["action"],
                "arguments": self.arguments()}

    def add_rule_errors(self, errors: Mapping[str, str]) -> None:
        """A RuleError's messages beside their fields (the rest above the form)."""
        for path, message in errors.items():
            name = RULE_ERROR_FIELDS.get(path, path)
            self.add_error(name if name in self.fields else None, message)


def rule_initial(rule: Any) -> dict[str, Any]:
    """A stored rule as the form's initial values."""
    arguments = dict(rule.arguments or {})
    initial: dict[str, Any] = {"name": rule.name, "hook": rule.hook, "scope": rule.scope,
                               "condition": rule.condition, "action": rule.action}
    if rule.action == "set":
        source = "expression" if "expression" in arguments else "value"
        initial.update(set_field=arguments.get("field", ""), set_source=source)
        initial["set_expression" if source == "expression" else "set_value"] = arguments.get(
            source, "")
    elif rule.action == "hold":
        kind = next((k for k, _ in HOLD_KINDS if k in arguments), "for_minutes")
        initial.update(hold_kind=kind, hold_for_minutes=arguments.get("for_minutes"),
                       hold_until=arguments.get("until", ""))
    elif rule.action == "route":
        initial["route_connection"] = str(arguments.get("connection_id", ""))
    elif rule.action == "split":
        kind = "connection_by_line" if "connection_by_line" in arguments else "split_by"
        initial.update(split_kind=kind, split_expression=arguments.get(kind, ""))
    elif rule.action == "fail":
        initial["fail_message"] = arguments.get("message", "")
    return initial


class RuleTestForm(forms.Form):
    """The Test tab: a hook, and one of the store's orders or pasted order JSON."""

    hook = forms.ChoiceField(label="Rules of")
    order = forms.ChoiceField(required=False, label="One of the store's orders")
    pasted = forms.CharField(required=False, strip=False, widget=_code_area(10),
                             label="Or paste an order (JSON)",
                             help_text="The shape of GET /api/orders/{id}: its answer as it "
                                       "is, or the order object with its items.")
    include_inactive = forms.BooleanField(required=False, label="Include inactive rules")

    def __init__(self, *args: Any, orders: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hook"].choices = Hook.choices
        self.fields["order"].choices = [("", "—"), *((str(pk), label) for pk, label in orders)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        chosen, pasted = cleaned.get("order"), (cleaned.get("pasted") or "").strip()
        if bool(chosen) == bool(pasted):
            raise ValidationError("Choose an order or paste one (not both).")
        if pasted:
            try:
                cleaned["pasted_data"] = json.loads(pasted)
            except json.JSONDecodeError as exc:
                self.add_error("pasted", f"Not valid JSON: {exc.msg} (line {exc.lineno}, "
                                         f"column {exc.colno}).")
            except RecursionError:
                self.add_error("pasted", "Not valid JSON: nested too deeply.")
        return cleaned

"""Template helpers: one way to render a form field (label, input, help, error beside it)."""

from __future__ import annotations

from django import forms, template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

STATUS_TONE = {
    "error": "bad", "delayed": "warn", "pending": "warn", "new": "info", "queued": "info",
    "open": "info", "partially_shipped": "info", "shipped": "ok", "completed": "ok",
    "skipped": "muted", "closed": "muted", "archived": "muted",
}


@register.filter
def tone(status: str) -> str:
    """The badge colour class for an order or shipment status."""
    return STATUS_TONE.get(str(status), "muted")


@register.simple_tag
def field(bound: forms.BoundField, **attrs: str) -> SafeString:
    """Label, widget, help and the error message right beside the widget.

    The error slot ``err-<id>`` is always present, so an htmx response can fill it out-of-band.
    """
    # hx_post="…" in a template becomes the attribute hx-post="…".
    widget_attrs = {name.replace("_", "-"): value for name, value in attrs.items()}
    described = []
    error_id = f"err-{bound.auto_id}"
    help_id = f"help-{bound.auto_id}"
    if bound.help_text:
        described.append(help_id)
    if bound.errors:
        widget_attrs["aria-invalid"] = "true"
        described.append(error_id)
    if described:
        widget_attrs["aria-describedby"] = " ".join(described)
    is_check = isinstance(bound.field.widget, forms.CheckboxInput)
    is_multi = isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
    widget = bound.as_widget(attrs=widget_attrs)
    errors = format_html_join(" ", "{}", ((e,) for e in bound.errors))
    error_html = format_html('<p class="field-error" id="{}" role="alert">{}</p>', error_id,
                             errors) if bound.errors else format_html(
        '<p class="field-error" id="{}" hidden></p>', error_id)
    help_html = format_html('<p class="help" id="{}">{}</p>', help_id, bound.help_text) \
        if bound.help_text else ""
    required = bound.field.required or bound.field.widget.attrs.get("required")
    star = mark_safe(' <span class="req" aria-hidden="true">*</span>') if required else ""
    css = "field" + (" has-error" if bound.errors else "") + (" check" if is_check else "")
    if is_check:
        return format_html('<div class="{}"><label>{} {}{}</label>{}{}</div>', css, widget,
                           bound.label, star, help_html, error_html)
    if is_multi:
        return format_html('<fieldset class="{}"><legend>{}{}</legend>{}{}{}</fieldset>', css,
                           bound.label, star, widget, help_html, error_html)
    return format_html('<div class="{}"><label for="{}">{}{}</label>{}{}{}</div>', css,
                       bound.id_for_label, bound.label, star, widget, help_html, error_html)


@register.simple_tag
def non_field_errors(form: forms.Form) -> SafeString:
    errors = form.non_field_errors()
    if not errors:
        return mark_safe("")
    return format_html('<div class="banner bad" role="alert">{}</div>',
                       format_html_join(" ", "{}", ((e,) for e in errors)))


@register.simple_tag(takes_context=True)
def nav_class(context, prefix: str) -> str:
    path = context["request"].path
    active = path == "/" if prefix == "/" else path.startswith(prefix)
    return "active" if active else ""

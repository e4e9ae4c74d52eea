from django import forms
from django.contrib import admin

from dropstream.connections.models import Channel, Connection, Merchant, Store, Warehouse
from dropstream.platforms.base import AdapterSettingsError


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("company_name", "city", "country", "created_at")
    search_fields = ("company_name",)


class AdapterForm(forms.ModelForm):
    """Shows secrets masked; a blank or unchanged masked value keeps the stored secret."""

    adapter = forms.JSONField(required=False, help_text="Secrets are shown masked; leave them "
                              "as they are to keep them, or type a new value.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.platform:
            self.initial["adapter"] = self.instance.masked_adapter()

    def clean(self):
        cleaned = super().clean()
        platform, raw = cleaned.get("platform"), cleaned.get("adapter") or {}
        if not platform:
            return cleaned
        instance = self.instance
        instance.platform = platform
        try:
            spec = instance.platform_spec
            current = instance.adapter_settings() if instance.pk else {}
            masked = spec.masked(current) if current else {}
            for name in spec.secret_fields:
                if raw.get(name) in (None, "", masked.get(name)) and current.get(name):
                    raw[name] = current[name]
            cleaned["adapter"] = spec.clean(raw)
        except AdapterSettingsError as exc:
            raise forms.ValidationError(list(exc.errors.values())) from None
        except KeyError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned

    def save(self, commit=True):
        instance = super().save(commit=False)
        instance.set_adapter(self.cleaned_data["adapter"])
        if commit:
            instance.save()
        return instance


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    form = AdapterForm
    list_display = ("name", "customer", "platform", "enabled_at", "order_imported_at")
    list_filter = ("platform",)
    search_fields = ("name",)
    exclude = ("push_secret",)


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    form = AdapterForm
    list_display = ("description", "customer", "platform", "enabled_at")
    list_filter = ("platform",)


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0
    fields = ("type", "enabled_at", "rules", "next_run_at", "last_completed_at")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "store", "warehouse", "enabled_at")
    list_filter = ("enabled_at",)
    search_fields = ("name",)
    inlines = [ChannelInline]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("connection", "type", "enabled_at", "next_run_at", "last_completed_at")

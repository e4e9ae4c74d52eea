from django.contrib import admin

from dropstream.alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "connection", "message", "resolved_at")
    list_filter = ("kind",)

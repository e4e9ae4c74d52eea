from django.contrib import admin

from dropstream.scheduling.models import ApiCall, Run, StoreBudget


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = ("at", "store", "channel", "endpoint", "status_code", "attempt", "duration_ms")
    list_filter = ("channel", "status_code")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "connection", "channel_type", "mode", "trigger", "state", "queued_at",
                    "finished_at", "requests_used")
    list_filter = ("state", "channel_type", "trigger")


@admin.register(StoreBudget)
class StoreBudgetAdmin(admin.ModelAdmin):
    list_display = ("store", "monthly_allowance", "overage_price", "guard")

from django.contrib import admin

from dropstream.metering.models import ApiCall, StoreBudget


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = ("at", "store", "channel", "endpoint", "status_code", "attempt", "duration_ms")
    list_filter = ("channel", "status_code")


@admin.register(StoreBudget)
class StoreBudgetAdmin(admin.ModelAdmin):
    list_display = ("store", "monthly_allowance", "overage_price", "guard")

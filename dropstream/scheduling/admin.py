from django.contrib import admin

from dropstream.scheduling.models import ApiCall


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = ("at", "store", "channel", "endpoint", "status_code", "attempt", "duration_ms")
    list_filter = ("channel", "status_code")

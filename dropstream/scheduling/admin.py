from django.contrib import admin

from dropstream.scheduling.models import Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "connection", "channel_type", "mode", "trigger", "state", "queued_at",
                    "finished_at", "requests_used")
    list_filter = ("state", "channel_type", "trigger")

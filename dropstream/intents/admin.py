from django.contrib import admin

from dropstream.intents.models import Intent


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "state", "reference", "created_at", "done_at")
    list_filter = ("kind", "state")

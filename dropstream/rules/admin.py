from django.contrib import admin

from dropstream.rules.models import Rule


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "hook", "position", "active", "scope", "action")
    list_filter = ("hook", "active", "action", "scope")
    search_fields = ("name", "condition")
    ordering = ("store", "hook", "position", "id")

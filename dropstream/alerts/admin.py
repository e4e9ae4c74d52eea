from django.contrib import admin

from dropstream.alerts.models import Alert, AlertPolicy, Issue, Notification, NotificationChannel


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "connection", "message", "resolved_at")
    list_filter = ("kind",)


@admin.register(AlertPolicy)
class AlertPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "grouping", "auto_close_hours", "customer")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "batch_minutes", "last_sent_at")


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ("opened_at", "title", "alert_count", "closed_at")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "issue", "event", "sent_at", "attempts", "error")
    list_filter = ("event",)

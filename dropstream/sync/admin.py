from django.contrib import admin

from dropstream.sync.models import ProcessedDocument, PushDelivery


@admin.register(PushDelivery)
class PushDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "platform", "store", "warehouse", "topic", "external_id", "state", "reason")
    list_filter = ("state", "topic")


@admin.register(ProcessedDocument)
class ProcessedDocumentAdmin(admin.ModelAdmin):
    list_display = ("processed_at", "warehouse", "name", "event_id")
    search_fields = ("name", "event_id")

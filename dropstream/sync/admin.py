from django.contrib import admin

from dropstream.sync.models import Intent, ProcessedDocument, PushDelivery


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "state", "reference", "created_at", "done_at")
    list_filter = ("kind", "state")


@admin.register(PushDelivery)
class PushDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "store", "external_id", "state", "reason")
    list_filter = ("state",)


@admin.register(ProcessedDocument)
class ProcessedDocumentAdmin(admin.ModelAdmin):
    list_display = ("processed_at", "warehouse", "name", "sha256")
    search_fields = ("name", "sha256")

from django.contrib import admin

from dropstream.inventory.models import InventoryLevel, StoreInventory


@admin.register(InventoryLevel)
class InventoryLevelAdmin(admin.ModelAdmin):
    list_display = ("sku", "warehouse", "facility", "available", "on_hand", "as_of")
    search_fields = ("sku",)


@admin.register(StoreInventory)
class StoreInventoryAdmin(admin.ModelAdmin):
    list_display = ("sku", "store", "quantity", "written_at")
    search_fields = ("sku",)

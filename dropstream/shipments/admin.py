from django.contrib import admin

from dropstream.shipments.models import Shipment, ShipmentLine


class LineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("tracking_number", "carrier", "service", "ship_date", "state", "order")
    list_filter = ("state", "carrier")
    search_fields = ("tracking_number", "order_number")
    inlines = [LineInline]


@admin.register(ShipmentLine)
class ShipmentLineAdmin(admin.ModelAdmin):
    list_display = ("shipment", "sku", "line_number", "quantity")

from django.contrib import admin

from dropstream.orders.models import Order, OrderActivity, OrderLine


class LineInline(admin.TabularInline):
    model = OrderLine
    extra = 0


class ActivityInline(admin.TabularInline):
    model = OrderActivity
    extra = 0
    readonly_fields = ("at", "actor", "event", "message")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("external_display_id", "store", "status", "ordered_at", "customer_email")
    list_filter = ("status",)
    search_fields = ("external_display_id", "external_id", "customer_email")
    inlines = [LineInline, ActivityInline]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("order", "store_sku", "warehouse_sku", "quantity_ordered", "quantity_shipped")


@admin.register(OrderActivity)
class OrderActivityAdmin(admin.ModelAdmin):
    list_display = ("order", "at", "actor", "event")

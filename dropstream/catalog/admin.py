from django.contrib import admin

from dropstream.catalog.models import BundleComponent, Listing, Product, ShippingMethodMap


class ComponentInline(admin.TabularInline):
    model = BundleComponent
    fk_name = "bundle"
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "customer")
    search_fields = ("sku", "name")
    inlines = [ComponentInline]


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("store_sku", "product", "store")
    search_fields = ("store_sku", "product__sku")


@admin.register(BundleComponent)
class BundleComponentAdmin(admin.ModelAdmin):
    list_display = ("bundle", "component", "quantity")


@admin.register(ShippingMethodMap)
class ShippingMethodMapAdmin(admin.ModelAdmin):
    list_display = ("store_description", "carrier_code", "connection")

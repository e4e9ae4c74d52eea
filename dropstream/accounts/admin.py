from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from dropstream.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "role", "merchant", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "time_zone")}),
        ("Role", {"fields": ("role", "merchant", "limited_to_merchants", "merchants",
                             "is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "role", "merchant", "password1", "password2")}),)
    filter_horizontal = ("merchants",)

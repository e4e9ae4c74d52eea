from django.contrib import admin

from dropstream.web.models import CredentialLink


@admin.register(CredentialLink)
class CredentialLinkAdmin(admin.ModelAdmin):
    """Only the hash of a link is stored; the admin can see and revoke, never the link."""

    list_display = ("store", "connection", "created_by", "created_at", "expires_at", "used_at",
                    "revoked_at")
    readonly_fields = ("token_hash",)

"""Models of the web app: the one-time links a merchant uses to enter its store credentials."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CredentialLink(models.Model):
    """A one-time, expiring link for a merchant to enter a store's credentials.

    Only the SHA-256 of the link's token is stored, so the database (or an admin page) never
    holds a usable link; the token is shown once, to the 3PL user who created it.
    """

    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE,
                              related_name="credential_links")
    connection = models.ForeignKey("connections.Connection", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="credential_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Credentials tests made through the link; past the limit the link locks (revoked).
    tests_used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Credential link for {self.store} ({self.state})"

    @property
    def state(self) -> str:
        """"used", "revoked", "expired" or "open"."""
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"

"""One-time credential links: a 3PL asks the merchant for a store's token without e-mail.

The 3PL user creates a link (``create_link``) and sends it to the merchant; the merchant opens
it without logging in, tests and saves the subdomain and API token (``redeem``). The link
works once and for ``CREDENTIAL_LINK_HOURS`` (72 by default). Only the token's SHA-256 is
stored; the token the merchant enters is encrypted with the store's other secrets and shown
to nobody afterwards (masked everywhere).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dropstream.connections.actions import (
    CredentialCheck,
    check_credentials,
    update_adapter_settings,
)
from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Connection, Store
from dropstream.platforms.base import AdapterSettingsError
from dropstream.web.models import CredentialLink
from dropstream.web.security import public_url

DEFAULT_HOURS = 72
# Tests (each one request to the address entered) a link allows before it locks: enough for a
# merchant's typos, too few to use the unauthenticated page as a probe.
TEST_LIMIT = 5


class LinkUnusable(Exception):
    """The link is unknown, used, revoked or expired (one message for all: no oracle)."""

    def __init__(self) -> None:
        super().__init__("This link has expired or was already used. Ask your fulfillment "
                         "provider for a new one.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_hours() -> int:
    return int(getattr(settings, "CREDENTIAL_LINK_HOURS", DEFAULT_HOURS))


@dataclass(frozen=True)
class NewLink:
    link: CredentialLink
    token: str  # shown once; never stored

    @property
    def path(self) -> str:
        return f"/credentials/{self.token}/"

    @property
    def url(self) -> str:
        """The link to send, on ``DROPSTREAM_PUBLIC_URL``."""
        return public_url(self.path)


def create_link(store: Store, *, user=None, connection: Connection | None = None,
                hours: int | None = None) -> NewLink:
    """A new link for ``store``; earlier open links of the store stop working (revoked)."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        CredentialLink.objects.filter(store=store, used_at__isnull=True,
                                      revoked_at__isnull=True).update(revoked_at=now)
        link = CredentialLink.objects.create(
            store=store, connection=connection, token_hash=_hash(token), created_by=user,
            created_at=now, expires_at=now + timedelta(hours=hours or link_hours()))
    return NewLink(link=link, token=token)


def open_link(token: str) -> CredentialLink:
    """The usable link for ``token``; raises LinkUnusable otherwise."""
    if not token or len(token) > 200:
        raise LinkUnusable()
    link = (CredentialLink.objects.select_related("store", "store__customer", "connection")
            .filter(token_hash=_hash(token)).first())
    if link is None or link.state != "open":
        raise LinkUnusable()
    return link


def merchant_changes(link: CredentialLink, values: dict[str, Any]) -> dict[str, Any]:
    """The credential fields of the store's platform among ``values`` (nothing else a link's
    form could smuggle in), empty optional ones left out."""
    return {f.name: values[f.name] for f in link.store.platform_spec.credential_fields
            if values.get(f.name) not in (None, "")}


def merchant_settings(link: CredentialLink, values: dict[str, Any]) -> dict[str, Any]:
    """The store's settings with the merchant's credentials merged in."""
    spec = link.store.platform_spec
    try:
        cleaned = spec.clean(merchant_changes(link, values), partial=True)
    except AdapterSettingsError as exc:
        raise ConnectionsError(dict(exc.errors)) from None
    merged = link.store.adapter_settings()
    merged.update(cleaned)
    return merged


def test_link_settings(link: CredentialLink, values: dict[str, Any]) -> CredentialCheck:
    """Test the merchant's values through the platform adapter (nothing is saved).

    Each test uses up one of the link's ``TEST_LIMIT``; the one after the last locks the link
    (revoked) and raises LinkUnusable, so the page cannot be used again and again.
    """
    counted = CredentialLink.objects.filter(
        pk=link.pk, tests_used__lt=TEST_LIMIT).update(tests_used=F("tests_used") + 1)
    if counted != 1:
        CredentialLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        raise LinkUnusable()
    spec = link.store.platform_spec
    return check_credentials(spec.kind, spec.name, merchant_settings(link, values),
                             state=link.store.adapter_state)


def redeem(token: str, values: dict[str, Any]) -> CredentialLink:
    """Save the merchant's credentials into the store and use the link up, atomically.

    Raises LinkUnusable (used, expired: nothing saved) or ConnectionsError (a bad value).
    """
    with transaction.atomic():
        link = open_link(token)
        now = timezone.now()
        # Claim first: of two submits racing, exactly one updates the row.
        if CredentialLink.objects.filter(pk=link.pk, used_at__isnull=True,
                                         revoked_at__isnull=True,
                                         expires_at__gt=now).update(used_at=now) != 1:
            raise LinkUnusable()
        update_adapter_settings(link.store, merchant_changes(link, values))
        link.used_at = now
    return link

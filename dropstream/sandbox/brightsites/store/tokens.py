"""API tokens and the check every API request passes first (specs/brightsites-api.md §2.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dropstream.sandbox.brightsites.store.settings import ControlError
from dropstream.sandbox.brightsites.wire import ApiError


@dataclass
class Token:
    """An API token: ``access`` is "read" or "read_write"; expired tokens answer 401."""

    access: str
    expires_at: datetime | None = None


class TokenBook:
    """The tokens one store accepts. The store's lock guards it."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    def add(self, token: str, access: str, expires_at: datetime | None = None) -> None:
        """Accept ``token`` with ``access`` ("read" or "read_write") until ``expires_at`` (None:
        never); raises ControlError for another access or a token that is empty or has spaces."""
        if access not in ("read", "read_write"):
            raise ControlError("access must be 'read' or 'read_write'")
        if not token or any(ch.isspace() for ch in token):
            raise ControlError("a token must be non-empty and contain no spaces")
        self._tokens[token] = Token(access, expires_at)

    def authorize(self, token: str | None, *, write: bool, now: datetime) -> None:
        """Returns when ``token`` may make the request; raises ApiError 401 for a missing,
        unknown or expired token, 403 for a read-only token on a write."""
        info = self._tokens.get(token or "")
        if info is None or (info.expires_at is not None and info.expires_at <= now):
            raise ApiError(401, {"errors": {"token": ["is invalid"]}})
        if write and info.access != "read_write":
            raise ApiError(403, {"errors": {"token": ["has read-only access"]}})

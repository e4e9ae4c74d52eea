"""Tokens (spec §2): static refresh tokens, access tokens that expire on the simulator clock.

* ``POST /auth/refresh {"refresh_token"}`` → ``{access_token, expires_in, scope, token_type}``
  (§2.2); ``expires_in`` is ``settings.access_token_ttl_seconds`` (28 days). The refresh token
  stays valid and is not rotated (§2.1); ``settings.refresh_returns_refresh_token`` adds it to
  the answer.
* ``POST /auth/token {"username", "password"}`` (§2.1, optional flow) → the same plus the
  account's refresh token.
* Each refresh issues a new access token; earlier ones stay valid until they expire.
* A suspended account still gets tokens, but API calls with them fail (§2.1, §13 #2).
* The refused-refresh answer is not documented: the simulator answers 403
  ``{"error": "access_denied", "error_description": "..."}`` (an OAuth-style guess).

Tokens never appear in log lines, and the meter does not record them at all.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from dataclasses import dataclass

from dropstream.sandbox.shiphero.clock import SimClock
from dropstream.sandbox.shiphero.settings import Settings

SCOPE = "openid profile offline_access"


class AuthFailure(Exception):
    """A refused token; ``reason`` is one of missing, invalid, expired, revoked."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class AccessToken:
    account_id: int
    expires_at: float
    revoked: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class TokenBook:
    """Refresh tokens, passwords and issued access tokens, per account legacy id."""

    def __init__(self, clock: SimClock, settings: Settings) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._settings = settings
        self._refresh: dict[str, int] = {}
        self._logins: dict[str, tuple[str, int]] = {}
        self._access: dict[str, AccessToken] = {}

    def add_refresh_token(self, account_id: int, token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(32)
        with self._lock:
            owner = self._refresh.get(token)
            if owner is not None and owner != account_id:
                raise ValueError("that refresh token belongs to another account")
            self._refresh[token] = account_id
        return token

    def refresh_token_of(self, account_id: int) -> str | None:
        with self._lock:
            return next((t for t, a in self._refresh.items() if a == account_id), None)

    def add_login(self, account_id: int, username: str, password: str) -> None:
        with self._lock:
            self._logins[username] = (password, account_id)

    def refresh(self, refresh_token: object) -> tuple[str, int]:
        """(access token, account id). Raises AuthFailure."""
        if not isinstance(refresh_token, str) or not refresh_token:
            raise AuthFailure("missing", "refresh_token is required")
        with self._lock:
            account_id = next((a for t, a in self._refresh.items()
                               if hmac.compare_digest(t.encode(), refresh_token.encode())), None)
        if account_id is None:
            raise AuthFailure("invalid", "Unknown or invalid refresh token.")
        return self.issue(account_id), account_id

    def login(self, username: object, password: object) -> tuple[str, int]:
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthFailure("missing", "username and password are required")
        with self._lock:
            found = self._logins.get(username)
        if found is None or not hmac.compare_digest(found[0].encode(), password.encode()):
            raise AuthFailure("invalid", "Wrong email or password.")
        return self.issue(found[1]), found[1]

    def issue(self, account_id: int) -> str:
        ttl = self._settings.access_token_ttl_seconds
        expires_at = self._clock.timestamp() + ttl
        header = _b64(json.dumps({"typ": "JWT", "alg": "RS256"}).encode())
        claims = _b64(json.dumps({"iss": "shiphero-sandbox", "exp": int(expires_at),
                                  "jti": secrets.token_hex(8)}).encode())
        token = f"{header}.{claims}.{secrets.token_urlsafe(32)}"
        with self._lock:
            self._access[token] = AccessToken(account_id, expires_at)
        return token

    def check(self, token: str | None) -> int:
        """The account id of a valid access token. Raises AuthFailure."""
        if not token:
            raise AuthFailure("missing", "Authorization header with a Bearer token is required")
        with self._lock:
            record = self._access.get(token)
        if record is None:
            raise AuthFailure("invalid", "Invalid token")
        if record.revoked:
            raise AuthFailure("revoked", "The access token was revoked")
        if self._clock.timestamp() >= record.expires_at:
            raise AuthFailure("expired", "The access token is expired")
        return record.account_id

    def expire(self, account_id: int | None = None) -> int:
        """Fault "expire the access token now": every issued token (of the account)."""
        now = self._clock.timestamp()
        with self._lock:
            hit = [r for r in self._access.values()
                   if account_id is None or r.account_id == account_id]
            for record in hit:
                record.expires_at = min(record.expires_at, now)
        return len(hit)

    def revoke(self, account_id: int | None = None) -> int:
        with self._lock:
            hit = [r for r in self._access.values()
                   if account_id is None or r.account_id == account_id]
            for record in hit:
                record.revoked = True
        return len(hit)

    def expires_in(self, token: str) -> int:
        with self._lock:
            record = self._access[token]
        return max(0, int(record.expires_at - self._clock.timestamp()))

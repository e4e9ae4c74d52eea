"""API tokens: ``POST /api/auth/token`` with Basic auth → a short-lived HS256 JWT (reference §13.1).

The token is signed with a key derived from Django's SECRET_KEY and carries a fingerprint of the
user's password hash, so changing the password (or deactivating the user) revokes every token
already issued, as Django's password-reset tokens do. No new dependency: HS256 is one HMAC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac
from ninja.security.http import HttpBearer

from dropstream.api.errors import ApiError, Unauthorized
from dropstream.web import throttle

DEFAULT_LIFETIME = 3600  # seconds; the reference calls its tokens "ephemeral" without a number
_SALT = "dropstream.api.token"
_HEADER = {"alg": "HS256", "typ": "JWT"}


def token_lifetime() -> int:
    return int(getattr(settings, "DROPSTREAM_API_TOKEN_LIFETIME", DEFAULT_LIFETIME))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key() -> bytes:
    return hashlib.sha256(f"{_SALT}:{settings.SECRET_KEY}".encode()).digest()


def _sign(signing_input: str) -> str:
    return _b64(hmac.new(_key(), signing_input.encode("ascii"), hashlib.sha256).digest())


def _password_fingerprint(user: Any) -> str:
    return salted_hmac(_SALT, f"{user.pk}:{user.password}", algorithm="sha256").hexdigest()[:20]


def issue_token(user: Any, *, now: float | None = None) -> tuple[str, int]:
    """A signed token for ``user`` and its lifetime in seconds."""
    issued = int(now if now is not None else time.time())
    lifetime = token_lifetime()
    claims = {"sub": str(user.pk), "iat": issued, "exp": issued + lifetime,
              "pwd": _password_fingerprint(user)}
    signing_input = (_b64(json.dumps(_HEADER, separators=(",", ":")).encode()) + "."
                     + _b64(json.dumps(claims, separators=(",", ":")).encode()))
    return f"{signing_input}.{_sign(signing_input)}", lifetime


def user_for_token(token: str, *, now: float | None = None) -> Any:
    """The active user a valid token names. Raises Unauthorized saying why it is not valid."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("the bearer token is malformed; get one from POST /api/auth/token")
    header_b64, claims_b64, signature = parts
    if not constant_time_compare(_sign(f"{header_b64}.{claims_b64}"), signature):
        raise Unauthorized("the bearer token's signature is invalid")
    try:
        header = json.loads(_unb64(header_b64))
        claims = json.loads(_unb64(claims_b64))
        expires = int(claims["exp"])
        user_id = int(claims["sub"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Unauthorized("the bearer token is malformed") from None
    if header != _HEADER:
        raise Unauthorized("the bearer token is malformed")
    if expires <= (now if now is not None else time.time()):
        raise Unauthorized("the bearer token has expired; get a new one from POST /api/auth/token")
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(claims.get("pwd", ""),
                                                 _password_fingerprint(user)):
        raise Unauthorized("the bearer token has been revoked; get a new one")
    return user


def user_for_basic(request: HttpRequest) -> Any:
    """The user whose ``Authorization: Basic email:password`` this is; Unauthorized otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Unauthorized("send Authorization: Basic with your e-mail and password",
                           scheme="Basic")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not valid base64", scheme="Basic") from None
    email, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthorized("the Basic credentials must be email:password", scheme="Basic")
    email = email.strip().lower()
    # The sign-in page's lock-out counts here too, so the API is no way around it.
    ip = throttle.client_ip(request)
    wait = throttle.seconds_locked(email, ip)
    if wait:
        raise ApiError(f"too many failed attempts; try again in {wait} seconds", status=429,
                       headers={"Retry-After": str(wait)})
    user = authenticate(request, username=email, password=password)
    if user is None or not user.is_active:
        throttle.record_failure(email, ip)
        raise Unauthorized("the e-mail or password is wrong", scheme="Basic")
    throttle.clear(email, ip)
    return user


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``; every failure is a 401 saying why."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header, "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise Unauthorized("authentication required: send Authorization: Bearer <token> "
                               "from POST /api/auth/token")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send Authorization: Bearer <token>")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return user_for_token(token)

"""Client credentials, the OAuth2 token endpoint and bearer checks (§2, §11 #1–#3).

``POST /AuthServer/api/Token`` with ``Authorization: Basic base64(id:secret)`` and a JSON body
``{"grant_type": "client_credentials", "user_login": …}`` (variant A) or
``{"grant_type": "client_credentials", "tpl": "{GUID}", "user_login_id": …}`` (variant B, §2.2)
answers ``{access_token, token_type: "Bearer", expires_in, refresh_token: null, scope: null}``
(§2.3). Failures (undocumented, §2.3) use RFC 6749 bodies or ASP.NET ``{"Message"}`` per
``Settings.auth_error_style``: bad client → 401 ``invalid_client``; bad body → 400
``invalid_request``; other grant → 400 ``unsupported_grant_type``; a user login or TPL that is
not the credential's → 400 ``invalid_grant``.

Tokens expire by the simulator clock (``expires_in`` from ``Settings.token_lifetime``) and can be
revoked on demand. Secrets and tokens are never logged, and the meter and request log identify
a credential by its client id only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from dropstream.sandbox.extensiv.settings import Settings
from dropstream.sandbox.extensiv.wire import ApiError, Clock, is_json_content_type

# §2.1: the roles Extensiv recommends for an integration; a credential gets all by default.
DEFAULT_ROLES = frozenset({
    "CustomerView", "FacilityView", "InventoryDetailView", "ItemView", "OrderEdit",
    "OrderView", "OrderWrite", "ReadPropertiesThirdParty", "ReceiverView",
})
_DENIED = "Authorization has been denied for this request."


@dataclass(frozen=True)
class Credential:
    client_id: str
    client_secret: str
    tenant: str
    user_login: str
    user_login_id: int
    tpl: str
    roles: frozenset[str]

    def __repr__(self) -> str:  # never show the secret
        return f"Credential(client_id={self.client_id!r}, tenant={self.tenant!r})"

    def user(self) -> dict[str, Any]:
        """``createdByIdentifier`` of the orders this credential creates (§5.7)."""
        return {"name": self.user_login, "id": self.user_login_id}


@dataclass
class Token:
    credential: Credential
    issued: datetime
    lifetime: int
    revoked: bool = False

    def valid_at(self, moment: datetime) -> bool:
        return not self.revoked and moment < self.issued + timedelta(seconds=self.lifetime)


def _normalize_tpl(value: Any) -> str:
    return str(value or "").strip().strip("{}").lower()


def basic_client_id(authorization: str | None) -> str | None:
    """The client id of a Basic header, unverified (for metering)."""
    pair = _basic_pair(authorization)
    return pair[0] if pair else None


def _basic_pair(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else None


def bearer_value(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class Authority:
    """Credentials and issued tokens of every tenant on the sandbox."""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._settings = settings
        self._credentials: dict[str, Credential] = {}
        self._tokens: dict[str, Token] = {}

    def add(self, credential: Credential) -> None:
        with self._lock:
            if credential.client_id in self._credentials:
                raise ValueError(f"client id {credential.client_id!r} exists already")
            self._credentials[credential.client_id] = credential

    def credentials(self, tenant: str) -> list[Credential]:
        with self._lock:
            return [c for c in self._credentials.values() if c.tenant == tenant]

    # ------------------------------------------------------------------ token endpoint

    def token_endpoint(self, authorization: str | None, content_type: str | None,
                       raw: bytes) -> dict[str, Any]:
        """Answer a token request; raises ApiError for every refusal."""
        pair = _basic_pair(authorization)
        with self._lock:
            credential = self._credentials.get(pair[0]) if pair else None
        if pair is None or credential is None or not hmac.compare_digest(
                pair[1].encode(), credential.client_secret.encode()):
            raise self._error(401, "invalid_client")
        body = self._token_body(content_type, raw)
        grant = body.get("grant_type")
        if not grant:
            raise self._error(400, "invalid_request")
        if grant != "client_credentials":
            raise self._error(400, "unsupported_grant_type")
        self._check_user(credential, body)
        value = _new_token()
        lifetime = self._settings.token_lifetime
        with self._lock:
            self._tokens[value] = Token(credential, self._clock.now(), lifetime)
        return {"access_token": value, "token_type": "Bearer", "expires_in": lifetime,
                "refresh_token": None, "scope": None}

    def _token_body(self, content_type: str | None, raw: bytes) -> dict[str, Any]:
        media = (content_type or "").split(";")[0].strip().lower()
        try:
            if media == "application/x-www-form-urlencoded":
                if not self._settings.token_accepts_form:
                    raise ValueError("form bodies are off")
                form = parse_qs(raw.decode(), keep_blank_values=True)
                return {key: values[-1] for key, values in form.items()}
            if not is_json_content_type(content_type):
                raise ValueError(media)
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise self._error(400, "invalid_request") from None
        if not isinstance(body, dict):
            raise self._error(400, "invalid_request")
        return {str(key).lower(): value for key, value in body.items()}

    def _check_user(self, credential: Credential, body: dict[str, Any]) -> None:
        """Variant A (``user_login``) or B (``tpl`` + ``user_login_id``), §2.2."""
        login, tpl, login_id = body.get("user_login"), body.get("tpl"), body.get("user_login_id")
        if login not in (None, ""):
            if str(login).lower() != credential.user_login.lower():
                raise self._error(400, "invalid_grant")
        elif tpl not in (None, "") and login_id not in (None, ""):
            if _normalize_tpl(tpl) != _normalize_tpl(credential.tpl) or str(login_id).strip() \
                    != str(credential.user_login_id):
                raise self._error(400, "invalid_grant")
        else:
            raise self._error(400, "invalid_request")

    def _error(self, status: int, code: str) -> ApiError:
        if self._settings.auth_error_style == "aspnet":
            return ApiError(status, {"Message": code})
        return ApiError(status, {"error": code})

    # ------------------------------------------------------------------ bearer checks

    def peek(self, authorization: str | None) -> Credential | None:
        """The credential behind a bearer header, valid or not (for metering)."""
        value = bearer_value(authorization)
        with self._lock:
            token = self._tokens.get(value) if value else None
        return token.credential if token else None

    def authenticate(self, authorization: str | None) -> Credential:
        """§2.3 / §11 #3: missing, unknown, revoked or expired bearer → 401."""
        value = bearer_value(authorization)
        now = self._clock.now()
        with self._lock:
            token = self._tokens.get(value) if value else None
        if token is None or not token.valid_at(now):
            raise self.unauthorized()
        return token.credential

    def unauthorized(self) -> ApiError:
        """401; body empty or the ASP.NET message per ``Settings.unauthorized_body`` (§7)."""
        body = {"Message": _DENIED} if self._settings.unauthorized_body == "json" else None
        return ApiError(401, body)

    def revoke(self, authorization: str | None) -> bool:
        """Revoke the presented bearer token (fault ``expire_token``)."""
        value = bearer_value(authorization)
        with self._lock:
            token = self._tokens.get(value) if value else None
            if token is None or token.revoked:
                return False
            token.revoked = True
            return True

    def revoke_all(self, tenant: str | None = None) -> int:
        """"Revoke all tokens now" (§11 #2), for one tenant or all; returns how many."""
        with self._lock:
            count = 0
            for token in self._tokens.values():
                if not token.revoked and tenant in (None, token.credential.tenant):
                    token.revoked = True
                    count += 1
            return count


def _new_token() -> str:
    """Opaque and JWT-looking (§2.3): three base64url segments, nothing derived from secrets."""
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(32)}"

"""ShipHero's GraphQL API over ``platforms/http.py`` (spec §1, §2, §8, §9).

* Tokens (§2): the developer user's static refresh token is exchanged at ``/auth/refresh`` for
  an access token, kept in this process's memory only (never in ``context.state``) until a day
  before it expires, and renewed once when ShipHero refuses it — as HTTP 401 (``HttpClient``
  renews) or as a GraphQL error in a 200 answer (renewed here), §2.3 "handle both".
* Credits (§8): every answer's cost and the credits left are read from ``extensions`` (or the
  wrapper's ``complexity``); before a request whose last cost exceeds what is left the client
  waits for the restore rate instead of being refused, and a throttled answer (code 30, HTTP
  200 or 429) is retried after the wait it states (``RateLimited``: nothing ran).
* Errors (§9): ``errors[]`` in a 2xx answer become PlatformErrors with ShipHero's message.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dropstream.platforms.base import MeterSink, charge, discard_meter
from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    PermanentError,
    PlatformError,
    RateLimited,
    RemoteNotFound,
    RemoteValidationError,
)
from dropstream.platforms.http import (
    Credentials,
    HttpClient,
    Messages,
    RetryPolicy,
    in_header,
    in_json_body,
)

logger = logging.getLogger(__name__)

CODE_THROTTLED = 30
CODE_NOT_FOUND = 5
CODE_FORBIDDEN = 9
RENEW_BEFORE_SECONDS = 24 * 3600  # §2.3: refresh when less than a day is left
MAX_CREDIT_WAIT = 120.0  # a longer local wait means our numbers are wrong: ask instead

# Access tokens by (API URL, refresh token digest): one per account and process, so each run
# does not pay a refresh. Memory only, never persisted (the brief: tokens are not stored).
_TOKENS: dict[str, tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached access token (tests; a changed refresh token needs nothing: the key
    is its digest)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class ShipHeroMessages(Messages):
    def rejected(self, status: int) -> str:
        return (f"{self.remote} refused the access token (HTTP {status}) even after a new one "
                "was made from the refresh token. Check that the developer user is still "
                "active in ShipHero.")

    def read_only(self, status: int) -> str:
        return self.rejected(status)


class RefreshMessages(Messages):
    def rejected(self, status: int) -> str:
        return (f"ShipHero refused the refresh token (HTTP {status}). Make a new one under My "
                "Account → Developer Users in ShipHero and save it in the warehouse's settings.")

    def read_only(self, status: int) -> str:
        return self.rejected(status)


class TokenRefused(CredentialsRejected):
    """ShipHero reported the access token invalid or expired inside a 200 answer."""


def _wait_seconds(text: Any) -> float | None:
    """``"3 seconds"`` / ``3`` → 3.0; None when unreadable."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    found = re.search(r"\d+(\.\d+)?", str(text or ""))
    return float(found.group()) if found else None


def _field(error: Mapping[str, Any], name: str) -> Any:
    """A member of a GraphQL error at its top level or under ``extensions`` (§8: both seen)."""
    if name in error:
        return error[name]
    extensions = error.get("extensions")
    return extensions.get(name) if isinstance(extensions, Mapping) else None


def answer_error(body: Any) -> PlatformError | None:
    """The PlatformError a 2xx GraphQL answer reports in ``errors[]``, or None."""
    if not isinstance(body, Mapping):
        return BadResponse("ShipHero answered with JSON that is not an object", field="body")
    errors = body.get("errors")
    if not errors:
        return None
    if not isinstance(errors, list) or not all(isinstance(e, Mapping) for e in errors):
        return BadResponse("ShipHero answered with an unreadable errors list", field="errors")
    first = errors[0]
    message = str(first.get("message") or "no message")
    code = _field(first, "code")
    if code == CODE_THROTTLED and _field(first, "time_remaining") is not None:
        wait = _wait_seconds(_field(first, "time_remaining"))
        return RateLimited(f"ShipHero is out of credits: {message}",
                           retry_after=None if wait is None else wait + 0.25, status=200)
    if code == CODE_THROTTLED:
        return PermanentError(f"ShipHero refused a query as too costly: {message}")
    if code == 401 or "token" in message.lower() and ("expired" in message.lower()
                                                      or "invalid" in message.lower()):
        return TokenRefused(f"ShipHero refused the access token: {message}", status=401)
    if code == CODE_FORBIDDEN:
        return CredentialsRejected(f"ShipHero refused the request for this account: {message}. "
                                   "Check the customer account id in the warehouse's settings.",
                                   status=403)
    text = "; ".join(str(e.get("message") or "") for e in errors)
    if code == CODE_NOT_FOUND:
        return RemoteNotFound(f"ShipHero: {text}", status=404)
    return RemoteValidationError(f"ShipHero refused the request: {text}",
                                 fields={"base": [text]}, status=422)


@dataclass
class CreditBudget:
    """The account's credits as ShipHero last reported them (§8), restored at its rate on the
    monotonic clock; and the last cost seen per operation, to wait before spending it."""

    remaining: float | None = None
    maximum: float | None = None
    rate: float | None = None
    stamp: float = 0.0
    costs: dict[str, int] = field(default_factory=dict)
    used: int = 0  # credits charged to this client's requests
    waited: float = 0.0  # seconds spent waiting for credits

    def available(self, now: float) -> float | None:
        if self.remaining is None:
            return None
        restored = self.remaining + (self.rate or 0.0) * max(0.0, now - self.stamp)
        return min(self.maximum, restored) if self.maximum else restored

    def wait_before(self, operation: str, now: float) -> float:
        """Seconds to wait so ``operation`` (at its last cost) will not be throttled."""
        cost = self.costs.get(operation)
        left = self.available(now)
        if cost is None or left is None or cost <= left or not self.rate:
            return 0.0
        return min(MAX_CREDIT_WAIT, (cost - left) / self.rate + 0.05)

    def observe(self, operation: str, body: Mapping[str, Any], now: float) -> int:
        """Read the cost and credits of an answer; returns the credits it charged."""
        throttling = (body.get("extensions") or {}).get("throttling") \
            if isinstance(body.get("extensions"), Mapping) else None
        charged = None
        if isinstance(throttling, Mapping):
            charged = throttling.get("charged", throttling.get("cost"))
            if throttling.get("credits_remaining") is not None:
                self.remaining = float(throttling["credits_remaining"])
                self.stamp = now
            if throttling.get("max_available") is not None:
                self.maximum = float(throttling["max_available"])
            if throttling.get("increment_rate") is not None:
                self.rate = float(throttling["increment_rate"])
        if charged is None:  # no extensions: the wrappers' complexity (§1)
            data = body.get("data")
            charged = sum(int(w.get("complexity") or 0) for w in (data or {}).values()
                          if isinstance(w, Mapping)) if isinstance(data, Mapping) else 0
        charged = int(charged or 0)
        self.costs[operation] = max(charged, self.costs.get(operation, 0) // 2)
        self.used += charged
        return charged

    def observe_throttle(self, error: RateLimited, now: float) -> None:
        """A throttled answer says the bucket is (nearly) empty: believe it."""
        self.remaining, self.stamp = 0.0, now


class ShipHeroClient:
    """One ShipHero account's GraphQL API; ``close()`` when done."""

    def __init__(self, *, api_url: str, refresh_token: str, meter: MeterSink = discard_meter,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._sleep = sleep
        self._meter = meter
        self._cache_key = hashlib.sha256(
            f"{self.api_url}\n{refresh_token}".encode()).hexdigest()
        self.budget = CreditBudget()
        self._auth = HttpClient(
            platform="shiphero", base_url=self.api_url, meter=meter,
            credentials=Credentials(refresh_token, in_json_body("refresh_token")),
            messages=RefreshMessages("ShipHero", "ShipHero's token endpoint"),
            retry=RetryPolicy(max_attempts=3, backoff_base=0.2), transport=transport)
        cached = self._cached_token()
        self.credentials = Credentials(cached or "", in_header("Authorization", "Bearer {}"),
                                       renew=self._new_token)
        self._http = HttpClient(
            platform="shiphero", base_url=self.api_url, meter=meter,
            credentials=self.credentials,
            messages=ShipHeroMessages("ShipHero", "the ShipHero account"),
            answer_error=answer_error, transport=transport,
            retry=retry or RetryPolicy(max_attempts=8, backoff_base=0.2, backoff_cap=5.0))

    def close(self) -> None:
        self._http.close()
        self._auth.close()

    # -- tokens --------------------------------------------------------------------------------

    def _cached_token(self) -> str | None:
        with _TOKENS_LOCK:
            found = _TOKENS.get(self._cache_key)
        if found is None or found[1] - time.time() < RENEW_BEFORE_SECONDS:
            return None
        return found[0]

    def _new_token(self) -> str:
        """A fresh access token from the refresh token (§2.2); raises CredentialsRejected."""
        body = self._auth.request("POST", "/auth/refresh", endpoint="POST /auth/refresh",
                                  json_body={})
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise BadResponse("ShipHero's token endpoint answered without an access_token",
                              field="access_token")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 2_419_200.0
        with _TOKENS_LOCK:
            _TOKENS[self._cache_key] = (token, time.time() + lifetime)
        return token

    # -- GraphQL -------------------------------------------------------------------------------

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, *,
                operation: str, mutation: bool = False) -> dict[str, Any]:
        """Run one document; returns its ``data``. ``operation`` names the root field (metered
        as ``POST /graphql <operation>``). A mutation is never repeated after it may have run:
        its error then has ``maybe_applied`` and the caller looks before sending it again."""
        wait = self.budget.wait_before(operation, time.monotonic())
        if wait > 0:
            logger.info("ShipHero credits: waiting %.1fs before %s", wait, operation)
            self.budget.waited += wait
            self._sleep(wait)
        renewed = False
        while True:
            try:
                body = self._http.request(
                    "POST", "/graphql", endpoint=f"POST /graphql {operation}",
                    json_body={"query": query, "variables": dict(variables or {})},
                    idempotent=not mutation)
            except TokenRefused:
                if renewed:
                    raise CredentialsRejected(ShipHeroMessages(
                        "ShipHero", "the ShipHero account").rejected(401), status=401) from None
                renewed = True
                self.credentials.renew()  # the refusal means nothing ran: send again
                continue
            except RateLimited as exc:
                self.budget.observe_throttle(exc, time.monotonic())
                raise
            charged = self.budget.observe(operation, body, time.monotonic())
            charge(self._meter, f"POST /graphql {operation}", charged)
            data = body.get("data")
            if not isinstance(data, Mapping):
                raise BadResponse(f"ShipHero answered {operation} without data", field="data")
            return dict(data)

    def wrapper(self, data: Mapping[str, Any], root: str) -> Mapping[str, Any]:
        """``data[root]`` checked to be an object (the ``{request_id, complexity, …}``)."""
        value = data.get(root)
        if not isinstance(value, Mapping):
            raise BadResponse(f"ShipHero answered {root} with no result", field=root)
        return value

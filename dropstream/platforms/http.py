"""HTTP plumbing shared by every platform that speaks HTTP: credentials, metering, retries, errors.

A platform's client is an ``HttpClient`` told what differs between platforms, and nothing more:

* ``platform``: the name each attempt is metered under (``MeteredCall.platform``);
* ``Credentials``: where the secret goes on a request (``in_header``, ``in_query``), how it is
  renewed once on a 401 (OAuth tokens), and ``scrub``, which hides every value it ever had;
* ``Messages``: what the operator reads (what the remote is called, what to do about a refused
  secret, whether a 404 means one missing record or a wrong account);
* ``error_fields``: how the platform's error bodies list fields (Bright Sites §5.1 shapes A, B);
* ``answer_error``: a failure reported inside a 2xx body (GraphQL ``errors``, ShipHero credits).

Every request may cost money or credits (Bright Sites §11), so every attempt is metered —
failures with no answer included — in ``HttpClient._attempt``: ``announce`` before the attempt,
the meter after. That is also the only place the secret is put on the request, right before it
goes on the wire (``platforms/wire.py``: pooled ``http.client`` connections to checked
addresses), so no request object a log line or an error could reach ever carries it, whether it
goes in a header, the query or the body.

Errors raised (dropstream/platforms/errors.py), each with a plain message::

    401/403                 CredentialsRejected   never retried (``read_only`` for a refused write);
                                                  a 401 first renews renewable credentials once
    404                     RemoteNotFound        one record; AccountNotFound when nothing answers
                                                  as the account (``Messages.not_found`` decides)
    400/409/422             RemoteValidationError ``fields`` from ``error_fields``
    429                     RateLimited           ``retry_after`` from ``Retry-After``
    5xx                     RemoteServerError
    connect/read timeout    RemoteTimeout
    refused, reset, DNS     RemoteUnavailable
    2xx body not JSON       BadResponse           ``field = "body"``

RateLimited, RemoteServerError, RemoteTimeout and RemoteUnavailable are retried with capped
exponential backoff and full jitter, honouring ``Retry-After`` (seconds or an HTTP date) up to
``RetryPolicy.max_retry_after``, up to ``max_attempts`` attempts in all. A request that is not
idempotent is never repeated once it may have reached the remote: its error then has
``maybe_applied = True`` and the caller must look before sending it again. No error chains the
httpx exception: its request, and so its URL, is reachable from it.

A client given the run's ``RetryBudget`` (``AdapterContext.retry_budget``) also stops retrying
when the next wait — a backoff or a ``Retry-After`` — would not fit in what the run has left of
it (an attempt that timed out counts its wait too): the request raises its transient error, the
message saying it is tried again later, and the worker thread is not spent sleeping on a
sick remote (issue 17). ``maybe_applied`` is set as on the last attempt.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any, Self
from urllib.parse import quote, urlencode, urlsplit

import httpx

from dropstream.logs import REDACTED, redact
from dropstream.platforms.addresses import AddressPolicy, policy_for
from dropstream.platforms.base import (
    MeteredCall,
    MeterSink,
    RetryBudget,
    announce,
    discard_meter,
    new_call_id,
)
from dropstream.platforms.errors import (
    AccountNotFound,
    BadResponse,
    CredentialsRejected,
    PermanentError,
    PlatformError,
    RateLimited,
    RemoteNotFound,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnavailable,
    RemoteValidationError,
)
from dropstream.platforms.wire import Answer, Outgoing, Wire

logger = logging.getLogger(__name__)

USER_AGENT = "DropStream/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Characters a path keeps as they are (httpx's set): an id or SKU with others is escaped.
_PATH_SAFE = "!$&'()*+,;=:@/%~-._"


# --------------------------------------------------------------------------------------------
# Credentials: where the secret goes, how it is renewed, how it is hidden
# --------------------------------------------------------------------------------------------

Placement = Callable[[Outgoing, str], Outgoing]
"""(request, secret) → a copy of the request carrying the secret."""

Renew = Callable[[], str]
"""Returns a fresh secret (a new OAuth token); raises a PlatformError when it cannot."""


def in_header(name: str, template: str = "{}") -> Placement:
    """A placement that sets header ``name`` to ``template`` filled with the secret
    (``in_header("Authorization", "Bearer {}")``)."""

    def place(request: Outgoing, secret: str) -> Outgoing:
        return request.with_header(name, template.format(secret))

    return place


def in_query(name: str) -> Placement:
    """A placement that adds ``name=<secret>`` to the query (Bright Sites ``token_in_query``)."""

    def place(request: Outgoing, secret: str) -> Outgoing:
        separator = "&" if "?" in request.url else "?"
        return replace(request, url=request.url + separator + _encode_query({name: secret}))

    return place


def in_json_body(name: str) -> Placement:
    """A placement that sends ``{name: secret}`` as the JSON body (an OAuth refresh token)."""

    def place(request: Outgoing, secret: str) -> Outgoing:
        return request.with_body(_encode_json({name: secret}), "application/json")

    return place


def _encode_json(value: Any) -> bytes:
    # As httpx encodes ``json=``: compact, UTF-8, no NaN.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def _query_value(value: Any) -> str:
    # As httpx writes query values: booleans in lower case, None as empty.
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _encode_query(params: Mapping[str, Any]) -> str:
    pairs = [(key, _query_value(item)) for key, value in params.items()
             for item in (value if isinstance(value, list | tuple) else [value])]
    return urlencode(pairs, quote_via=quote)


class Credentials:
    """One account's secret: where it goes on a request, how it is renewed, how it is hidden.

    ``renew`` (optional) returns a fresh secret. It is called before the first request when no
    secret was given, and once more when the remote answers 401. ``scrub`` hides every value the
    secret ever had, as sent and percent-encoded, so an old token cannot leak either.
    """

    def __init__(self, secret: str, placement: Placement, *, renew: Renew | None = None) -> None:
        self._secret = secret
        self._placement = placement
        self._renew = renew
        self._known: list[str] = []
        self._remember(secret)

    def __repr__(self) -> str:
        return f"<Credentials {REDACTED}>"

    @property
    def renewable(self) -> bool:
        """Whether a 401 is worth one more attempt with a renewed secret."""
        return self._renew is not None

    def ready(self) -> None:
        """Fetch a secret through ``renew`` if there is none yet; raises what ``renew`` raises."""
        if not self._secret and self._renew is not None:
            self.renew()

    def renew(self) -> None:
        """Replace the secret by a fresh one; raises what ``renew`` raises, or ValueError when
        these credentials have no ``renew``."""
        if self._renew is None:
            raise ValueError("these credentials cannot be renewed")
        self._secret = self._renew()
        self._remember(self._secret)

    def apply(self, request: Outgoing) -> Outgoing:
        """A copy of ``request`` carrying the current secret."""
        return self._placement(request, self._secret)

    def scrub(self, text: str) -> str:
        """``text`` without any value of the secret, nor anything ``logs.redact`` hides."""
        text = redact(text)
        for secret in self._known:
            text = text.replace(secret, REDACTED)
        return text

    def _remember(self, secret: str) -> None:
        for form in (secret, quote(secret, safe="")):
            if form and form not in self._known:
                self._known.append(form)


# --------------------------------------------------------------------------------------------
# Transport: credentials and meter
# --------------------------------------------------------------------------------------------


class TransportWire:
    """The wire for a client given an ``httpx.BaseTransport`` (a test's ``MockTransport``)."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def send(self, request: Outgoing, timeout: httpx.Timeout) -> Answer:
        answer = self._transport.handle_request(httpx.Request(
            request.method, request.url, headers=request.headers, content=request.body))
        try:
            content = answer.read()
        finally:
            answer.close()
        return Answer(answer.status_code, list(answer.headers.items()), content)

    def close(self) -> None:
        self._transport.close()


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """One verified TLS context per process: loading the CA bundle costs ~25 ms of CPU, which
    every run paid again when each client built its own."""
    import certifi  # httpx's own CA bundle

    return ssl.create_default_context(cafile=certifi.where())


# --------------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date, RFC 9110
    §10.2.3), never negative; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a request gets and how long to wait between them."""

    max_attempts: int = 5
    backoff_base: float = 0.5  # the first wait is at most this; each further one doubles
    backoff_cap: float = 30.0  # no backoff wait is longer
    max_retry_after: float = 120.0  # a server asking for a longer wait is not waited for

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_attempts", max(1, int(self.max_attempts)))

    def backoff(self, failures: int) -> float:
        """A wait in seconds after ``failures`` failed attempts: full jitter, uniform between 0
        and min(cap, base · 2^(failures − 1)), so clients that failed together spread out."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (failures - 1)))
        return random.uniform(0, ceiling)

    def delay(self, failures: int, retry_after: float | None) -> float | None:
        """Seconds before the next attempt: the server's ``retry_after`` when it sent one, else
        ``backoff``; None when the server asks for longer than ``max_retry_after``."""
        if retry_after is not None:
            return None if retry_after > self.max_retry_after else retry_after
        return self.backoff(failures)


# --------------------------------------------------------------------------------------------
# What the operator reads
# --------------------------------------------------------------------------------------------


class Messages:
    """The operator-facing words for one remote; a platform subclasses it for its own hints.

    ``platform`` names the platform ("Bright Sites refused PUT /orders/:id: …"), ``remote`` the
    account the settings point at ("Bright Sites store 'acme' timed out …").
    """

    def __init__(self, platform: str, remote: str) -> None:
        self.platform = platform
        self.remote = remote

    def rejected(self, status: int) -> str:
        """The message for a refused secret: a 401, or a 403 of a read."""
        return (f"{self.remote} rejected the credentials (HTTP {status}). Check them in the "
                "connection's settings.")

    def read_only(self, status: int) -> str:
        """The message for a write refused with 403: the secret may only read."""
        return (f"the credentials of {self.remote} may only read, so it refused a change (HTTP "
                f"{status}). Save credentials that may write in the connection's settings.")

    def not_found(self, endpoint: str, body: Any, subject: str | None) -> RemoteNotFound:
        """The error for a 404 on ``endpoint`` (a template), given the decoded JSON ``body`` (or
        None) and the ``subject`` the caller named ("order 1042"): RemoteNotFound for one
        missing record, AccountNotFound when nothing answers as the account. Here an item path
        (``:id`` in the template) answered in JSON is a missing record."""
        if ":" in endpoint and body is not None:
            return RemoteNotFound(f"{self.remote} has no {subject or endpoint} (HTTP 404 on "
                                  f"{endpoint})", status=404)
        return AccountNotFound(f"nothing answers as {self.remote} (HTTP 404 on {endpoint}). "
                               "Check the address in the connection's settings.", status=404)


ErrorFields = Callable[[Any], dict[str, list[str]]]
"""The decoded JSON of an error answer (or None) → field → messages; "base" for the request."""

AnswerError = Callable[[Any], PlatformError | None]
"""The error a 2xx answer reports in its decoded body (GraphQL ``errors``), or None. A
RateLimited is retried like a 429 (the remote did not run the request); any other is raised."""


def no_fields(body: Any) -> dict[str, list[str]]:
    """The ``error_fields`` of a platform whose error bodies name no fields."""
    return {}


def no_answer_error(body: Any) -> PlatformError | None:
    """The ``answer_error`` of a platform whose 2xx answers always mean success."""
    return None


def describe_fields(fields: Mapping[str, list[str]]) -> str:
    """``field: message; other: message``, with "base" messages standing alone."""
    return "; ".join(f"{name}: {' '.join(messages)}" if name != "base" else " ".join(messages)
                     for name, messages in fields.items())


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


@dataclass
class _Failure:
    """One failed attempt: the error to raise and whether to try again."""

    error: PlatformError
    retry: bool
    wait: float | None = None  # the server's Retry-After, when it sent one
    maybe_applied: bool = False
    waited: float = 0.0  # seconds the attempt waited before timing out (0 for other failures)


class HttpClient:
    """One account's API over HTTP. ``close()`` when done (or use as a context manager).

    ``request`` returns the decoded JSON of a 2xx answer or raises a PlatformError (see the
    module docstring). Requests go on a ``Wire`` (pooled connections to checked addresses)
    with an explicit ``timeout`` and no redirects; ``transport`` (an ``httpx.BaseTransport``)
    replaces the network (tests), under the same metering. Safe to share between threads.
    ``retry_budget`` is the run's allowance for waiting on failures, shared with the run's
    other clients (None: only ``retry`` limits the waits).
    """

    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        credentials: Credentials,
        messages: Messages,
        meter: MeterSink = discard_meter,
        retry: RetryPolicy = RetryPolicy(),
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        error_fields: ErrorFields = no_fields,
        answer_error: AnswerError = no_answer_error,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        addresses: AddressPolicy | None = None,
        retry_budget: RetryBudget | None = None,
    ) -> None:
        self.platform = platform
        self.retry_budget = retry_budget
        # Where the secret may go (platforms/addresses.py): checked by name before each
        # request, and again on the resolved address when a connection opens.
        self.addresses = addresses or policy_for(platform)
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.credentials = credentials
        self.messages = messages
        self.retry = retry
        self.error_fields = error_fields
        self.answer_error = answer_error
        self.timeout = timeout
        self._meter = meter
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT,
                         **(headers or {})}
        self._wire: Wire | TransportWire = (
            TransportWire(transport) if transport is not None
            else Wire(self.addresses, shared_ssl_context()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.platform} {self.base_url}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections; the client cannot be used after."""
        self._wire.close()

    @property
    def max_attempts(self) -> int:
        """Attempts a request gets in all (``RetryPolicy.max_attempts``)."""
        return self.retry.max_attempts

    @property
    def backoff_base(self) -> float:
        """The longest first backoff wait, in seconds (``RetryPolicy.backoff_base``)."""
        return self.retry.backoff_base

    # -- one request, with retries -------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
        max_attempts: int | None = None,
        first_attempt: int = 1,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send ``method path`` and return the decoded JSON of the 2xx answer (None for 204).

        ``endpoint`` is the template metered and named in messages (``GET /orders/:id``);
        ``subject`` names the record for a 404 ("order 1042"). ``max_attempts`` overrides the
        policy's and ``first_attempt`` numbers the first one in the meter, for a caller that
        resumes a request it began. ``headers`` are added to this request only (``If-Match``).
        Raises a PlatformError subclass.
        """
        return self.exchange(method, path, endpoint=endpoint, params=params,
                             json_body=json_body, idempotent=idempotent,
                             max_attempts=max_attempts, first_attempt=first_attempt,
                             subject=subject, headers=headers)[0]

    def exchange(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
        max_attempts: int | None = None,
        first_attempt: int = 1,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, httpx.Headers]:
        """``request``, returning the decoded body and the 2xx answer's headers (an ``ETag``
        a later conditional request must send back)."""
        outgoing = self._outgoing(method, path, params, json_body, headers)
        self.addresses.check_name(urlsplit(outgoing.url).hostname or "")
        self.credentials.ready()
        attempts = max_attempts or self.retry.max_attempts
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            number = first_attempt + attempt - 1
            sent = time.monotonic()
            try:
                response = self._attempt(outgoing, endpoint, number)
            except httpx.TransportError as exc:
                failure = self._transport_failure(exc, endpoint, idempotent)
                if isinstance(exc, httpx.TimeoutException):
                    failure.waited = time.monotonic() - sent
            else:
                if response.status_code == 401 and not renewed and self.credentials.renewable:
                    # An expired token: renew it once and send again. A 401 means the remote
                    # did not act on the request, so even a POST may go again; that attempt
                    # is not a retry of a failure and does not use up the budget.
                    renewed = True
                    attempts += 1
                    self._renew(endpoint)
                    continue
                if response.is_success:
                    body = self._decode(response, endpoint)
                    failure = self._reported_failure(body)
                    if failure is None:
                        return body, response.headers
                else:
                    failure = self._status_failure(response, method, endpoint, idempotent,
                                                   subject)
            self._wait_or_raise(failure, attempt, attempts, number, endpoint)

    def _outgoing(self, method: str, path: str, params: Mapping[str, Any] | None,
                  json_body: Any, headers: Mapping[str, str] | None) -> Outgoing:
        """The request without its secret: ``path`` under ``base_url`` (or a whole URL)."""
        if path.startswith(("http://", "https://")):
            url = path
        else:
            relative, mark, query = path.lstrip("/").partition("?")
            url = f"{self.base_url}/{quote(relative, safe=_PATH_SAFE)}{mark}{query}"
        if params:
            url += ("&" if "?" in url else "?") + _encode_query(params)
        request = Outgoing(method.upper(), url, dict(self._headers))
        for name, value in (headers or {}).items():
            request = request.with_header(name, value)  # replacing a default whatever its case
        if json_body is not None:
            request = request.with_body(_encode_json(json_body), "application/json")
        return request

    def _attempt(self, request: Outgoing, endpoint: str, attempt: int) -> httpx.Response:
        """One attempt, announced and metered (failures with no answer too); the secret is put
        on here and nowhere else. Re-raises the wire's error after metering it."""
        call_id = new_call_id()
        self._announce(request.method, endpoint, attempt, call_id)
        started = time.monotonic()
        try:
            answer = self._wire.send(self.credentials.apply(request), self.timeout)
        except Exception as exc:
            error = f"{type(exc).__name__}: {self.credentials.scrub(str(exc))}"
            self._report(request.method, endpoint, None, started, attempt, error, call_id)
            logger.debug("HTTP request: %s %s failed: %s", request.method, request.url, error)
            raise
        self._report(request.method, endpoint, answer.status, started, attempt, "", call_id)
        # The URL as built, before the secret was put on: a token in the query is not in it.
        logger.debug("HTTP request: %s %s → %s", request.method, request.url, answer.status)
        return httpx.Response(answer.status, headers=answer.headers, content=answer.content)

    def _announce(self, method: str, endpoint: str, attempt: int, call_id: str) -> None:
        try:
            announce(self._meter, MeteredCall(platform=self.platform, method=method,
                                              endpoint=endpoint, status=None, duration_ms=0,
                                              attempt=attempt, call_id=call_id))
        except Exception:  # noqa: BLE001 — a broken sink must not stop the request
            logger.exception("the request meter failed for %s", endpoint)

    def _report(self, method: str, endpoint: str, status: int | None, started: float,
                attempt: int, error: str, call_id: str) -> None:
        call = MeteredCall(platform=self.platform, method=method, endpoint=endpoint,
                           status=status,
                           duration_ms=round((time.monotonic() - started) * 1000, 3),
                           attempt=attempt, error=error[:300], call_id=call_id)
        try:
            self._meter(call)
        except Exception:  # noqa: BLE001 — a broken sink must not turn a success into a failure
            logger.exception("the request meter failed for %s", endpoint)

    def get(self, path: str, *, endpoint: str, params: Mapping[str, Any] | None = None,
            **options: Any) -> Any:
        """``request("GET", …)``."""
        return self.request("GET", path, endpoint=endpoint, params=params, **options)

    def expect_object(self, body: Any, endpoint: str, key: str | None = None) -> Any:
        """``body`` (or ``body[key]``, a list) checked to be the right JSON type; raises
        BadResponse naming the field if not."""
        if not isinstance(body, Mapping):
            raise BadResponse(f"{self.messages.platform} answered {endpoint} with a JSON "
                              f"{type(body).__name__} instead of an object", field="body")
        if key is None:
            return body
        value = body.get(key)
        if not isinstance(value, list):
            raise BadResponse(f"{self.messages.platform} answered {endpoint} without a {key!r} "
                              "list", field=key)
        return value

    def _renew(self, endpoint: str) -> None:
        logger.info("%s answered 401 on %s; renewing the credentials once",
                    self.messages.remote, endpoint)
        self.credentials.renew()

    def _wait_or_raise(self, failure: _Failure, attempt: int, attempts: int, number: int,
                       endpoint: str) -> None:
        """Sleep before the next attempt; raises the failure's error when it is the last one."""
        error = failure.error
        if not failure.retry or attempt >= attempts:
            error.maybe_applied = failure.maybe_applied  # type: ignore[attr-defined]
            if failure.retry and attempts > 1:
                error.message = f"{error.message} (gave up after {attempts} attempts)"
                error.args = (error.message,)
            raise error
        delay = self.retry.delay(attempt, failure.wait)
        if delay is None:
            error.maybe_applied = False  # type: ignore[attr-defined]
            raise error
        budget = self.retry_budget
        if budget is not None:
            budget.charge(failure.waited)
            if not budget.take(delay):
                self._hand_back(failure, attempt, delay, budget, endpoint)
        logger.warning("%s: %s attempt %d of %d failed: %s; retrying in %.2fs",
                       self.messages.remote, endpoint, number, attempts, error.message, delay)
        time.sleep(delay)

    def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` between a caller's own tries (a look-up after a lost answer), if
        the run's ``retry_budget`` still has them; False, without sleeping, when it has not:
        the caller then raises, and the run's next attempt goes on from there."""
        if self.retry_budget is not None and not self.retry_budget.take(seconds):
            return False
        time.sleep(seconds)
        return True

    def _hand_back(self, failure: _Failure, attempt: int, delay: float, budget: RetryBudget,
                   endpoint: str) -> None:
        """Raise the failure's error instead of waiting ``delay`` s more than the run's
        ``budget`` has left. The caller takes it as any transient failure (a run ends failed
        and its retry goes through the queue; an order read is Delayed), and the worker thread
        is free meanwhile."""
        error = failure.error
        allowance = f"the run's {budget.seconds:g} s for waiting on a failing remote"
        logger.warning("%s: %s failed (%s); not waiting %.2fs more: the run has waited %.2fs "
                       "of its %g s for a failing remote", self.messages.remote, endpoint,
                       error.message, delay, budget.spent, budget.seconds)
        if failure.wait is not None:
            why = f"longer than the {budget.left:.1f} s left of {allowance}"
        else:
            why = (f"the remote kept failing: gave up after {attempt} attempt"
                   f"{'s' if attempt > 1 else ''} rather than wait past {allowance}")
        error.message = f"{error.message} ({why}; it is tried again later)"
        error.args = (error.message,)
        error.maybe_applied = failure.maybe_applied  # type: ignore[attr-defined]
        raise error

    # -- translation ---------------------------------------------------------------------------

    def _transport_failure(self, exc: httpx.TransportError, endpoint: str,
                           idempotent: bool) -> _Failure:
        # Never chain exc: its request (and so its URL) is reachable from it. Only the class
        # name and a scrubbed message travel on.
        detail = self.credentials.scrub(str(exc)) or type(exc).__name__
        # Connect failures never reached the remote: always safe to repeat.
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        words = self.messages
        if isinstance(exc, httpx.TimeoutException):
            kind = "connecting" if unsent else "waiting for the answer"
            error: PlatformError = RemoteTimeout(
                f"{words.remote} timed out ({kind}) on {endpoint}")
        elif isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
            return _Failure(RemoteUnavailable(
                f"cannot call {words.platform} at {self.host}: {detail}"), retry=False)
        else:
            error = RemoteUnavailable(
                f"could not reach {words.remote} at {self.host} on {endpoint}: "
                f"{type(exc).__name__} ({detail})")
        return _Failure(error, retry=idempotent or unsent, maybe_applied=not unsent)

    def _reported_failure(self, body: Any) -> _Failure | None:
        """The failure a 2xx answer reports in its ``body`` (``answer_error``), or None."""
        error = self.answer_error(body)
        if error is None:
            return None
        error.quotes_remote = True
        if isinstance(error, RateLimited):
            # Like a 429: the remote refused to run the request, so any method may go again.
            return _Failure(error, retry=True, wait=error.retry_after)
        return _Failure(error, retry=False)

    def _status_failure(self, response: httpx.Response, method: str, endpoint: str,
                        idempotent: bool, subject: str | None) -> _Failure:
        status = response.status_code
        body = _json_or_none(response)
        words = self.messages
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            shown = f"; it asked to wait {wait:.0f}s" if wait is not None else ""
            # A 429 means the remote did not take the request: safe to repeat any method.
            return _Failure(RateLimited(
                f"{words.remote} is limiting requests on {endpoint}{shown}", retry_after=wait),
                retry=True, wait=wait)
        if status >= 500:
            return _Failure(RemoteServerError(
                f"{words.remote} had a server error (HTTP {status}) on {endpoint}",
                status=status), retry=idempotent, maybe_applied=True)
        fields = self._scrubbed(self.error_fields(body))
        if status in (401, 403):
            return _Failure(self._credentials_error(status, method, fields), retry=False)
        if status == 404:
            return _Failure(words.not_found(endpoint, body, subject), retry=False)
        if status in (400, 409, 422) or fields:
            text = describe_fields(fields) if fields else self._body_text(response)
            error: PlatformError = RemoteValidationError(
                f"{words.platform} refused {endpoint}: {text}", fields=fields, status=status)
        else:
            error = PermanentError(f"{words.platform} answered {endpoint} with HTTP {status}: "
                                   f"{self._body_text(response)}", status=status)
        error.quotes_remote = True
        return _Failure(error, retry=False)

    def _scrubbed(self, fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """``fields`` with the secret hidden in each message, should the remote echo it."""
        scrub = self.credentials.scrub
        return {name: [scrub(message) for message in messages]
                for name, messages in fields.items()}

    def _credentials_error(self, status: int, method: str,
                           fields: Mapping[str, list[str]]) -> CredentialsRejected:
        said = describe_fields(fields).lower()
        write = method.upper() not in ("GET", "HEAD")
        if status == 403 and (write or "read-only" in said or "read only" in said):
            return CredentialsRejected(self.messages.read_only(status), status=status,
                                       read_only=True)
        return CredentialsRejected(self.messages.rejected(status), status=status)

    def _body_text(self, response: httpx.Response) -> str:
        try:
            text = response.text
        except (ValueError, UnicodeDecodeError):  # pragma: no cover - httpx decodes leniently
            text = ""
        text = " ".join(text.split())
        return self.credentials.scrub(text[:200]) or "(empty body)"

    def _decode(self, response: httpx.Response, endpoint: str) -> Any:
        if response.status_code == 204:  # No Content: there is nothing to decode
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            error = BadResponse(
                f"{self.messages.remote} answered {endpoint} with a body that is not JSON (HTTP "
                f"{response.status_code}, {kind}, {len(response.content)} bytes)",
                field="body", status=response.status_code)
            error.quotes_remote = True
            raise error from None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


__all__ = [
    "DEFAULT_TIMEOUT", "AnswerError", "Credentials", "ErrorFields", "HttpClient", "Messages",
    "Outgoing", "Placement", "Renew", "RetryPolicy", "describe_fields", "in_header",
    "in_json_body", "in_query", "no_answer_error", "no_fields", "parse_retry_after",
    "shared_ssl_context",
]

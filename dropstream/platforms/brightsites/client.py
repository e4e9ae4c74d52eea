"""HTTP client for one Bright Sites store: auth, metering, retries, typed errors, paging.

Every request costs money (specs/brightsites-api.md §11), so the client counts every attempt —
failures with no answer included — in a transport that wraps ``httpx.HTTPTransport``; response
hooks would never see the failed ones. The same transport is the only place the token is put on
the request: the request object httpx logs ("HTTP Request: GET …") and attaches to its exceptions
never carries it, not even with ``token_in_query`` (§2.2).

Errors raised (dropstream/platforms/errors.py), each with a plain message:

* 401/403 → CredentialsRejected (``read_only`` when a write was refused), never retried;
* 404 → RemoteNotFound; 400/422 → RemoteValidationError with ``fields`` (§5.1 shapes A and B);
* 429 → RateLimited, 5xx → RemoteServerError, timeouts → RemoteTimeout, connection errors →
  RemoteUnavailable: retried with capped exponential backoff and full jitter, honouring
  ``Retry-After``, up to ``max_attempts`` attempts in all;
* a 2xx body that is not JSON or has the wrong shape → BadResponse naming the field.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from dropstream.logs import redact
from dropstream.platforms.base import (
    MeteredCall,
    MeterSink,
    announce,
    discard_meter,
    new_call_id,
)
from dropstream.platforms.brightsites import api_base_url
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
    TransientError,
)

logger = logging.getLogger(__name__)

PLATFORM = "brightsites"
PER_PAGE = 500  # §4: the maximum on every listing since v2.1.1
_EXT = "dropstream.brightsites"  # request extension carrying (endpoint template, attempt)
_ADMIN_HINT = "the store's admin (Integrations → Web Services/API)"


def format_time(moment: datetime) -> str:
    """A filter value in UTC with "Z" (§3), so no "+" needs URL-encoding."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Transport: token and meter
# --------------------------------------------------------------------------------------------


class MeteredTransport(httpx.BaseTransport):
    """Adds the token to each outgoing request and reports every attempt to ``meter``.

    The body is read here, so a timeout while reading it is metered as this attempt's failure.
    """

    def __init__(self, inner: httpx.BaseTransport, *, token: str, token_in_query: bool,
                 meter: MeterSink) -> None:
        self._inner = inner
        self._token = token
        self._token_in_query = token_in_query
        self._meter = meter

    def _with_token(self, request: httpx.Request) -> httpx.Request:
        headers = request.headers.copy()
        url = request.url
        if self._token_in_query:
            url = url.copy_merge_params({"token": self._token})
        else:
            headers["X-API-TOKEN"] = self._token
        return httpx.Request(request.method, url, headers=headers, stream=request.stream,
                             extensions=request.extensions)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        endpoint, attempt = request.extensions.get(_EXT, (f"{request.method} ?", 1))
        call_id = new_call_id()
        self._announce(request.method, endpoint, attempt, call_id)
        started = time.monotonic()
        try:
            answer = self._inner.handle_request(self._with_token(request))
            try:
                raw = b"".join(answer.iter_raw())
            except httpx.StreamConsumed:
                raw = answer.content  # read already by an in-memory transport
            finally:
                answer.close()
        except Exception as exc:
            self._report(request.method, endpoint, None, started, attempt,
                         f"{type(exc).__name__}: {self.scrub(str(exc))}", call_id)
            raise
        self._report(request.method, endpoint, answer.status_code, started, attempt, "", call_id)
        return httpx.Response(answer.status_code, headers=answer.headers, content=raw,
                              extensions=answer.extensions, request=request)

    def scrub(self, text: str) -> str:
        """``text`` without the token, whatever form it appears in."""
        text = redact(text)
        return text.replace(self._token, "[redacted]") if self._token else text

    def _announce(self, method: str, endpoint: str, attempt: int, call_id: str) -> None:
        try:
            announce(self._meter, MeteredCall(platform=PLATFORM, method=method,
                                              endpoint=endpoint, status=None, duration_ms=0,
                                              attempt=attempt, call_id=call_id))
        except Exception:  # noqa: BLE001 — a broken sink must not stop the request
            logger.exception("the request meter failed for %s", endpoint)

    def _report(self, method: str, endpoint: str, status: int | None, started: float,
                attempt: int, error: str, call_id: str) -> None:
        call = MeteredCall(platform=PLATFORM, method=method, endpoint=endpoint, status=status,
                           duration_ms=round((time.monotonic() - started) * 1000, 3),
                           attempt=attempt, error=error[:300], call_id=call_id)
        try:
            self._meter(call)
        except Exception:  # noqa: BLE001 — a broken sink must not turn a success into a failure
            logger.exception("the request meter failed for %s", endpoint)

    def close(self) -> None:
        self._inner.close()


# --------------------------------------------------------------------------------------------
# Error translation
# --------------------------------------------------------------------------------------------


def parse_errors(body: Any) -> dict[str, list[str]]:
    """``{"errors": …}`` → field → messages, for both 422 shapes of §5.1.

    Shape A has a string per field, shape B a list of strings; a bare list or string (e.g. the
    cancel body, §5.3) is filed under "base".
    """
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if errors is None:
        return {}
    if isinstance(errors, Mapping):
        fields: dict[str, list[str]] = {}
        for key, value in errors.items():
            if isinstance(value, list):
                fields[str(key)] = [_as_message(item) for item in value]
            else:
                fields[str(key)] = [_as_message(value)]
        return fields
    if isinstance(errors, list):
        return {"base": [_as_message(item) for item in errors]}
    return {"base": [_as_message(errors)]}


def _as_message(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _describe_fields(fields: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" if name != "base" else " ".join(messages)
                     for name, messages in fields.items())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
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


class _Attempt:
    """The outcome of one failed attempt: the error to raise and whether to try again."""

    def __init__(self, error: PlatformError, *, retry: bool, wait: float | None = None,
                 maybe_applied: bool = False) -> None:
        self.error = error
        self.retry = retry
        self.wait = wait  # the server's Retry-After, when it sent one
        self.maybe_applied = maybe_applied


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """One verified TLS context per process: loading the CA bundle costs ~25 ms of CPU, which
    every run paid again when each client built its own."""
    import certifi  # httpx's own CA bundle

    return ssl.create_default_context(cafile=certifi.where())


class BrightSitesClient:
    """One store's API. ``close()`` when done (or use as a context manager).

    ``request`` returns the parsed JSON of a 2xx answer or raises a PlatformError; a
    non-idempotent request (a shipment POST) is never repeated once it may have reached the
    store: its error then has ``maybe_applied = True`` and the caller must look before retrying.
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        meter: MeterSink = discard_meter,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.subdomain = str(settings.get("subdomain") or "")
        self.base_url = api_base_url(dict(settings)).rstrip("/")
        token = str(settings.get("api_token") or "")
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self._transport = MeteredTransport(
            transport or httpx.HTTPTransport(verify=shared_ssl_context()), token=token,
            token_in_query=bool(settings.get("token_in_query")), meter=meter)
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=self._transport,
            headers={"Accept": "application/json", "User-Agent": "DropStream/0.1"},
            follow_redirects=False,
        )
        self.host = urlsplit(self.base_url).netloc

    def __repr__(self) -> str:
        return f"<BrightSitesClient {self.subdomain!r} {self.base_url}>"

    def __enter__(self) -> BrightSitesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

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
    ) -> Any:
        """Send ``method path`` and return the decoded JSON of the 2xx answer.

        ``endpoint`` is the template metered and named in messages (``GET /orders/:id``);
        ``subject`` names the record for a 404 ("order 1042"). Raises a PlatformError subclass.
        """
        attempts = max_attempts or self.max_attempts
        attempt = 0
        while True:
            attempt += 1
            number = first_attempt + attempt - 1
            try:
                response = self._http.request(
                    method, path.lstrip("/"), params=params, json=json_body,
                    extensions={_EXT: (endpoint, number)})
            except httpx.TransportError as exc:
                outcome = self._transport_failure(exc, method, endpoint, idempotent)
            else:
                if response.is_success:
                    return self._decode(response, endpoint)
                outcome = self._status_failure(response, method, endpoint, idempotent, subject)
            if not outcome.retry or attempt >= attempts:
                error = outcome.error
                error.maybe_applied = outcome.maybe_applied  # type: ignore[attr-defined]
                if outcome.retry and attempts > 1:
                    error.message = f"{error.message} (gave up after {attempts} attempts)"
                    error.args = (error.message,)
                raise error
            delay = self._delay(attempt, outcome.wait)
            if delay is None:
                outcome.error.maybe_applied = False  # type: ignore[attr-defined]
                raise outcome.error
            logger.warning("Bright Sites %s (store %s) attempt %d of %d failed: %s; retrying "
                           "in %.2fs", endpoint, self.subdomain, number, attempts,
                           outcome.error.message, delay)
            time.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before the next attempt; None when the server asks for longer than we wait."""
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)  # full jitter

    def _transport_failure(self, exc: httpx.TransportError, method: str, endpoint: str,
                           idempotent: bool) -> _Attempt:
        # Never chain exc: its request (and so its URL) is reachable from it. Only the class
        # name and a scrubbed message travel on.
        detail = self._transport.scrub(str(exc)) or type(exc).__name__
        # Connect failures never reached the store: always safe to repeat.
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if isinstance(exc, httpx.TimeoutException):
            kind = "connecting" if unsent else "waiting for the answer"
            error: PlatformError = RemoteTimeout(
                f"Bright Sites store {self.subdomain!r} timed out ({kind}) on {endpoint}")
        elif isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
            return _Attempt(RemoteUnavailable(
                f"cannot call Bright Sites at {self.host}: {detail}"), retry=False)
        else:
            error = RemoteUnavailable(
                f"could not reach Bright Sites store {self.subdomain!r} at {self.host} on "
                f"{endpoint}: {type(exc).__name__} ({detail})")
        return _Attempt(error, retry=idempotent or unsent, maybe_applied=not unsent)

    def _status_failure(self, response: httpx.Response, method: str, endpoint: str,
                        idempotent: bool, subject: str | None) -> _Attempt:
        status = response.status_code
        body = self._json_or_none(response)
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            shown = f"; it asked to wait {wait:.0f}s" if wait is not None else ""
            # A 429 means the store did not take the request: safe to repeat any method.
            return _Attempt(RateLimited(
                f"Bright Sites store {self.subdomain!r} is limiting requests on {endpoint}{shown}",
                retry_after=wait), retry=True, wait=wait)
        if status >= 500:
            return _Attempt(RemoteServerError(
                f"Bright Sites store {self.subdomain!r} had a server error (HTTP {status}) on "
                f"{endpoint}", status=status), retry=idempotent, maybe_applied=True)
        if status in (401, 403):
            return _Attempt(self._credentials_error(status, method, body), retry=False)
        if status == 404:
            return _Attempt(self._not_found(endpoint, body, subject), retry=False)
        fields = parse_errors(body)
        if status in (400, 409, 422) or fields:
            text = _describe_fields(fields) if fields else self._body_text(response)
            return _Attempt(RemoteValidationError(
                f"Bright Sites refused {endpoint}: {text}", fields=fields, status=status),
                retry=False)
        return _Attempt(PermanentError(
            f"Bright Sites answered {endpoint} with HTTP {status}: {self._body_text(response)}",
            status=status), retry=False)

    def _credentials_error(self, status: int, method: str, body: Any) -> CredentialsRejected:
        said = _describe_fields(parse_errors(body)).lower()
        write = method.upper() not in ("GET", "HEAD")
        if status == 403 and (write or "read-only" in said or "read only" in said):
            return CredentialsRejected(
                f"the API token of Bright Sites store {self.subdomain!r} is read-only, so the "
                f"store refused a change (HTTP 403). Issue a read/write token in {_ADMIN_HINT} "
                "and save it in the store's settings.", status=status, read_only=True)
        return CredentialsRejected(
            f"Bright Sites store {self.subdomain!r} rejected the API token (HTTP {status}). Check "
            f"that API access is on and the token is current in {_ADMIN_HINT}, then save a "
            "read/write token in the store's settings.", status=status)

    def _not_found(self, endpoint: str, body: Any, subject: str | None) -> RemoteNotFound:
        # An item path whose 404 carries the API's error object means "no such record"; a 404
        # on a collection, or without that object, means no store answers at this address.
        if ":" in endpoint and isinstance(body, Mapping) and "errors" in body:
            what = subject or endpoint
            return RemoteNotFound(
                f"Bright Sites store {self.subdomain!r} has no {what} (HTTP 404 on {endpoint})",
                status=404)
        return AccountNotFound(
            f"no Bright Sites store answers at subdomain {self.subdomain!r} ({self.host} "
            f"answered 404 on {endpoint}). Check the subdomain in the store's settings.",
            status=404)

    @staticmethod
    def _json_or_none(response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            return None

    def _body_text(self, response: httpx.Response) -> str:
        try:
            text = response.text
        except (ValueError, UnicodeDecodeError):  # pragma: no cover - httpx decodes leniently
            text = ""
        text = " ".join(text.split())
        return self._transport.scrub(text[:200]) or "(empty body)"

    def _decode(self, response: httpx.Response, endpoint: str) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise BadResponse(
                f"Bright Sites store {self.subdomain!r} answered {endpoint} with a body that is "
                f"not JSON (HTTP {response.status_code}, {kind}, {len(response.content)} bytes)",
                field="body", status=response.status_code) from None

    # -- convenience ---------------------------------------------------------------------------

    def get(self, path: str, *, endpoint: str, params: Mapping[str, Any] | None = None,
            **options: Any) -> Any:
        return self.request("GET", path, endpoint=endpoint, params=params, **options)

    def expect_object(self, body: Any, endpoint: str, key: str | None = None) -> Any:
        """``body`` (or ``body[key]``) checked to be the right JSON type; BadResponse if not."""
        if not isinstance(body, Mapping):
            raise BadResponse(f"Bright Sites answered {endpoint} with a JSON "
                              f"{type(body).__name__} instead of an object", field="body")
        if key is None:
            return body
        value = body.get(key)
        if not isinstance(value, list):
            raise BadResponse(f"Bright Sites answered {endpoint} without a {key!r} list",
                              field=key)
        return value

    def page(self, path: str, *, endpoint: str, key: str, page: int,
             params: Mapping[str, Any] | None = None) -> tuple[list[Any], int | None, int]:
        """One page of a listing (§4): (rows, meta.total or None, page size in effect).

        The size in effect is ``meta.limit`` when the store reports one (it may serve fewer than
        the 500 asked for), so "a short page" and "page N" mean what the store meant.
        """
        query = dict(params or {})
        query.update(page=page, per_page=PER_PAGE)
        body = self.get(path, endpoint=endpoint, params=query)
        rows = self.expect_object(body, endpoint, key)
        meta = body.get("meta")
        total = meta.get("total") if isinstance(meta, Mapping) else None
        if total is not None and not _count(total):
            raise BadResponse(f"Bright Sites answered {endpoint} with a wrong meta.total",
                              field="meta.total")
        limit = meta.get("limit") if isinstance(meta, Mapping) else None
        size = limit if _count(limit) and 0 < limit <= PER_PAGE else PER_PAGE
        return list(rows), total, size

    def pages(self, path: str, *, endpoint: str, key: str,
              params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page of a listing whose order is stable: stops on a short page or meta.total."""
        number = 0
        while True:
            number += 1
            rows, total, size = self.page(path, endpoint=endpoint, key=key, page=number,
                                          params=params)
            yield rows
            if len(rows) < size or (total is not None and number * size >= total):
                return

    def order_rows(self, params: Mapping[str, Any] | None = None, *,
                   max_extra_reads: int = 10) -> Iterator[Mapping[str, Any]]:
        """Every ``GET /orders`` row matching ``params``, each ``order_id`` once, none skipped.

        The list is newest first (§4), so the store changing during the loop moves rows between
        pages. An order created at the top pushes every row down one place: page 2 then starts
        with the last row of page 1 again (dropped as a duplicate). An order leaving the filter
        (its status changed) pulls rows *up*: the first row of page 2 slides onto page 1, which
        was already read, and would be skipped. So a page is taken as following on from the
        rows already read only if it reaches back to them (its highest order_id ≥ the lowest
        read so far), or if meta.total did not change since the page before; otherwise the
        previous page is read again. When the total grew, page 1 is read again at the end to
        pick up the orders created meanwhile. Nothing changing costs exactly ⌈total / 500⌉
        requests; each change seen costs one or two more.

        Raises RemoteServerError when the list keeps changing after ``max_extra_reads`` re-reads
        (the run fails, the caller's cursor does not move, the next run lists again).
        """
        endpoint = "GET /orders"
        seen: set[int] = set()
        frontier: int | None = None  # lowest order_id of the contiguous part read so far
        top: int | None = None  # highest order_id on the first page read
        first_total: int | None = None
        accepted_total: int | None = None  # meta.total of the last page taken as contiguous
        held: tuple[int, list[int], int | None, int] | None = None  # page stepped back from
        stepping_back = False
        first = True
        grew = False
        extra = 0
        number = 1
        while True:
            if held is not None and held[0] == number and held[2] == accepted_total:
                # Read before the page just re-read, with the same total: no change between,
                # so it follows on from it without another request.
                _, ids, total, size = held
                held = None
                rows_len = len(ids)
            else:
                rows, total, size = self.page("/orders", endpoint=endpoint, key="orders",
                                              page=number, params=params)
                ids = [_order_id(row, f"orders[{i}]") for i, row in enumerate(rows)]
                rows_len = len(rows)
                for order_id, row in zip(ids, rows, strict=True):
                    if order_id not in seen:
                        seen.add(order_id)
                        yield row
            if first:
                first = False
                first_total = total
                top = max(ids) if ids else None
            grew = grew or (total is not None and first_total is not None and total > first_total)
            reaches = bool(ids) and frontier is not None and max(ids) >= frontier
            unchanged = not stepping_back and total == accepted_total
            if number == 1 or reaches or unchanged:
                stepping_back = False
                accepted_total = total
                if ids:
                    frontier = min(ids) if frontier is None else min(frontier, min(ids))
                if rows_len < size or (total is not None and number * size >= total):
                    break
                number += 1
                continue
            # The set changed and this page may have missed rows that slid up: step back.
            extra += 1
            if extra > max_extra_reads:
                raise self._unsettled(endpoint)
            logger.info("Bright Sites store %s: the order list changed while paging (total %s "
                        "→ %s); reading page %d again", self.subdomain, accepted_total, total,
                        number - 1)
            held = (number, ids, total, size)
            stepping_back = True
            number -= 1
        if not grew or top is None:
            return
        # Orders created while paging sit above the first page read: read from the top until a
        # page reaches an order seen before.
        number = 1
        while True:
            extra += 1
            if extra > max_extra_reads:
                raise self._unsettled(endpoint)
            rows, total, size = self.page("/orders", endpoint=endpoint, key="orders",
                                          page=number, params=params)
            ids = [_order_id(row, f"orders[{i}]") for i, row in enumerate(rows)]
            for order_id, row in zip(ids, rows, strict=True):
                if order_id not in seen:
                    seen.add(order_id)
                    yield row
            if not ids or min(ids) <= top or len(rows) < size:
                return
            number += 1

    def _unsettled(self, endpoint: str) -> RemoteServerError:
        return RemoteServerError(
            f"the orders of Bright Sites store {self.subdomain!r} kept changing while "
            f"{endpoint} was paged; the list will be read again on the next run")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _order_id(row: Any, field: str) -> int:
    """The integer ``order_id`` of a list row (§7.2); BadResponse naming the field if wrong."""
    value = row.get("order_id") if isinstance(row, Mapping) else None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadResponse(f"Bright Sites sent an order list row without a numeric order_id "
                          f"({field}.order_id)", field=f"{field}.order_id")
    return value


__all__ = ["BrightSitesClient", "MeteredTransport", "PER_PAGE", "TransientError",
           "format_time", "parse_errors", "parse_retry_after"]

"""HTTP client for one Bright Sites store: its token, its messages, its error bodies, paging.

The plumbing — metering every attempt, retries with backoff and ``Retry-After``, the TLS context
and the status → error translation — is ``dropstream/platforms/http.py``; this module says only
what is Bright Sites' own:

* the token goes in the ``X-API-TOKEN`` header, or in ``?token=`` with ``token_in_query``
  (specs/brightsites-api.md §2.2), put on by ``HttpClient`` as the request goes on the wire
  only, so nothing a log line or an error can reach carries it;
* the messages: 401/403 point at the store's admin; a 404 of an item path whose body carries the
  API's error object is a missing record (RemoteNotFound), any other 404 means no store answers
  at the subdomain (AccountNotFound);
* 422 bodies in both shapes of §5.1 (``parse_errors``) give RemoteValidationError its ``fields``;
* paging (§4): ``page``, ``pages`` and ``order_rows``, which survives the order list changing
  while it is read; a page of the wrong shape is BadResponse naming the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from dropstream.platforms.base import MeterSink, RetryBudget, discard_meter
from dropstream.platforms.brightsites import api_base_url
from dropstream.platforms.errors import (
    AccountNotFound,
    BadResponse,
    RemoteNotFound,
    RemoteServerError,
    TransientError,
)
from dropstream.platforms.http import (
    Credentials,
    HttpClient,
    Messages,
    RetryPolicy,
    in_header,
    in_query,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

PLATFORM = "brightsites"
PER_PAGE = 500  # §4: the maximum on every listing since v2.1.1
_ADMIN_HINT = "the store's admin (Integrations → Web Services/API)"


def format_time(moment: datetime) -> str:
    """A filter value in UTC with "Z" (§3), so no "+" needs URL-encoding."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class BrightSitesMessages(Messages):
    """What the operator reads about one store: every hint points at the store's admin."""

    def __init__(self, subdomain: str, host: str) -> None:
        super().__init__("Bright Sites", f"Bright Sites store {subdomain!r}")
        self.subdomain = subdomain
        self.host = host

    def rejected(self, status: int) -> str:
        return (f"Bright Sites store {self.subdomain!r} rejected the API token (HTTP {status}). "
                f"Check that API access is on and the token is current in {_ADMIN_HINT}, then "
                "save a read/write token in the store's settings.")

    def read_only(self, status: int) -> str:
        return (f"the API token of Bright Sites store {self.subdomain!r} is read-only, so the "
                f"store refused a change (HTTP {status}). Issue a read/write token in "
                f"{_ADMIN_HINT} and save it in the store's settings.")

    def not_found(self, endpoint: str, body: Any, subject: str | None) -> RemoteNotFound:
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


class BrightSitesClient(HttpClient):
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
        retry_budget: RetryBudget | None = None,
    ) -> None:
        self.subdomain = str(settings.get("subdomain") or "")
        base_url = api_base_url(dict(settings)).rstrip("/")
        host = urlsplit(base_url).netloc
        placement = (in_query("token") if settings.get("token_in_query")
                     else in_header("X-API-TOKEN"))
        super().__init__(
            platform=PLATFORM, base_url=base_url,
            credentials=Credentials(str(settings.get("api_token") or ""), placement),
            messages=BrightSitesMessages(self.subdomain, host),
            meter=meter,
            retry=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base,
                              backoff_cap=backoff_cap, max_retry_after=max_retry_after),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            error_fields=parse_errors, transport=transport, retry_budget=retry_budget)

    def __repr__(self) -> str:
        return f"<BrightSitesClient {self.subdomain!r} {self.base_url}>"

    # -- paging (§4) ---------------------------------------------------------------------------

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


__all__ = ["BrightSitesClient", "PER_PAGE", "TransientError",
           "format_time", "parse_errors", "parse_retry_after"]

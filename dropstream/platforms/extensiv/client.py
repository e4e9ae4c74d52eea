"""Extensiv over HTTP: OAuth2 client-credentials tokens and the API calls the hub makes.

Tokens (spec §2): ``POST /AuthServer/api/Token`` with Basic client credentials and a JSON body
naming the user (``user_login``, or ``tpl`` + ``user_login_id``). A token is kept in memory only
(never in the adapter's saved state), shared by the adapters of one process for the same
credential, and used until 5 minutes before ``expires_in`` (at most 30 minutes, §2.3). A 401 on
an API call drops it and fetches a new one once (``Credentials.renew`` in platforms/http.py).

Every request, token fetches included, goes through ``HttpClient``: metered, retried on
429/5xx with the shared backoff, secrets redacted. Answers are asked for as HAL (camelCase,
§3) and read case-insensitively.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dropstream.platforms.base import MeterSink
from dropstream.platforms.errors import (
    CredentialsRejected,
    PlatformError,
    RemoteValidationError,
)
from dropstream.platforms.http import Credentials, HttpClient, Messages, in_header

logger = logging.getLogger(__name__)

PLATFORM = "extensiv"
TOKEN_PATH = "/AuthServer/api/Token"  # noqa: S105 - a path, not a secret
HAL = "application/hal+json"
ORDER_REL = "http://api.3plcentral.com/rels/orders/order"
ITEM_REL = "http://api.3plcentral.com/rels/orders/item"
# §2.3: renew 5 minutes before expiry, and at least every 30 minutes.
EARLY_RENEWAL_S = 300
LONGEST_TOKEN_S = 1800
ORDERS_PAGE = 500  # §4: below the 1000 cap so detail pages stay small
SUMMARIES_PAGE = 500  # §4: the stock summaries maximum


def ci(record: Any, *names: str) -> Any:
    """``record[name]`` for the first of ``names`` present, ignoring case (§3: plain answers are
    PascalCase, HAL ones camelCase); None when absent."""
    if not isinstance(record, Mapping):
        return None
    lowered = {str(key).lower(): value for key, value in record.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def rql_value(value: str) -> str:
    """A value escaped for RQL (§4): its special characters encoded once here; the query
    string encoding adds the second level the server decodes."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Login:
    """Who the token is for (§2.1, §2.2 variants A and B)."""

    base_url: str
    client_id: str
    client_secret: str
    user_login: str = ""
    tpl: str = ""
    user_login_id: str = ""

    def __repr__(self) -> str:
        return f"Login({self.client_id!r} at {self.base_url})"

    @property
    def cache_key(self) -> str:
        # The secret takes part only as a hash, so a rotated secret gets its own token.
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()[:16]
        return "|".join((self.base_url, self.client_id, digest, self.user_login.lower(),
                         self.tpl.lower(), self.user_login_id))

    def body(self) -> dict[str, str]:
        if self.user_login:
            return {"grant_type": "client_credentials", "user_login": self.user_login}
        if self.tpl and self.user_login_id:
            return {"grant_type": "client_credentials", "tpl": self.tpl,
                    "user_login_id": self.user_login_id}
        raise CredentialsRejected(
            "Extensiv needs to know which user the hub acts as: set the user login, or the TPL "
            "key and the user login id, in the warehouse's settings.")


class TokenCache:
    """Tokens by login, in this process's memory only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str:
        with self._lock:
            token, good_until = self._tokens.get(key, ("", 0.0))
        return token if token and time.monotonic() < good_until else ""

    def put(self, key: str, token: str, expires_in: float) -> None:
        # A short-lived token is renewed a tenth of its life early, not 5 minutes (which
        # could be all of it).
        margin = min(EARLY_RENEWAL_S, float(expires_in) / 10)
        lifetime = min(max(float(expires_in) - margin, 0.0), LONGEST_TOKEN_S)
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + lifetime)

    def drop(self, key: str, token: str) -> None:
        with self._lock:
            if self._tokens.get(key, ("", 0.0))[0] == token:
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()


def error_fields(body: Any) -> dict[str, list[str]]:
    """§7 exception bodies → field → [ErrorCode, Hint]. ``ModelValidationException`` names its
    properties; ``QueryParameterException`` its parameters; the token endpoint answers RFC 6749
    ``{"error"}`` or ASP.NET ``{"Message"}`` (§2.3)."""
    if not isinstance(body, Mapping):
        return {}
    code = str(ci(body, "ErrorCode") or ci(body, "error") or "")
    hint = str(ci(body, "Hint") or ci(body, "Message") or ci(body, "error_description") or "")
    names = [str(ci(p, "Name")) for p in ci(body, "Properties") or [] if ci(p, "Name")]
    names += [str(p) for p in ci(body, "Parameters") or [] if isinstance(p, str)]
    if not code and not hint:
        return {}
    return {name: [code, hint] for name in names} or {"base": [code, hint]}


class ExtensivMessages(Messages):
    def rejected(self, status: int) -> str:
        if status == 403:
            return (f"{self.remote} refused the request (HTTP 403): the credential lacks a role "
                    "the hub needs (OrderView, OrderWrite, OrderEdit, InventoryDetailView). "
                    "Add the roles in Extensiv's Manage Credentials.")
        return (f"{self.remote} rejected the client id or secret (HTTP {status}). Check them in "
                "the warehouse's settings.")


class ExtensivClient:
    """One Extensiv login's API."""

    def __init__(self, login: Login, *, meter: MeterSink, cache: TokenCache = TOKENS) -> None:
        self.login = login
        self._cache = cache
        self._token = cache.get(login.cache_key)
        basic = base64.b64encode(f"{login.client_id}:{login.client_secret}".encode()).decode()
        messages = ExtensivMessages("Extensiv", f"Extensiv at {login.base_url}")
        self._auth = HttpClient(
            platform=PLATFORM, base_url=login.base_url, meter=meter, messages=messages,
            credentials=Credentials(basic, in_header("Authorization", "Basic {}")),
            error_fields=error_fields)
        self.credentials = Credentials(self._token,
                                       in_header("Authorization", "Bearer {}"),
                                       renew=self._fetch_token)
        self.http = HttpClient(
            platform=PLATFORM, base_url=login.base_url, meter=meter, messages=messages,
            credentials=self.credentials, error_fields=self._fields, headers={"Accept": HAL})
        # The ErrorCode of the last refused request: a 403 OperationException (a cancel that is
        # too late) reaches the caller as CredentialsRejected, which keeps no fields.
        self.last_error_code = ""

    def _fields(self, body: Any) -> dict[str, list[str]]:
        fields = error_fields(body)
        first = next(iter(fields.values()), [""])
        self.last_error_code = first[0] if first else ""
        return fields

    def close(self) -> None:
        self._auth.close()
        self.http.close()

    # -- tokens --------------------------------------------------------------------------------

    def _fetch_token(self) -> str:
        """A new token (the cached one was refused or is missing); raises CredentialsRejected
        with a plain message when Extensiv refuses the credential or the user."""
        login = self.login
        shared = self._cache.get(login.cache_key)
        if shared and shared != self._token:
            self._token = shared  # another adapter of this process renewed it already
            return shared
        if self._token:
            self._cache.drop(login.cache_key, self._token)
        try:
            body = self._auth.request("POST", TOKEN_PATH, endpoint=f"POST {TOKEN_PATH}",
                                      json_body=login.body())
        except RemoteValidationError as exc:
            # Our own words (the remote's body is not repeated: a credentials test must not
            # read pages for whoever types a URL).
            raise CredentialsRejected(
                f"Extensiv refused the token request (HTTP {exc.status}): the user login (or "
                "the TPL key and user login id) does not belong to this client id. Check them "
                "in the warehouse's settings.", status=exc.status) from None
        token = str(ci(body, "access_token") or "")
        if not token:
            raise CredentialsRejected("Extensiv answered the token request without a token.")
        self._cache.put(login.cache_key, token, float(ci(body, "expires_in") or 1800))
        self._token = token
        return token

    def _fresh(self) -> None:
        """Renew before a request when the shared token has aged out (§2.3)."""
        if not self._cache.get(self.login.cache_key):
            self.credentials.renew()

    # -- requests ------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, endpoint: str, **options: Any) -> Any:
        self._fresh()
        return self.http.request(method, path, endpoint=endpoint, **options)

    def exchange(self, method: str, path: str, *, endpoint: str,
                 **options: Any) -> tuple[Any, Mapping[str, str]]:
        self._fresh()
        return self.http.exchange(method, path, endpoint=endpoint, **options)

    def orders(self, rql: str, *, detail: str = "None", sort: str = "",
               page_size: int = ORDERS_PAGE, page: int = 1) -> tuple[int, list[dict[str, Any]]]:
        """One page of ``GET /orders``: (totalResults, orders)."""
        params = {"pgsiz": page_size, "pgnum": page, "rql": rql, "detail": detail}
        if detail.lower() != "none":
            params["itemdetail"] = "None"
        if sort:
            params["sort"] = sort
        body = self.call("GET", "/orders", endpoint="GET /orders", params=params)
        return int(ci(body, "totalResults") or 0), embedded(body, ORDER_REL)

    def find_references(self, customer_id: int, references: list[str]) -> dict[str, list[int]]:
        """Reference → order ids Extensiv holds for the customer (§5.9's search), paged."""
        found: dict[str, list[int]] = {}
        if not references:
            return found
        values = ",".join(rql_value(ref) for ref in references)
        rql = f"customerIdentifier.id=={customer_id};referenceNum=in=({values})"
        page = 1
        while True:
            total, rows = self.orders(rql, page=page, page_size=1000)
            for row in rows:
                ref = str(ci(row, "referenceNum") or "")
                order_id = ci(ci(row, "readOnly"), "orderId")
                if ref and order_id is not None:
                    found.setdefault(ref.lower(), []).append(int(order_id))
            if len(rows) < 1000 or page * 1000 >= total:
                return found
            page += 1

    def stock_summaries(self, customer_id: int,
                        facilities: list[int]) -> Iterator[dict[str, Any]]:
        """Every stock summary row of the customer in ``facilities`` (§6.1), paged at 500."""
        ids = ",".join(str(f) for f in facilities)
        rql = f"customerIdentifier.id=={customer_id};facilityId=in=({ids})"
        page, seen = 1, 0
        while True:
            body = self.call("GET", "/inventory/stocksummaries",
                             endpoint="GET /inventory/stocksummaries",
                             params={"pgsiz": SUMMARIES_PAGE, "pgnum": page, "rql": rql})
            rows = ci(body, "summaries")
            rows = rows if isinstance(rows, list) else []
            yield from rows
            seen += len(rows)
            if len(rows) < SUMMARIES_PAGE or seen >= int(ci(body, "totalResults") or 0):
                return
            page += 1


def embedded(body: Any, rel: str) -> list[dict[str, Any]]:
    """The records of a collection: HAL ``_embedded[<rel>]`` (rel keys matched ignoring case,
    or the bare last segment), or plain ``ResourceList`` (§3)."""
    holder = ci(body, "_embedded")
    if isinstance(holder, Mapping):
        for key, value in holder.items():
            if str(key).lower() in (rel.lower(), rel.rsplit("/", 1)[-1]) and \
                    isinstance(value, list):
                return list(value)
        return []
    rows = ci(body, "ResourceList")
    return list(rows) if isinstance(rows, list) else []


def refusal_code(error: PlatformError) -> tuple[str, str, str]:
    """(property name, ErrorCode, Hint) of a 400's first field; empty strings when none."""
    fields = getattr(error, "fields", None) or {}
    for name, messages in fields.items():
        code = messages[0] if messages else ""
        hint = messages[1] if len(messages) > 1 else ""
        return name, code, hint
    return "", "", ""

"""The shared HTTP plumbing against a real server on loopback: metering, retries, Retry-After,
requests never repeated, the secret kept out of sight, and renewing a token on a 401."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
import traceback
from typing import Any

import httpx
import pytest

from dropstream.platforms.base import MeteredCall
from dropstream.platforms.errors import (
    AccountNotFound,
    BadResponse,
    CredentialsRejected,
    PlatformError,
    RateLimited,
    RemoteNotFound,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnavailable,
    RemoteValidationError,
)
from dropstream.platforms.http import (
    Credentials,
    HttpClient,
    Messages,
    RetryPolicy,
    in_header,
    in_query,
)
from tests.fixtures.http_server import Reply, ScriptedServer
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret

PLATFORM = "acmewms"


class Meter(list):
    """A MeterSink that keeps each outcome, and in ``events`` the order of notices/outcomes."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str]] = []

    def __call__(self, call: MeteredCall) -> None:
        self.append(call)
        self.events.append(("done", call.call_id))

    def sending(self, call: MeteredCall) -> None:
        self.events.append(("sending", call.call_id))


def client_for(url: str, *, meter: Meter | None = None, credentials: Credentials | None = None,
               max_attempts: int = 3, backoff_base: float = 0.01, backoff_cap: float = 0.02,
               max_retry_after: float = 10.0, read_timeout: float = 2.0,
               **options: Any) -> HttpClient:
    return HttpClient(
        platform=PLATFORM, base_url=url + "/api",
        credentials=credentials or Credentials(make_secret(), in_header("X-Key")),
        messages=Messages("Acme WMS", "Acme WMS account 'w1'"),
        meter=Meter() if meter is None else meter,
        retry=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base,
                          backoff_cap=backoff_cap, max_retry_after=max_retry_after),
        timeout=httpx.Timeout(read_timeout, connect=1.0), **options)


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chained(error: BaseException) -> list[BaseException]:
    """Every exception reachable from ``error`` as a cause or context."""
    found: list[BaseException] = []
    link = error.__cause__ or error.__context__
    while link is not None:
        found.append(link)
        link = link.__cause__ or link.__context__
    return found


def no_httpx_error_in(error: BaseException) -> bool:
    """Whether no httpx exception (whose request holds the URL) is reachable from ``error``."""
    return not any(isinstance(link, httpx.HTTPError) for link in chained(error))


def gaps(server: ScriptedServer) -> list[float]:
    """Seconds between consecutive requests' arrivals."""
    times = [seen.at for seen in server.seen]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


# --------------------------------------------------------------------------------------------
# Metering
# --------------------------------------------------------------------------------------------


def test_every_attempt_is_metered_under_the_platform_name_and_announced_first(scripted_server):
    scripted_server.plan(Reply(503), Reply(200, {"ok": True}))
    meter = Meter()

    with client_for(scripted_server.url, meter=meter) as client:
        body = client.get("/orders/7", endpoint="GET /orders/:id")

    assert body == {"ok": True}
    assert [(c.platform, c.method, c.endpoint, c.status, c.attempt) for c in meter] == [
        (PLATFORM, "GET", "GET /orders/:id", 503, 1),
        (PLATFORM, "GET", "GET /orders/:id", 200, 2)]
    first, second = (call.call_id for call in meter)
    assert meter.events == [("sending", first), ("done", first), ("sending", second),
                            ("done", second)]


def test_a_refused_connection_is_metered_for_every_attempt():
    meter = Meter()
    client = client_for(f"http://127.0.0.1:{closed_port()}", meter=meter)

    with pytest.raises(RemoteUnavailable) as caught:
        client.get("/orders", endpoint="GET /orders")

    assert [(c.platform, c.status, c.attempt) for c in meter] == [
        (PLATFORM, None, 1), (PLATFORM, None, 2), (PLATFORM, None, 3)]
    assert all(c.error.startswith("ConnectError") for c in meter)
    assert [kind for kind, _ in meter.events] == ["sending", "done"] * 3
    assert str(caught.value).startswith("could not reach Acme WMS account 'w1' at 127.0.0.1:")
    assert str(caught.value).endswith("(gave up after 3 attempts)")
    assert caught.value.maybe_applied is False  # it never reached the remote
    assert no_httpx_error_in(caught.value)


def test_a_read_timeout_is_metered_and_the_read_is_sent_again(scripted_server):
    scripted_server.plan(Reply(200, {"late": True}, delay=1.0), Reply(200, {"ok": True}))
    meter = Meter()
    client = client_for(scripted_server.url, meter=meter, read_timeout=0.3)

    assert client.get("/orders", endpoint="GET /orders") == {"ok": True}

    assert [(c.platform, c.status) for c in meter] == [(PLATFORM, None), (PLATFORM, 200)]
    assert meter[0].error.startswith("ReadTimeout")
    assert len(scripted_server.seen) == 2


def test_a_read_timeout_on_every_attempt_is_a_remote_timeout(scripted_server):
    scripted_server.plan(*[Reply(delay=0.6)] * 2)
    client = client_for(scripted_server.url, read_timeout=0.2, max_attempts=2)

    with pytest.raises(RemoteTimeout) as caught:
        client.get("/orders", endpoint="GET /orders")

    assert str(caught.value) == ("Acme WMS account 'w1' timed out (waiting for the answer) on "
                                 "GET /orders (gave up after 2 attempts)")
    assert no_httpx_error_in(caught.value)


# --------------------------------------------------------------------------------------------
# Waiting between attempts
# --------------------------------------------------------------------------------------------


def test_retry_after_in_seconds_is_waited_for(scripted_server):
    scripted_server.plan(Reply(429, headers={"Retry-After": "0.4"}), Reply(200, {"ok": True}))
    # The backoff alone would wait a millisecond at most: a longer wait is the server's.
    client = client_for(scripted_server.url, backoff_base=0.001, backoff_cap=0.001)

    assert client.get("/orders", endpoint="GET /orders") == {"ok": True}

    [waited] = gaps(scripted_server)
    assert 0.4 <= waited < 1.4


def test_retry_after_as_an_http_date_is_waited_for(scripted_server):
    # An HTTP date has whole seconds: 1.5 s from now is between 0.5 and 1.5 s away.
    when = email.utils.formatdate(time.time() + 1.5, usegmt=True)
    scripted_server.plan(Reply(429, headers={"Retry-After": when}), Reply(200, {"ok": True}))
    client = client_for(scripted_server.url, backoff_base=0.001, backoff_cap=0.001)

    assert client.get("/orders", endpoint="GET /orders") == {"ok": True}

    [waited] = gaps(scripted_server)
    assert 0.4 <= waited < 2.5


def test_a_retry_after_longer_than_the_maximum_is_not_waited_for(scripted_server):
    scripted_server.plan(Reply(429, headers={"Retry-After": "3600"}))
    client = client_for(scripted_server.url, max_retry_after=10.0)
    started = time.monotonic()

    with pytest.raises(RateLimited) as caught:
        client.get("/orders", endpoint="GET /orders")

    assert time.monotonic() - started < 2.0
    assert caught.value.retry_after == 3600
    assert len(scripted_server.seen) == 1
    assert str(caught.value) == ("Acme WMS account 'w1' is limiting requests on GET /orders; "
                                 "it asked to wait 3600s")


def test_full_jitter_spreads_each_wait_over_zero_to_the_capped_ceiling():
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=2.0)

    for failures in range(1, 9):
        ceiling = min(2.0, 0.5 * 2 ** (failures - 1))
        waits = [policy.backoff(failures) for _ in range(2000)]
        assert all(0 <= wait <= ceiling for wait in waits)
        assert min(waits) < 0.05 * ceiling and max(waits) > 0.95 * ceiling


def test_backoff_waits_between_real_attempts_stay_within_the_cap(scripted_server):
    scripted_server.plan(*[Reply(502)] * 4, Reply(200, {"ok": True}))
    client = client_for(scripted_server.url, max_attempts=5, backoff_base=0.1, backoff_cap=0.15)

    assert client.get("/orders", endpoint="GET /orders") == {"ok": True}

    assert len(gaps(scripted_server)) == 4
    assert all(wait < 0.15 + 0.25 for wait in gaps(scripted_server))  # cap + time to answer


# --------------------------------------------------------------------------------------------
# A write is never sent twice
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply, error", [(Reply(500), RemoteServerError),
                                          (Reply(drop=True), RemoteUnavailable)])
def test_a_post_that_may_have_reached_the_remote_is_not_repeated(scripted_server, reply, error):
    scripted_server.plan(reply)
    meter = Meter()
    client = client_for(scripted_server.url, meter=meter, max_attempts=5)

    with pytest.raises(error) as caught:
        client.request("POST", "/orders", endpoint="POST /orders", json_body={"n": 1},
                       idempotent=False)

    assert len(scripted_server.seen) == 1
    assert len(meter) == 1
    assert caught.value.maybe_applied is True
    assert "gave up" not in str(caught.value)
    assert no_httpx_error_in(caught.value)


def test_a_get_whose_connection_dropped_is_sent_again(scripted_server):
    scripted_server.plan(Reply(drop=True), Reply(200, {"ok": True}))
    meter = Meter()

    assert client_for(scripted_server.url, meter=meter).get("/a", endpoint="GET /a") == {
        "ok": True}

    assert [c.status for c in meter] == [None, 200]


# --------------------------------------------------------------------------------------------
# Translation
# --------------------------------------------------------------------------------------------


def fields_of(body: Any) -> dict[str, list[str]]:
    """A platform's error shape for these tests: ``{"problems": {field: message}}``."""
    problems = body.get("problems") if isinstance(body, dict) else None
    return {key: [value] for key, value in (problems or {}).items()}


@pytest.mark.parametrize("method, endpoint, reply, error, extra", [
    ("POST", "POST /orders", Reply(422, {"problems": {"sku": "unknown"}}),
     RemoteValidationError, {"fields": {"sku": ["unknown"]}, "status": 422}),
    ("POST", "POST /orders", Reply(409, {"problems": {"ref": "taken"}}),
     RemoteValidationError, {"fields": {"ref": ["taken"]}, "status": 409}),
    ("POST", "POST /orders", Reply(400, b"bad"), RemoteValidationError, {"fields": {}}),
    ("GET", "GET /orders", Reply(401), CredentialsRejected, {"read_only": False}),
    ("GET", "GET /orders", Reply(403), CredentialsRejected, {"read_only": False}),
    ("PUT", "PUT /orders/:id", Reply(403), CredentialsRejected, {"read_only": True}),
    ("GET", "GET /orders/:id", Reply(404, {"message": "no"}), RemoteNotFound, {}),
    ("GET", "GET /orders", Reply(404, b"<html>"), AccountNotFound, {}),
    ("GET", "GET /orders", Reply(200, b"<html>"), BadResponse, {"field": "body"}),
    ("GET", "GET /orders", Reply(418, b"teapot"), PlatformError, {"status": 418}),
])
def test_each_answer_becomes_its_error_type_and_is_not_retried(scripted_server, method,
                                                                endpoint, reply, error, extra):
    scripted_server.plan(reply)
    client = client_for(scripted_server.url, error_fields=fields_of)

    with pytest.raises(error) as caught:
        client.request(method, "/orders/1", endpoint=endpoint)

    assert len(scripted_server.seen) == 1  # none of these is retried
    assert {key: getattr(caught.value, key) for key in extra} == extra
    assert no_httpx_error_in(caught.value)


def test_a_404_of_a_record_names_the_subject(scripted_server):
    scripted_server.plan(Reply(404, {"message": "no"}))

    with pytest.raises(RemoteNotFound) as caught:
        client_for(scripted_server.url).get("/orders/9", endpoint="GET /orders/:id",
                                            subject="order 9")

    assert str(caught.value) == "Acme WMS account 'w1' has no order 9 (HTTP 404 on GET /orders/:id)"


def test_no_content_is_none(scripted_server):
    scripted_server.plan(Reply(204, b""))

    assert client_for(scripted_server.url).request("POST", "/orders/1/canceler",
                                                   endpoint="POST /orders/:id/canceler") is None


def test_a_rate_limit_reported_in_a_2xx_body_is_waited_for_and_retried(scripted_server):
    def credits(body: Any) -> PlatformError | None:
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors and errors[0].get("code") == 30:
            return RateLimited("not enough credits", retry_after=float(errors[0]["wait"]))
        return None

    scripted_server.plan(Reply(200, {"errors": [{"code": 30, "wait": 0.3}]}),
                         Reply(200, {"data": {"ok": True}}))
    client = client_for(scripted_server.url, answer_error=credits, backoff_base=0.001)

    body = client.request("POST", "/graphql", endpoint="POST /graphql", idempotent=False,
                          json_body={"query": "mutation"})

    assert body == {"data": {"ok": True}}
    [waited] = gaps(scripted_server)
    assert waited >= 0.3


# --------------------------------------------------------------------------------------------
# The secret
# --------------------------------------------------------------------------------------------


def exception_texts(error: BaseException) -> list[str]:
    """str, repr, attributes and the formatted traceback of an error and all chained to it."""
    texts = ["".join(traceback.format_exception(error))]
    for link in [error, *chained(error)]:
        texts += [str(link), repr(link), repr(vars(link))]
    return texts


PLACEMENTS = {
    "header": (in_header("X-API-TOKEN"), lambda seen: seen.headers.get("X-API-TOKEN")),
    "bearer": (in_header("Authorization", "Bearer {}"),
               lambda seen: seen.headers.get("Authorization", "").removeprefix("Bearer ")),
    "query": (in_query("token"), lambda seen: seen.query.get("token", [None])[0]),
}


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_the_secret_never_shows_in_logs_errors_or_the_meter(scripted_server, caplog, placement):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "dropstream"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = make_secret()
    place, sent = PLACEMENTS[placement]
    meter = Meter()
    client = client_for(scripted_server.url, meter=meter, read_timeout=0.3,
                        credentials=Credentials(secret, place), error_fields=fields_of)
    scripted_server.plan(
        Reply(200, {"ok": True}), Reply(500), Reply(200, {"ok": True}),
        Reply(401, {"problems": {"token": f"{secret} is unknown"}}),
        Reply(422, {"problems": {"token": f"token={secret} is unknown"}}),
        Reply(400, f"bad token {secret}".encode()), Reply(404, b""),
        Reply(delay=1.0), Reply(delay=1.0), Reply(delay=1.0))
    errors: list[BaseException] = []

    client.get("/a", endpoint="GET /a")
    client.get("/a", endpoint="GET /a")
    for _ in range(5):
        with pytest.raises(PlatformError) as caught:
            client.request("POST", "/b", endpoint="POST /b", idempotent=False)
        errors.append(caught.value)
    refused = client_for(f"http://127.0.0.1:{closed_port()}", meter=meter,
                         credentials=Credentials(secret, place), max_attempts=1)
    with pytest.raises(PlatformError) as caught:
        refused.get("/a", endpoint="GET /a")
    errors.append(caught.value)

    assert {sent(seen) for seen in scripted_server.seen} == {secret}  # it did go out
    assert {c.status for c in meter} == {200, 500, 401, 422, 400, 404, None}
    logged = [record.getMessage() for record in caplog.records] + [caplog.text]
    assert any("HTTP request:" in line for line in logged)  # the requests were logged
    texts = [text for error in errors for text in exception_texts(error)]
    everything = logged + texts + [repr(call) for call in meter] + [repr(client)]
    assert [text for text in everything if SECRET_MARKER in text] == []


# --------------------------------------------------------------------------------------------
# Renewing credentials
# --------------------------------------------------------------------------------------------


class TokenSource:
    """A ``renew`` hook handing out new tokens and counting calls."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self) -> str:
        self.issued.append(make_secret("fresh"))
        return self.issued[-1]


def bearer_of(seen) -> str:
    return seen.headers.get("Authorization", "").removeprefix("Bearer ")


@pytest.mark.parametrize("method, idempotent", [("GET", True), ("POST", False)])
def test_a_401_renews_the_token_once_and_the_request_succeeds(scripted_server, method,
                                                              idempotent):
    expired, renew = make_secret("old"), TokenSource()
    scripted_server.plan(Reply(401), Reply(200, {"ok": True}))
    meter = Meter()
    client = client_for(scripted_server.url, meter=meter, max_attempts=1, credentials=Credentials(
        expired, in_header("Authorization", "Bearer {}"), renew=renew))

    body = client.request(method, "/orders", endpoint=f"{method} /orders", idempotent=idempotent)

    assert body == {"ok": True}
    assert len(renew.issued) == 1
    assert [bearer_of(seen) for seen in scripted_server.seen] == [expired, renew.issued[0]]
    assert [(c.status, c.attempt) for c in meter] == [(401, 1), (200, 2)]


def test_a_second_401_is_final(scripted_server):
    renew = TokenSource()
    scripted_server.plan(Reply(401), Reply(401))
    client = client_for(scripted_server.url, credentials=Credentials(
        make_secret("old"), in_header("Authorization", "Bearer {}"), renew=renew))

    with pytest.raises(CredentialsRejected) as caught:
        client.get("/orders", endpoint="GET /orders")

    assert len(renew.issued) == 1
    assert len(scripted_server.seen) == 2
    assert caught.value.status == 401
    assert str(caught.value) == ("Acme WMS account 'w1' rejected the credentials (HTTP 401). "
                                 "Check them in the connection's settings.")


def test_credentials_without_a_token_fetch_one_before_the_first_request(scripted_server):
    renew = TokenSource()
    client = client_for(scripted_server.url, credentials=Credentials(
        "", in_header("Authorization", "Bearer {}"), renew=renew))

    client.get("/orders", endpoint="GET /orders")
    client.get("/orders", endpoint="GET /orders")

    assert len(renew.issued) == 1
    assert [bearer_of(seen) for seen in scripted_server.seen] == renew.issued * 2


def test_exchange_sends_request_headers_and_returns_the_answer_headers(scripted_server):
    scripted_server.plan(Reply(200, {"id": 9}, headers={"ETag": '"AAAA"'}))

    body, headers = client_for(scripted_server.url).exchange(
        "GET", "/orders/9", endpoint="GET /orders/:id", headers={"If-Match": '"ZZZ"'})

    assert body == {"id": 9} and headers["ETag"] == '"AAAA"'
    assert scripted_server.seen[0].headers["If-Match"] == '"ZZZ"'

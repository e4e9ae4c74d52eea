"""Log redaction: tokens in URLs and headers, and secrets that are themselves request paths."""

from __future__ import annotations

import io
import logging

import pytest
from django.test import Client

from dropstream.logs import RedactingFilter, redact
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret


def test_tokens_in_queries_headers_and_urls_are_redacted():
    text = ("GET https://acme.mybrightsites.com/api/v2.6.1/orders?token=abc123&page=2 "
            "X-API-TOKEN: abc123 sftp://wh1:pa55@host Authorization: Bearer eyJ.x.y")
    out = redact(text)
    assert "abc123" not in out and "pa55" not in out and "eyJ" not in out
    assert "page=2" in out and "sftp://wh1:[redacted]@host" in out


# ---------------------------------------------------------------- secrets in request paths ----


@pytest.fixture
def production_log() -> io.StringIO:
    """What the configured console handler (settings.LOGGING) writes, captured."""
    handler = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler
                   and any(isinstance(f, RedactingFilter) for f in h.filters))
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        yield captured
    finally:
        handler.setStream(previous)


def test_secrets_in_request_paths_never_reach_the_log(db, store, production_log, leak_catcher):
    # Given a store with a Push Orders secret, when requests for secret-bearing paths answer
    # 4xx, Django logs each path ("Not Found: /hooks/brightsites/…"): the secret must not stay.
    store.push_secret = make_secret("push")
    store.save(update_fields=["push_secret"])
    leaks_before = list(leak_catcher.leaks)
    client = Client()
    link = make_secret("link")
    answers = [
        client.post(f"/hooks/brightsites/{make_secret('guess')}", b"{}",
                    content_type="application/json").status_code,
        client.get(f"/hooks/brightsites/{store.push_secret}").status_code,
        client.post(f"/hooks/brightsites/{store.push_secret}", b"not json",
                    content_type="application/json").status_code,
        client.get(f"/credentials/{link}/").status_code,
        client.get(f"/welcome/MQ/{make_secret('reset')}/x").status_code,
    ]
    assert answers == [404, 405, 400, 410, 404]

    written = production_log.getvalue()
    assert SECRET_MARKER not in written
    assert written.count("Not Found: /hooks/brightsites/[redacted]") == 1
    assert "Method Not Allowed (GET): /hooks/brightsites/[redacted]" in written
    assert "Bad Request: /hooks/brightsites/[redacted]" in written
    assert "Gone: /credentials/[redacted]/" in written
    assert "Not Found: /welcome/MQ/[redacted]/x" in written
    assert leak_catcher.leaks == leaks_before


def test_path_redaction_keeps_the_rest_of_the_line():
    assert redact("Not Found: /hooks/brightsites/abcDEF-123_x") == (
        "Not Found: /hooks/brightsites/[redacted]")
    assert redact('"GET /credentials/tok123/?next=1 HTTP/1.1" 410') == (
        '"GET /credentials/[redacted]/?next=1 HTTP/1.1" 410')
    assert redact("/welcome/MQ/set-password/") == "/welcome/MQ/set-password/"
    assert redact("/connections/4/credential-link/") == "/connections/4/credential-link/"


def test_django_request_and_server_logs_go_only_through_the_redacting_console():
    for name in ("django", "django.server"):
        logger = logging.getLogger(name)
        assert logger.handlers == [], name
        assert logger.propagate is True, name

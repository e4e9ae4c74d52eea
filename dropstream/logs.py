"""Logging helpers: a filter that redacts secrets, and a one-JSON-object-per-line formatter."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# token=…, api_token=…, X-API-TOKEN: …, and user:password@ in URLs.
_TOKEN_QUERY = re.compile(r"(?i)((?:api_)?token=)[^&\s'\"]+")
_TOKEN_HEADER = re.compile(r"(?i)(x-api-token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+")
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# Paths whose segment is the credential itself: the Push Orders URL, a one-time credential
# link and an invitation's password link. Django logs the path of every 4xx/5xx answer
# ("Not Found: /hooks/brightsites/…"), and a wrong guess is as secret as a right one.
_SECRET_PATH = re.compile(
    r"(/hooks/brightsites/|/credentials/|/welcome/[^/\s]+/)(?!set-password/)[^/\s?#'\"]+")

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Return ``text`` with tokens in queries, headers, bearer values, URL passwords and
    secret-bearing paths hidden."""
    text = _SECRET_PATH.sub(r"\1" + REDACTED, text)
    text = _TOKEN_QUERY.sub(r"\1" + REDACTED, text)
    text = _TOKEN_HEADER.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    return _URL_PASSWORD.sub(r"\1" + REDACTED + "@", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and exception text) through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


CONTEXT_FIELDS = ("connection_id", "channel", "run_id", "store_id", "warehouse_id", "order_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            if hasattr(record, field):
                payload[field] = getattr(record, field)
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, default=str)

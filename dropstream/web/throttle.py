"""Login throttling: after ``MAX_FAILURES`` failed log-ins for one e-mail from one address within
``WINDOW``, further attempts (even with the right password) are refused until the window ends.

Counted in Django's cache (per process with the default local-memory cache, shared when a
shared cache is configured). The key is a hash, so e-mails never sit in the cache in clear.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

MAX_FAILURES = 5
WINDOW = 15 * 60  # seconds


def _key(email: str, ip: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def client_ip(request) -> str:
    """The peer address. Forwarded headers are not trusted: anyone could forge them."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def seconds_locked(email: str, ip: str) -> int:
    """Seconds until ``email`` may try again from ``ip``; 0 when not locked."""
    record = cache.get(_key(email, ip))
    if not record or record["count"] < MAX_FAILURES:
        return 0
    return max(0, int(record["first"] + WINDOW - time.time()))


def record_failure(email: str, ip: str) -> int:
    """Count one failure and return the count within the current window."""
    key = _key(email, ip)
    now = time.time()
    record = cache.get(key)
    if not record or now - record["first"] >= WINDOW:
        record = {"first": now, "count": 0}
    record["count"] += 1
    cache.set(key, record, timeout=int(record["first"] + WINDOW - now) + 1)
    return record["count"]


def clear(email: str, ip: str) -> None:
    cache.delete(_key(email, ip))

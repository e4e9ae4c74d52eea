"""Log-in throttling for the sign-in page, the admin's log-in and ``POST /api/auth/token``.

Two limits, counted apart: failures for one account (its e-mail) from any address, and failures
from one address (an IPv6 caller: its /64, which one subscriber usually holds whole) for any
e-mail. ``LOGIN_FAILURES_PER_ACCOUNT`` (5) or ``LOGIN_FAILURES_PER_ADDRESS`` (20) failures within
``LOGIN_LOCK_SECONDS`` (15 minutes, counted from the first failure) lock that account or that
address for ``LOGIN_LOCK_SECONDS``: further attempts, even with the right password, are refused
without checking it. A pair key alone let one address try every account, and many addresses
one account.

Counted in Django's cache, which settings makes shared — the database cache table embedded,
Redis scaled out — so every process and host sees one count. Each failure is ``add`` then
``incr``: atomic on Redis and on ``dropstream.cache.AtomicDatabaseCache``, never
read-then-write, so guesses sent in parallel are all counted. Keys hold hashes: no e-mail or
address sits in the cache in clear.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from dropstream.web.security import client_address

IPV6_PREFIX = 64


@dataclass(frozen=True)
class Subject:
    """One thing that is counted and locked: an account (normalised e-mail) or an address."""

    kind: str  # "account" or "address"
    value: str

    @property
    def limit(self) -> int:
        if self.kind == "account":
            return settings.LOGIN_FAILURES_PER_ACCOUNT
        return settings.LOGIN_FAILURES_PER_ADDRESS

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.kind}|{self.value}".encode()).hexdigest()

    @property
    def counter_key(self) -> str:
        return f"login-failures:{self.digest}"

    @property
    def lock_key(self) -> str:
        return f"login-locked:{self.digest}"


def client_ip(request: HttpRequest) -> str:
    """The address the throttle counts for ``request``: the caller (see ``client_address``;
    forwarded headers count only behind a proxy), an IPv6 caller's /64, or "unknown"."""
    address = client_address(request)
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def _account(email: str) -> Subject:
    return Subject("account", email.strip().lower())


def _subjects(email: str, ip: str) -> list[Subject]:
    """The account (unless no e-mail was given) and the address."""
    account = _account(email)
    return [account, Subject("address", ip)] if account.value else [Subject("address", ip)]


def seconds_locked(email: str, ip: str) -> int:
    """Seconds until ``email`` may try again from ``ip``; 0 when neither is locked."""
    until = cache.get_many([s.lock_key for s in _subjects(email, ip)]).values()
    return max([0, *(math.ceil(value - time.time()) for value in until)])


def _increment(key: str, timeout: int) -> int:
    """Count one at ``key``, which lives ``timeout`` seconds from its first count."""
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # it expired between add and incr: this is a new first failure
        cache.add(key, 0, timeout=timeout)
        count = cache.incr(key)
    if count == 1:
        # Redis's INCR on a key that expired a moment before re-creates it without expiry;
        # the first count always (re)sets it, so no counter outlives its window.
        cache.touch(key, timeout=timeout)
    return count


def record_failure(email: str, ip: str) -> None:
    """Count one failed log-in against the account and the address; lock either at its limit."""
    window = settings.LOGIN_LOCK_SECONDS
    for subject in _subjects(email, ip):
        if _increment(subject.counter_key, window) >= subject.limit:
            cache.set(subject.lock_key, time.time() + window, timeout=window)


def clear(email: str, ip: str) -> None:
    """After a successful log-in: forget the account's failures. Not the address's: a guesser
    with an account of its own could otherwise reset its address between guesses."""
    cache.delete(_account(email).counter_key)


def failure_counts(email: str, ip: str) -> tuple[int, int]:
    """(failures counted for the account, for the address) in their current windows."""
    keys = (_account(email).counter_key, Subject("address", ip).counter_key)
    values = cache.get_many(keys)
    return values.get(keys[0], 0), values.get(keys[1], 0)


def locked_message(wait: int) -> str:
    """What the log-in pages say while an account or address is locked."""
    minutes = max(1, (wait + 59) // 60)
    # Not "ask for a new password": a new password does not lift the lock, only time does.
    return f"Too many failed log-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."

"""One writer of a store's stock at a time (issue 16).

The run lock is per (connection, channel), but a store with several warehouses has one
connection each, and each connection's inventory run writes the store-wide sum. Without a
store-level lock the race is concrete: A computes 12 (its 5 + B's 7), B's new level 3 arrives,
B computes and writes 8, then A writes its stale 12 and records it as the smart-sync baseline,
so nothing corrects it until the next change. Under this lock, computing the sum, writing it
and recording the baseline happen for one connection of the store at a time.

The lock is held by the database session (PostgreSQL advisory lock) or the process (an
exclusive ``flock`` on a file beside the SQLite database): a run that dies releases it with its
connection or process, so no lease is needed and a crash never blocks the store's stock.
"""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from dropstream.platforms.errors import TransientError

# The advisory lock's first key, shared by every store lock (PostgreSQL's two-key form).
_LOCK_CLASS = zlib.crc32(b"dropstream.store_stock") & 0x7FFFFFFF
_POLL_SECONDS = 0.05


class StoreStockBusy(TransientError):
    """Another connection of the store kept writing its stock for longer than the wait: the
    run fails and the next one retries."""


@contextmanager
def store_stock_lock(store_id: int, *, wait_seconds: float = 60.0) -> Iterator[None]:
    """Hold the store's stock lock for the block; waits up to ``wait_seconds`` for it.

    Raises StoreStockBusy when another holder kept it all that time.
    """
    if connection.vendor == "postgresql":
        with _advisory_lock(store_id, wait_seconds):
            yield
    else:
        with _file_lock(store_id, wait_seconds):
            yield


def _busy(store_id: int, wait_seconds: float) -> StoreStockBusy:
    return StoreStockBusy(f"another connection of store {store_id} has been writing the "
                          f"store's stock for over {wait_seconds:g} s; the next run retries")


@contextmanager
def _advisory_lock(store_id: int, wait_seconds: float) -> Iterator[None]:
    # Session-level, not transaction-level: the block records intents that must commit before
    # the store is written, so it cannot run inside one transaction.
    key = (_LOCK_CLASS, store_id & 0x7FFFFFFF)
    deadline = time.monotonic() + wait_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise _busy(store_id, wait_seconds)
            time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def _lock_path(store_id: int) -> Path:
    """A file beside the SQLite database (every process using that database sees it)."""
    name = str(connection.settings_dict.get("NAME") or "")
    folder = Path(name).parent if name and name != ":memory:" and "mode=memory" not in name \
        else Path(settings.HOME)
    return folder / f".store-stock-{store_id}.lock"


@contextmanager
def _file_lock(store_id: int, wait_seconds: float) -> Iterator[None]:
    path = _lock_path(store_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Each hold opens the file anew: flock excludes other open files, in this process too, so
    # two worker threads exclude each other like two processes do.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(store_id, wait_seconds) from None
                time.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)

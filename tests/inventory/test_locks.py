"""The store's stock lock: one holder at a time, in this process too; a waiter gives up with a
retryable error (issue 16)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection as db_connection

from dropstream.inventory.locks import StoreStockBusy, store_stock_lock
from dropstream.platforms.errors import TransientError

# No rows are needed: the lock is a PostgreSQL advisory lock or a file beside the SQLite database.
pytestmark = pytest.mark.django_db
STORE = 424_242


def hold_in_thread(store_id: int, held: threading.Event, release: threading.Event) -> None:
    try:
        with store_stock_lock(store_id):
            held.set()
            release.wait(10)
    finally:
        db_connection.close()


def test_a_second_holder_waits_then_gives_up_with_a_retryable_error():
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_in_thread, args=(STORE, held, release))
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(StoreStockBusy) as busy, store_stock_lock(STORE, wait_seconds=0.2):
            pass
        assert isinstance(busy.value, TransientError)
        assert f"store {STORE}" in str(busy.value)
        with store_stock_lock(STORE + 1, wait_seconds=0.2):
            pass  # another store's lock is free
    finally:
        release.set()
        holder.join(10)
    with store_stock_lock(STORE, wait_seconds=0.2):
        pass  # released by the holder


def test_a_waiter_gets_the_lock_once_the_holder_releases_it():
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_in_thread, args=(STORE, held, release))
    holder.start()
    assert held.wait(10)
    threading.Timer(0.2, release.set).start()

    with store_stock_lock(STORE, wait_seconds=10):
        assert release.is_set()  # not before the holder was told to let go
    holder.join(10)

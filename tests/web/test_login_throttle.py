"""Log-in throttling (issue 18 #6): per account and per address separately, the admin's log-in
too, counted in the shared cache (the database cache here) so that every process and thread
sees one count."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.db import connection as db_connection
from django.test import Client

from dropstream.web import throttle
from tests.fixtures.processes import ROOT, database_url

RIGHT = "pw-admin-1"  # admin_user's password


def attempt(path: str, email: str, password: str, address: str = "127.0.0.1") -> int:
    """One log-in POST from ``address``; the answer's status."""
    return Client(REMOTE_ADDR=address).post(path, {"username": email,
                                                   "password": password}).status_code


def test_the_admin_log_in_is_throttled_too(admin_user):
    for _ in range(5):
        assert attempt("/admin/login/", "admin@example.com", "wrong") == 200
    client = Client()
    locked = client.post("/admin/login/", {"username": "admin@example.com", "password": RIGHT,
                                           "next": "/admin/"})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # The two log-in pages share one count: the hub's page is locked as well.
    assert attempt("/login/", "admin@example.com", RIGHT) == 429


def test_the_admin_log_in_still_works_and_clears_the_account(admin_user):
    for _ in range(4):
        attempt("/admin/login/", "admin@example.com", "wrong")
    client = Client()
    response = client.post("/admin/login/", {"username": "admin@example.com", "password": RIGHT,
                                             "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    assert throttle.failure_counts("admin@example.com", "127.0.0.1") == (0, 4)


def test_one_address_is_locked_across_different_e_mails(admin_user, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for email in ("a@example.com", "b@example.com"):
        for _ in range(4):  # below the per-account limit of 5
            assert attempt("/login/", email, "wrong", "127.0.0.1") == 200
    assert attempt("/login/", "admin@example.com", RIGHT, "127.0.0.1") == 429
    assert attempt("/admin/login/", "admin@example.com", RIGHT, "127.0.0.1") == 429
    # Another address is not locked, and the account itself is not.
    assert attempt("/login/", "admin@example.com", RIGHT, "127.0.0.2") == 302


def test_one_account_is_locked_across_different_addresses(admin_user):
    for n in range(1, 6):
        assert attempt("/login/", "admin@example.com", "wrong", f"127.0.0.{n}") == 200
    assert attempt("/login/", "admin@example.com", RIGHT, "127.0.0.6") == 429
    assert attempt("/login/", "Admin@Example.com ", RIGHT, "127.0.0.7") == 429
    # Somebody else's account from one of those addresses is not locked.
    assert attempt("/login/", "other@example.com", "wrong", "127.0.0.1") == 200


def test_ipv6_callers_are_counted_by_their_64_bit_network(admin_user, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for n in range(1, 4):  # three addresses of one /64, three different e-mails
        assert attempt("/login/", f"u{n}@example.com", "wrong", f"2001:db8:0:1::{n}") == 200
    assert attempt("/login/", "admin@example.com", RIGHT, "2001:db8:0:1::99") == 429
    assert attempt("/login/", "admin@example.com", RIGHT, "2001:db8:0:2::1") == 302


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_from_many_threads_are_all_counted(admin_user):
    # Each thread has its own database connection, as separate processes would: the cache's
    # increment must be atomic, or parallel guesses read the same count and undercount.
    threads, per_thread = 4, 10
    barrier = threading.Barrier(threads)

    def guess() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                throttle.record_failure("target@example.com", "127.0.0.1")
        finally:
            db_connection.close()

    workers = [threading.Thread(target=guess) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert throttle.failure_counts("target@example.com", "127.0.0.1") == (40, 40)


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_count(admin_user):
    # Three failures in each of two other processes: neither reached 5 on its own, together
    # they did, and this process sees the lock.
    script = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dropstream.settings';"
              "django.setup();"
              "from dropstream.web import throttle;"
              "[throttle.record_failure('admin@example.com', '127.0.0.%s' % n) for n in (1, 2, 3)]")
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT)
                 for _ in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    assert throttle.failure_counts("admin@example.com", "127.0.0.9") == (6, 0)
    assert attempt("/login/", "admin@example.com", RIGHT, "127.0.0.9") == 429


REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.redis
@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_scaled_out_the_count_lives_in_redis_and_is_shared(settings):
    # Scaled out (DROPSTREAM_QUEUE_URL=redis://…) the cache is Redis: threads here and another
    # process count into one key. A private e-mail and address keep parallel runs apart.
    import uuid

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": "dropstream"}}
    email, ip = f"{uuid.uuid4().hex}@example.com", f"127.0.{uuid.uuid4().int % 250}.1"
    try:
        workers = [threading.Thread(target=lambda: [throttle.record_failure(email, ip)
                                                    for _ in range(10)]) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        script = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dropstream.settings';"
                  "django.setup(); from dropstream.web import throttle;"
                  f"throttle.record_failure({email!r}, {ip!r})")
        env = {**os.environ, "DROPSTREAM_CACHE_URL": REDIS_URL, "DATABASE_URL": database_url(),
               "PYTHONPATH": str(ROOT)}
        assert subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                              timeout=120).returncode == 0
        assert throttle.failure_counts(email, ip) == (31, 31)
        assert 0 < throttle.seconds_locked(email, "127.0.0.1") <= settings.LOGIN_LOCK_SECONDS
    finally:
        from django.core.cache import cache

        keys = [s.counter_key for s in throttle._subjects(email, ip)]
        cache.delete_many(keys + [s.lock_key for s in throttle._subjects(email, ip)])

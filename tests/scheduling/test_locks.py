"""The run lease as the flows see it (``Held.check``) and as the keeper thread renews it: by
the wall clock, so a process that slept (a laptop lid, SIGSTOP) notices its lease ran out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection as db_connection

from dropstream.scheduling import locks
from dropstream.scheduling.models import Run, RunState
from dropstream.sync.errors import RunStopped

LEASE = 120


def _claimed(sales, fake_clock, worker: str = "host:1:aaaa:1") -> tuple[Run, locks.Held]:
    run = Run.objects.create(connection=sales.connection, channel=sales,
                             channel_type=sales.type, queued_at=fake_clock.at)
    assert locks.claim_run(run.pk, worker, lease_seconds=LEASE,
                           now=fake_clock.at) == locks.Claim.CLAIMED
    return run, locks.Held(run.pk, worker, LEASE,
                           expires_at=fake_clock.at + timedelta(seconds=LEASE))


def test_a_healthy_lease_lets_the_run_go_on_without_touching_the_database(
        sales, fake_clock, django_assert_num_queries):
    _, held = _claimed(sales, fake_clock)
    fake_clock.advance(seconds=LEASE / 2)
    with django_assert_num_queries(0):
        held.check()


def test_after_a_sleep_past_the_lease_the_run_renews_it_before_its_next_request(
        sales, fake_clock):
    run, held = _claimed(sales, fake_clock)
    fake_clock.advance(minutes=10)  # the process slept; nobody took the run meanwhile

    held.check()

    run.refresh_from_db()
    assert run.lease_until == fake_clock.at + timedelta(seconds=LEASE)
    assert held.expires_at == run.lease_until
    assert not held.lost


def test_after_a_sleep_a_run_taken_over_meanwhile_stops_before_its_next_request(
        sales, fake_clock):
    run, held = _claimed(sales, fake_clock)
    fake_clock.advance(minutes=10)
    assert locks.claim_run(run.pk, "host:2:bbbb:1", lease_seconds=LEASE,
                           now=fake_clock.at) == locks.Claim.CLAIMED

    with pytest.raises(RunStopped, match="another worker took the run over"):
        held.check()
    assert held.lost
    with pytest.raises(RunStopped):  # and stays stopped
        held.check()
    run.refresh_from_db()
    assert (run.worker, run.state, run.attempt) == ("host:2:bbbb:1", RunState.RUNNING, 2)


def test_the_keeper_renews_by_the_wall_clock_not_the_monotonic_one(sales, fake_clock):
    run, held = _claimed(sales, fake_clock)
    keeper = locks.LeaseKeeper()
    keeper._held[run.pk] = held
    assert keeper.renew_due() is False  # just claimed: nothing due
    fake_clock.advance(seconds=LEASE / 3 + 1)  # a third of the lease on the wall clock

    assert keeper.renew_due() is True

    run.refresh_from_db()
    assert run.lease_until == fake_clock.at + timedelta(seconds=LEASE)


def test_a_stop_check_on_another_thread_never_renews_and_stops_near_the_leases_end(
        sales, fake_clock):
    run, held = _claimed(sales, fake_clock)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(held.check).result()  # a poster early in the lease: no database work
        # Past the lease (a process woken from a sleep): it cannot renew, so it must not
        # start a request that could land after a takeover.
        fake_clock.advance(minutes=10)
        with pytest.raises(RunStopped, match="cannot renew"):
            pool.submit(held.check).result()
        held.mark_lost("another worker took the run over")
        with pytest.raises(RunStopped, match="took the run over"):
            pool.submit(held.check).result()
    run.refresh_from_db()
    assert run.lease_until == held.expires_at  # unchanged: the other thread did not renew


@pytest.mark.postgres
@pytest.mark.skipif(db_connection.vendor != "postgresql",
                    reason="a server-side disconnect needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_after_its_database_connection_breaks_the_keeper_reconnects_and_renews(
        sales, fake_clock):
    run, held = _claimed(sales, fake_clock)
    keeper = locks.LeaseKeeper()
    keeper._held[run.pk] = held
    with ThreadPoolExecutor(1) as keeper_thread:  # one thread: the keeper's own connection
        fake_clock.advance(seconds=LEASE / 2)
        assert keeper_thread.submit(keeper.renew_due).result() is True
        backend = keeper_thread.submit(lambda: db_connection.connection.info.backend_pid
                                       ).result()
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        fake_clock.advance(seconds=LEASE / 2)
        keeper_thread.submit(keeper.renew_due).result()  # fails, logged, connection closed
        assert not held.lost
        run.refresh_from_db()
        assert run.lease_until < fake_clock.at + timedelta(seconds=LEASE)

        fake_clock.advance(seconds=1)
        assert keeper_thread.submit(keeper.renew_due).result() is True
        keeper_thread.submit(lambda: db_connection.close()).result()
    run.refresh_from_db()
    assert run.lease_until == fake_clock.at + timedelta(seconds=LEASE)


def test_a_run_under_a_live_lease_is_never_taken_over(sales, fake_clock):
    run, _ = _claimed(sales, fake_clock)
    fake_clock.advance(seconds=LEASE - 1)  # one second before the lease ends

    assert locks.claim_run(run.pk, "host:2:bbbb:1", lease_seconds=LEASE,
                           now=fake_clock.at) == locks.Claim.HELD
    run.refresh_from_db()
    assert (run.worker, run.attempt) == ("host:1:aaaa:1", 1)

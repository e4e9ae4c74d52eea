"""One run per (connection, channel) at a time, on one host or many (invariant 2).

The lock is the Run row itself: a worker claims a run with one conditional UPDATE that expects
one row (healthchecks ``sendalerts``), never check-then-set. Two guards make it safe:

* ``state = 'queued'`` in the WHERE clause: of two workers handed the same run (a re-sent queue
  message), exactly one gets rowcount 1.
* the partial unique constraint ``run_one_running_per_channel``: of two *different* runs of the
  same channel, the second UPDATE to ``running`` fails with IntegrityError → BUSY. PostgreSQL
  makes it wait for the first transaction, so there is no window between two hosts.

A claim is a lease (``lease_until``) that a heartbeat thread pushes forward. A worker that dies
stops renewing; after the lease lapses another worker takes the same run over with a second
conditional UPDATE (``state = 'running' AND lease_until < now``), and every later write of the
dead worker names its old ``worker`` id and matches no row.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Q

from dropstream.scheduling import clock
from dropstream.scheduling.models import Run, RunState
from dropstream.sync.errors import RunStopped

logger = logging.getLogger("dropstream.scheduling.locks")

_PROCESS_TOKEN = uuid.uuid4().hex[:8]


class Claim(StrEnum):
    CLAIMED = "claimed"  # this worker now runs it
    BUSY = "busy"  # another run of the same channel is running; wait for the hand-off
    HELD = "held"  # another worker holds this run under a live lease
    LATER = "later"  # queued for a retry whose time has not come
    GONE = "gone"  # no such run, or it already finished


def worker_id() -> str:
    """This thread's identity in ``Run.worker``: host, pid, a per-process token, thread."""
    return (f"{socket.gethostname()[:60]}:{os.getpid()}:{_PROCESS_TOKEN}:"
            f"{threading.get_ident() % 100000}")


def claim_run(run_id: int, worker: str, *, lease_seconds: int, now: datetime | None = None
              ) -> Claim:
    """Try to take ``run_id`` for ``worker``; returns what happened (never raises for a race).

    On CLAIMED the run is RUNNING, ``attempt`` is one higher and the lease runs to
    ``now + lease_seconds``.
    """
    now = now or clock.now()
    claimable = (
        Q(state=RunState.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
        | Q(state=RunState.RUNNING, lease_until__lt=now)
    )
    update = Run.objects.filter(claimable, pk=run_id)
    values = {"state": RunState.RUNNING, "worker": worker, "started_at": now,
              "heartbeat_at": now, "lease_until": now + timedelta(seconds=lease_seconds),
              "attempt": F("attempt") + 1}
    try:
        if connection.in_atomic_block:
            # A failed statement would poison the caller's transaction on PostgreSQL.
            with transaction.atomic():
                claimed = update.update(**values)
        else:
            claimed = update.update(**values)
    except IntegrityError:
        return Claim.BUSY
    if claimed == 1:
        return Claim.CLAIMED
    row = Run.objects.filter(pk=run_id).values("state", "not_before").first()
    if row is None or row["state"] not in (RunState.QUEUED, RunState.RUNNING):
        return Claim.GONE
    if row["state"] == RunState.QUEUED:
        return Claim.LATER
    return Claim.HELD


def renew_lease(run_id: int, worker: str, *, lease_seconds: int,
                now: datetime | None = None) -> bool:
    """Push the lease forward; False when ``worker`` no longer holds the run."""
    now = now or clock.now()
    return Run.objects.filter(pk=run_id, worker=worker, state=RunState.RUNNING).update(
        heartbeat_at=now, lease_until=now + timedelta(seconds=lease_seconds)) == 1


def release_run(run_id: int, holder: str, **values) -> bool:
    """Write the run's outcome (``state`` and fields in ``values``) if ``holder`` still holds it.

    Returns False when the lease was lost to another worker: then this outcome is dropped,
    because the other worker's attempt is the one that counts.
    """
    return Run.objects.filter(pk=run_id, worker=holder, state=RunState.RUNNING).update(
        **values) == 1


class Held:
    """A run this process executes under a lease, renewed by the keeper thread.

    ``expires_at`` is the lease end this process last wrote (wall clock, like ``lease_until``
    in the database: a renewal schedule on the monotonic clock, which stops while a laptop
    sleeps, let the lease lapse unnoticed). ``check`` is the run's stop check: the flows call
    it before every request to a store or warehouse.
    """

    def __init__(self, run_id: int, worker: str, lease_seconds: int,
                 expires_at: datetime | None = None) -> None:
        self.run_id, self.worker, self.lease_seconds = run_id, worker, lease_seconds
        self.expires_at = expires_at or clock.now() + timedelta(seconds=lease_seconds)
        self.lost = False
        self.reason = ""
        self._lock = threading.Lock()
        self._owner = threading.get_ident()

    @property
    def margin(self) -> timedelta:
        """Lease time a run must still have before it starts a request: a third of the lease,
        longer than any request's timeout, so an effect in flight ends before a takeover."""
        return timedelta(seconds=self.lease_seconds / 3)

    def renewal_due(self, now: datetime) -> bool:
        """Renew every third of the lease: two thirds of it are left after each renewal."""
        return not self.lost and now >= self.expires_at - timedelta(
            seconds=self.lease_seconds * 2 / 3)

    def renew(self, now: datetime | None = None) -> bool:
        """Push the lease forward now; False (and ``lost``) when another worker holds the run.
        Raises what the database raises."""
        now = now or clock.now()
        if renew_lease(self.run_id, self.worker, lease_seconds=self.lease_seconds, now=now):
            with self._lock:
                self.expires_at = max(self.expires_at,
                                      now + timedelta(seconds=self.lease_seconds))
            return True
        self.mark_lost("another worker took the run over")
        return False

    def mark_lost(self, reason: str) -> None:
        with self._lock:
            if not self.lost:
                self.lost, self.reason = True, reason

    def check(self) -> None:
        """Raise RunStopped unless this process surely still holds the run.

        On the run's own thread a lease near its end (the keeper could not renew: a broken
        database connection, a process that slept) is renewed here first. Other threads (the
        import's detail readers, the shipment posters) cannot renew it, so near its end they
        start no request: a process woken from a sleep must not post once more before it
        learns that another worker took the run over.
        """
        if self.lost:
            raise RunStopped(f"run {self.run_id} stopped: {self.reason}")
        now = clock.now()
        if now + self.margin < self.expires_at:
            return
        if threading.get_ident() != self._owner:
            raise RunStopped(f"run {self.run_id} stopped: its lease is near its end and this "
                             "thread cannot renew it")
        try:
            renewed = self.renew(now)
        except Exception as exc:  # noqa: BLE001 — whatever it is, the lease is not confirmed
            self.mark_lost(f"its lease could not be renewed ({type(exc).__name__}: {exc})")
            raise RunStopped(f"run {self.run_id} stopped: {self.reason}") from exc
        if not renewed:
            raise RunStopped(f"run {self.run_id} stopped: {self.reason}")


class LeaseKeeper:
    """One daemon thread per process renews the leases of every run the process executes,
    each every third of its lease, by the wall clock. It touches the database only when a
    renewal is due, so short runs never open a second connection; it closes its connection when
    idle, and after any failed renewal, so a broken connection is replaced on the next try."""

    def __init__(self) -> None:
        self._held: dict[int, Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, run_id: int, worker: str, lease_seconds: int,
             expires_at: datetime | None = None) -> Iterator[Held]:
        held = Held(run_id, worker, lease_seconds, expires_at)
        with self._lock:
            self._held[run_id] = held
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="lease-keeper",
                                                daemon=True)
                self._thread.start()
        try:
            yield held
        finally:
            with self._lock:
                self._held.pop(run_id, None)

    def renew_due(self) -> bool:
        """Renew every lease that is due; returns whether any database work was done."""
        now = clock.now()
        with self._lock:
            due = [h for h in self._held.values() if h.renewal_due(now)]
        for held in due:
            try:
                if not held.renew(now):
                    logger.error("run %s: lease lost to another worker", held.run_id,
                                 extra={"run_id": held.run_id})
            except Exception:  # noqa: BLE001 — a failed renewal must not stop the others
                logger.exception("run %s: lease renewal failed; retrying with a new database "
                                 "connection", held.run_id, extra={"run_id": held.run_id})
                _close_connection()
        return bool(due)

    def _seconds_to_next(self) -> float:
        now = clock.now()
        with self._lock:
            waits = [(h.expires_at - timedelta(seconds=h.lease_seconds * 2 / 3) - now)
                     .total_seconds() for h in self._held.values() if not h.lost]
        return min(waits, default=1.0)

    def _loop(self) -> None:
        used_db = False
        while True:
            used_db = self.renew_due() or used_db
            with self._lock:
                idle = not self._held
            if idle and used_db:
                _close_connection()
                used_db = False
            # Short naps: a jump of the wall clock (a suspended laptop) is seen within a second.
            time.sleep(min(max(self._seconds_to_next(), 0.05), 1.0))


def _close_connection() -> None:
    try:
        close_old_connections()
        connection.close()
    except Exception:  # noqa: BLE001 — closing a broken connection may itself fail
        logger.debug("closing the lease keeper's database connection failed", exc_info=True)


KEEPER = LeaseKeeper()

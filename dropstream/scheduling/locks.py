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
    """A run whose lease this process keeps renewing; ``lost`` turns true if a renewal finds
    it taken over by another worker."""

    def __init__(self, run_id: int, worker: str, lease_seconds: int) -> None:
        self.run_id, self.worker, self.lease_seconds = run_id, worker, lease_seconds
        self.interval = max(lease_seconds / 3, 0.2)
        self.due = time.monotonic() + self.interval
        self.lost = False


class LeaseKeeper:
    """One daemon thread per process renews the leases of every run the process executes,
    each every third of its lease. It touches the database only when a renewal is due, so
    short runs never open a second connection, and it closes its connection when idle."""

    def __init__(self) -> None:
        self._held: dict[int, Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, run_id: int, worker: str, lease_seconds: int) -> Iterator[Held]:
        held = Held(run_id, worker, lease_seconds)
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

    def _renew_due(self) -> bool:
        """Renew every lease that is due; returns whether any database work was done."""
        now = time.monotonic()
        with self._lock:
            due = [h for h in self._held.values() if h.due <= now and not h.lost]
        for held in due:
            held.due = now + held.interval
            try:
                if not renew_lease(held.run_id, held.worker, lease_seconds=held.lease_seconds):
                    held.lost = True
                    logger.error("run %s: lease lost to another worker", held.run_id,
                                 extra={"run_id": held.run_id})
            except Exception:  # noqa: BLE001 — a failed renewal must not stop the others
                logger.exception("run %s: lease renewal failed", held.run_id,
                                 extra={"run_id": held.run_id})
        return bool(due)

    def _loop(self) -> None:
        used_db = False
        while True:
            used_db = self._renew_due() or used_db
            with self._lock:
                idle = not self._held
                wait = min((h.due for h in self._held.values()), default=time.monotonic() + 1)
            if idle and used_db:
                close_old_connections()
                connection.close()
                used_db = False
            time.sleep(min(max(wait - time.monotonic(), 0.05), 1.0))


KEEPER = LeaseKeeper()

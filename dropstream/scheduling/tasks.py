"""Queue tasks: how a Run is executed. Workers (``dropstream worker``, or threads of
``dropstream run``) execute ``execute_run_task``; ``sync run`` on the command line calls
``run_in_foreground`` under the same lock. Due channels become Runs in ``dispatch``; the
scheduler's loop is ``scheduler``.

A run's life: QUEUED → (claim) RUNNING → SUCCEEDED | FAILED | QUEUED again for a retry with
backoff, or CANCELED when its channel or connection was switched off before it started.

Waiting on a sick remote happens here, in the queue, not in a worker thread: a run may spend
only ``RUN_RETRY_SLEEP_SECONDS`` in retry waits (``sync.runner.run_channel``), after which it
fails transiently and comes back as QUEUED with ``not_before`` set (issue 17).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.module_loading import import_string
from huey.contrib.djhuey import HUEY, db_task

from dropstream.connections.models import Channel
from dropstream.logs import redact
from dropstream.metering.meter import recover_journals
from dropstream.scheduling import clock, locks
from dropstream.scheduling.models import Run, RunState, RunTrigger
from dropstream.sync.errors import RunStopped

logger = logging.getLogger("dropstream.scheduling")
# The longest Retry-After a run's retry waits for: a remote asking for more is asked again then.
MAX_RETRY_AFTER = 3600


def log_context(run: Run | dict) -> dict[str, Any]:
    """Logging ``extra`` naming the run (JsonFormatter prints these fields)."""
    get = run.get if isinstance(run, dict) else (lambda name: getattr(run, name))
    return {"connection_id": get("connection_id"), "channel": get("channel_type"),
            "run_id": get("id")}


# ---------------------------------------------------------------------------------------------
# Queue
# ---------------------------------------------------------------------------------------------


@db_task(name="dropstream.execute_run")
def execute_run_task(run_id: int) -> None:
    execute_run(run_id)


def enqueue_run(run_id: int, *, delay: float | None = None, mark: bool = True) -> None:
    """Send the queue message for ``run_id`` now (or after ``delay`` seconds); ``mark`` records
    the time in ``enqueued_at`` (runs created with it set pass False).

    A failure to reach the queue is logged, not raised: the run stays QUEUED and the scheduler
    re-sends its message (``resend_lost_runs``).
    """
    try:
        if mark:
            Run.objects.filter(pk=run_id).update(enqueued_at=clock.now())
        if delay:
            execute_run_task.schedule((run_id,), delay=delay)
        else:
            execute_run_task(run_id)
    except Exception:  # noqa: BLE001 — the queue being down must not lose the run
        logger.exception("run %s: could not send the queue message; the scheduler will resend",
                         run_id, extra={"run_id": run_id})


def enqueue_on_commit(run_id: int, *, mark: bool = True) -> None:
    """Send the message once the transaction that created the run commits (saleor events)."""
    transaction.on_commit(lambda: enqueue_run(run_id, mark=mark))


def queue_depth() -> int:
    """Messages waiting in the queue (-1 when the queue cannot be reached)."""
    try:
        return int(HUEY.pending_count())
    except Exception:  # noqa: BLE001 — metrics must answer even with the queue down
        return -1


# ---------------------------------------------------------------------------------------------
# Executing a run
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _load(path: str) -> Callable[..., Any]:
    return import_string(path)


def run_function() -> Callable[..., Any]:
    """The flow a worker calls (``settings.RUN_FUNCTION``, by default ``run_channel``)."""
    return _load(settings.RUN_FUNCTION)


def retry_delay(attempt: int, retry_after: float | None = None) -> int:
    """Seconds before attempt ``attempt + 1``: base × 4^(attempt−1) (60 s, 4 min, 16 min …),
    or the ``retry_after`` the remote asked for when longer (up to MAX_RETRY_AFTER)."""
    delay = int(settings.RUN_RETRY_SECONDS * 4 ** max(attempt - 1, 0))
    if retry_after:
        delay = max(delay, math.ceil(min(retry_after, MAX_RETRY_AFTER)))
    return delay


def _should_cancel(run: Run) -> str:
    """Why a claimed run must not go ahead, or "" to go ahead."""
    if run.connection.enabled_at is None:
        return "the connection was disabled before the run started"
    if run.trigger == RunTrigger.SCHEDULED and run.channel.enabled_at is None:
        return "the channel was paused before the run started"
    return ""


def execute_run(run_id: int, *, worker: str | None = None,
                progress: Callable[[str], None] | None = None, retry: bool = True) -> str:
    """Claim ``run_id``, run its channel and record the outcome. Returns what happened:

    "succeeded", "failed", "retrying", "canceled", "lost" (the lease was taken over, this
    outcome dropped) or a claim result ("busy", "held", "later", "gone") when it did not run.
    ``progress`` receives the flow's progress lines (default: the log); ``retry`` False makes a
    failed attempt final (a run a person watches from the command line). Never raises for a
    failing flow: the exception becomes the run's error.
    """
    worker = worker or locks.worker_id()
    lease = settings.RUN_LEASE_SECONDS
    recover_journals()  # requests a killed run on this host sent, before this run adds more
    claimed_at = clock.now()
    claim = locks.claim_run(run_id, worker, lease_seconds=lease, now=claimed_at)
    if claim != locks.Claim.CLAIMED:
        logger.debug("run %s not started: %s", run_id, claim, extra={"run_id": run_id})
        return str(claim)
    run = Run.objects.select_related("connection", "channel").get(pk=run_id)
    context = log_context(run)
    reason = _should_cancel(run)
    if reason:
        locks.release_run(run_id, worker, state=RunState.CANCELED, finished_at=clock.now(),
                          error=reason)
        logger.info("run %s canceled: %s", run_id, reason, extra=context)
        hand_off(run.channel_id)
        return "canceled"

    logger.info("run %s started (%s, attempt %s)", run_id, run.mode, run.attempt, extra=context)
    say = progress or (lambda text: logger.info(text, extra=context))
    started = time.monotonic()
    ok, counts, requests, details, error, retry_after = False, {}, {}, {}, "", None
    with locks.KEEPER.hold(run_id, worker, lease,
                           expires_at=claimed_at + timedelta(seconds=lease)) as held:
        try:
            result = run_function()(run.connection_id, run.channel_type, mode=run.mode,
                                    progress=say, should_stop=held.check)
            ok = bool(getattr(result, "ok", False))
            counts = dict(getattr(result, "counts", None) or {})
            requests = dict(getattr(result, "requests", None) or {})
            details = dict(getattr(result, "details", None) or {})
            error = redact(str(getattr(result, "error", "") or ""))
            retry_after = getattr(result, "retry_after", None)
        except RunStopped as exc:
            error = redact(str(exc))
            logger.warning("%s", error, extra=context)
        except Exception as exc:  # noqa: BLE001 — a flow bug fails this run, not the worker
            error = redact(f"{type(exc).__name__}: {exc}")
            logger.exception("run %s raised", run_id, extra=context)
    duration_ms = (time.monotonic() - started) * 1000
    finished = clock.now()
    used = sum(int(n) for n in requests.values())
    common = {"counts": counts, "requests": requests, "requests_used": used,
              "duration_ms": duration_ms, "error": error[:5000], "details": details}

    if ok:
        outcome = "succeeded"
        kept = locks.release_run(run_id, worker, state=RunState.SUCCEEDED, finished_at=finished,
                                 **common)
        if kept:
            Channel.objects.filter(pk=run.channel_id).update(last_completed_at=finished)
    elif retry and run.attempt < settings.RUN_MAX_ATTEMPTS:
        outcome = "retrying"
        delay = retry_delay(run.attempt, retry_after)
        kept = locks.release_run(run_id, worker, state=RunState.QUEUED, worker="",
                                 lease_until=None, not_before=finished + timedelta(seconds=delay),
                                 **common)
        if kept:
            enqueue_run(run_id, delay=delay)
    else:
        outcome = "failed"
        kept = locks.release_run(run_id, worker, state=RunState.FAILED, finished_at=finished,
                                 **common)
    if not kept:
        logger.warning("run %s: another worker took it over; this attempt's outcome is dropped",
                       run_id, extra=context)
        return "lost"
    log = logger.info if ok else logger.warning
    log("run %s %s in %.0f ms, %s store request(s)%s", run_id, outcome, duration_ms, used,
        f": {error}" if error else "", extra=context)
    hand_off(run.channel_id)
    return outcome


def run_in_foreground(run_id: int, *, progress: Callable[[str], None] | None = None,
                      wait_seconds: float | None = None, poll_seconds: float = 0.5) -> str:
    """Execute a queued run in this process, under the same lock as the workers (the command
    line's ``sync run``). Returns ``execute_run``'s outcome, or "busy" when another run of the
    channel still holds it after ``wait_seconds`` (None: wait as long as that run lives).

    While it waits, a running run whose lease lapsed (its process died) is taken over and
    completed first, so a killed command never blocks the next one longer than its lease.
    """
    worker = locks.worker_id()
    deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
    said = False
    while True:
        outcome = execute_run(run_id, worker=worker, progress=progress, retry=False)
        if outcome != locks.Claim.BUSY:
            return outcome
        channel_id = Run.objects.values_list("channel_id", flat=True).get(pk=run_id)
        holder = (Run.objects.filter(channel_id=channel_id, state=RunState.RUNNING)
                  .exclude(pk=run_id).values("id", "worker", "lease_until").first())
        if holder is not None and holder["lease_until"] and holder["lease_until"] < clock.now():
            if progress:
                progress(f"run {holder['id']} of this channel stopped renewing its lease; "
                         "completing it first")
            execute_run(holder["id"], worker=worker, progress=progress)
            continue
        if deadline is not None and time.monotonic() >= deadline:
            return str(locks.Claim.BUSY)
        if progress and not said and holder is not None:
            progress(f"waiting for run {holder['id']} of this channel to finish")
            said = True
        time.sleep(poll_seconds)


def hand_off(channel_id: int) -> int | None:
    """Send the oldest ready QUEUED run of the channel to the queue (it may have been turned
    away as BUSY while the previous run held the channel). Returns its id, if any."""
    now = clock.now()
    next_id = (Run.objects.filter(channel_id=channel_id, state=RunState.QUEUED)
               .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
               .order_by("queued_at", "id").values_list("id", flat=True).first())
    if next_id is not None:
        enqueue_run(next_id)
    return next_id

"""Queue tasks and the dispatcher: how a Run is executed and how due channels become Runs.

Workers (``dropstream worker``, or threads of ``dropstream run``) execute ``execute_run_task``.
The scheduler (``dropstream scheduler``, or a thread of ``dropstream run``) calls
``scheduler_tick`` every few seconds: it schedules newly enabled channels, turns due channels
into Runs (``Channel.next_run_at`` is indexed; healthchecks ``Check.alert_after``), re-sends
queue messages of runs that look lost, and refreshes the budget guards.

A run's life: QUEUED → (claim) RUNNING → SUCCEEDED | FAILED | QUEUED again for a retry with
backoff, or CANCELED when its channel or connection was switched off before it started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils.module_loading import import_string
from huey.contrib.djhuey import HUEY, db_task

from dropstream.connections.models import Channel
from dropstream.logs import redact
from dropstream.metering.meter import recover_journals
from dropstream.metering.models import StoreBudget
from dropstream.scheduling import budget, clock, locks
from dropstream.scheduling.bulk import update_many
from dropstream.scheduling.models import Run, RunMode, RunState, RunTrigger
from dropstream.scheduling.rules import RuleError, clean_rules, next_fire, rules_key
from dropstream.sync.errors import RunStopped
from dropstream.sync.push import requeue_stuck_deliveries

logger = logging.getLogger("dropstream.scheduling")


def _context(run: Run | dict) -> dict[str, Any]:
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


def retry_delay(attempt: int) -> int:
    """Seconds before attempt ``attempt + 1``: base × 4^(attempt−1) (60 s, 4 min, 16 min …)."""
    return int(settings.RUN_RETRY_SECONDS * 4 ** max(attempt - 1, 0))


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
    context = _context(run)
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
    ok, counts, requests, details, error = False, {}, {}, {}, ""
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
        delay = retry_delay(run.attempt)
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


# ---------------------------------------------------------------------------------------------
# Dispatching due channels
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _cleaned(raw_key: str) -> tuple[tuple[dict, ...], str] | None:
    import json

    try:
        rules = clean_rules(json.loads(raw_key))
    except RuleError:
        return None
    return tuple(rules), rules_key(rules)


def cleaned_rules(raw: Any) -> tuple[tuple[dict, ...], str] | None:
    """(rules, key) for stored rules, cached; None when the stored rules are invalid."""
    import json

    return _cleaned(json.dumps(raw or [], sort_keys=True, separators=(",", ":")))


def stretched(natural: datetime, interval: timedelta, now: datetime, factor: float,
              max_delay_minutes: int) -> datetime:
    """The next run under the stretch guard: ``interval`` (the rules' own gap here) ×
    ``factor`` after ``now``, never more than ``max_delay_minutes`` after ``now`` unless the
    natural schedule itself is later; never earlier than ``natural``."""
    if factor <= 1.0:
        return natural
    longest = timedelta(minutes=max_delay_minutes)
    return max(natural, now + min(interval * factor, max(interval, longest)))


def next_time_for(raw_rules: Any, now: datetime, tz: str | None, *,
                  stretch: tuple[float, int] | None = None) -> datetime | None:
    """The next fire after ``now`` of stored rules; None for no rules or invalid ones.
    ``stretch`` = (factor, max delay minutes) spaces runs out for the budget guard."""
    cleaned = cleaned_rules(raw_rules)
    if cleaned is None:
        return None
    rules, key = cleaned
    try:
        natural = next_fire(rules, now, tz, key=key)
    except ValueError:  # an unknown merchant zone: schedule in UTC rather than never
        tz = "UTC"
        natural = next_fire(rules, now, tz, key=key)
    if natural is None or stretch is None or stretch[0] <= 1.0:
        return natural
    following = next_fire(rules, natural, tz, key=key)
    interval = (following - natural) if following else timedelta(0)
    return stretched(natural, interval, now, *stretch)


def schedule_new_channels(now: datetime | None = None) -> int:
    """Give enabled channels of enabled connections with rules but no next time one.

    Catches every way a channel becomes runnable (a connection enabled, rules stored by
    another path). Returns how many channels were scheduled.
    """
    now = now or clock.now()
    live = Q(enabled_at__isnull=False, connection__enabled_at__isnull=False)
    rows = list(Channel.objects.filter(live).filter(
        Q(next_run_at__isnull=True) & ~Q(rules=[])
        | Q(next_full_sync_at__isnull=True) & ~Q(full_sync_rules=[]))
        .values_list("id", "rules", "full_sync_rules", "next_run_at", "next_full_sync_at",
                     "connection__customer__time_zone")[:settings.SCHEDULER_BATCH])
    updates = []
    for pk, rules, full_rules, next_run, next_full, tz in rows:
        if next_run is None and rules:
            next_run = next_time_for(rules, now, tz)
        if next_full is None and full_rules:
            next_full = next_time_for(full_rules, now, tz)
        updates.append((next_run, next_full, pk))
    update_many(Channel, ["next_run_at", "next_full_sync_at"], updates)
    return len(rows)


def _budget_states(store_ids: set[int]) -> dict[int, dict]:
    return {row["store_id"]: row for row in StoreBudget.objects.filter(
        store_id__in=store_ids).values("store_id", "guard", "stretch_factor", "stopped",
                                       "max_delay_minutes")}


def dispatch_due(now: datetime | None = None, *, mode: str = RunMode.DEFAULT,
                 limit: int | None = None) -> list[int]:
    """Turn channels due at ``now`` into queued Runs and advance their next time.

    ``mode`` "default" reads ``next_run_at``/``rules``; "full" reads ``next_full_sync_at``/
    ``full_sync_rules``. Missed fires collapse into one run; a channel that already has a queued
    run of this mode gets no second one; a store whose budget guard stopped polling gets none
    (its schedule still advances). Works in batches of ``limit`` (``SCHEDULER_BATCH``), each
    its own short transaction, until nothing is due. Returns the ids of the runs created;
    their queue messages go out as each batch commits.
    """
    now = now or clock.now()
    limit = limit or settings.SCHEDULER_BATCH
    created: list[int] = []
    for _ in range(10_000):
        seen, ids = _dispatch_batch(now, mode, limit)
        created += ids
        if seen < limit:
            break
    if created:
        logger.info("dispatched %s %s run(s)", len(created), mode)
    return created


def _dispatch_batch(now: datetime, mode: str, limit: int) -> tuple[int, list[int]]:
    """One batch of ``dispatch_due``: (due channels handled, run ids created)."""
    full = mode == RunMode.FULL
    time_field, rules_field = (("next_full_sync_at", "full_sync_rules") if full
                               else ("next_run_at", "rules"))
    created: list[Run] = []
    with transaction.atomic():
        due = Channel.objects.filter(**{f"{time_field}__lte": now}).order_by(time_field)
        if connection.features.has_select_for_update_skip_locked:
            # A second scheduler (by mistake) skips the rows this one is dispatching.
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.values_list(
            "id", "connection_id", "type", rules_field, "enabled_at", "connection__enabled_at",
            "connection__customer__time_zone", "connection__store_id",
        )[:limit])
        if not rows:
            return 0, []
        channel_ids = [row[0] for row in rows]
        busy = set(Run.objects.filter(channel_id__in=channel_ids, state=RunState.QUEUED,
                                      mode=mode).values_list("channel_id", flat=True))
        budgets = _budget_states({row[7] for row in rows})
        updates: list[tuple[datetime | None, int]] = []
        for pk, connection_id, kind, rules, enabled, connection_enabled, tz, store_id in rows:
            if enabled is None or connection_enabled is None:
                # Parked: it leaves the index range until something enables it again.
                updates.append((None, pk))
                continue
            state = budgets.get(store_id) or {}
            stretch = None
            if state.get("guard") == "stretch":
                stretch = (state.get("stretch_factor") or 1.0, state.get("max_delay_minutes") or 60)
            updates.append((next_time_for(rules, now, tz, stretch=stretch), pk))
            if state.get("stopped") or pk in busy:
                continue
            created.append(Run(connection_id=connection_id, channel_id=pk, channel_type=kind,
                               mode=mode, trigger=RunTrigger.SCHEDULED, queued_at=now,
                               enqueued_at=now))
        update_many(Channel, [time_field], updates)
        Run.objects.bulk_create(created, batch_size=500)
        ids = [run.pk for run in created]
        if ids and ids[0] is None:  # a backend that does not return ids from bulk_create
            ids = list(Run.objects.filter(channel_id__in=[r.channel_id for r in created],
                                          state=RunState.QUEUED, mode=mode, queued_at=now)
                       .values_list("id", flat=True))
        transaction.on_commit(lambda: [enqueue_run(run_id, mark=False) for run_id in ids])
    return len(rows), ids


def resend_lost_runs(now: datetime | None = None) -> list[int]:
    """Re-send queue messages for runs that look stranded and return their ids:

    * RUNNING with a lapsed lease (its worker died): another worker takes it over;
    * QUEUED and ready, whose message went out more than ``RUN_RESEND_SECONDS`` ago (the
      message was lost, or the run was turned away as BUSY and missed its hand-off).
    """
    now = now or clock.now()
    resend_before = now - timedelta(seconds=settings.RUN_RESEND_SECONDS)
    # A lapsed run is re-sent at most once per lease period.
    lease_cutoff = now - timedelta(seconds=settings.RUN_LEASE_SECONDS)
    lapsed = Q(state=RunState.RUNNING, lease_until__lt=now) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=lease_cutoff))
    stale = (Q(state=RunState.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
             & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=resend_before)))
    rows = list(Run.objects.filter(lapsed | stale).order_by("id")
                .values("id", "connection_id", "channel_type", "state")
                [:settings.SCHEDULER_BATCH])
    for row in rows:
        if row["state"] == RunState.RUNNING:
            logger.warning("run %s: its worker stopped renewing the lease; re-queued", row["id"],
                           extra=_context(row))
        enqueue_run(row["id"])
    return [row["id"] for row in rows]


_last_budget_refresh: dict[str, datetime] = {}


def scheduler_tick(now: datetime | None = None, *, refresh_budgets: bool | None = None
                   ) -> dict[str, int]:
    """One pass of the scheduler. Returns counts: scheduled, dispatched, full_dispatched,
    resent, budgets (stores whose guard was refreshed)."""
    now = now or clock.now()
    if refresh_budgets is None:
        last = _last_budget_refresh.get("at")
        refresh_budgets = last is None or (now - last).total_seconds() >= \
            settings.BUDGET_REFRESH_SECONDS or now < last
    refreshed = 0
    if refresh_budgets:
        refreshed = budget.refresh_guards(now)
        _last_budget_refresh["at"] = now
    scheduled = schedule_new_channels(now)
    dispatched = len(dispatch_due(now))
    full = len(dispatch_due(now, mode=RunMode.FULL))
    resent = len(resend_lost_runs(now))
    recover_journals()
    requeue_stuck_deliveries(now)
    alerted = _alerts_tick_if_due(now)
    return {"scheduled": scheduled, "dispatched": dispatched, "full_dispatched": full,
            "resent": resent, "budgets": refreshed, "alerts": alerted}


_last_alerts_tick: dict[str, datetime] = {}
ALERTS_TICK_SECONDS = 60


def _alerts_tick_if_due(now: datetime) -> int:  # returns e-mails sent
    """About once a minute: close quiet issues and send batched alert e-mails (the scheduler is
    the one process that always runs; Huey periodic tasks are not started by our consumers)."""
    last = _last_alerts_tick.get("at")
    if last is not None and 0 <= (now - last).total_seconds() < ALERTS_TICK_SECONDS:
        return 0
    _last_alerts_tick["at"] = now
    from dropstream.alerts.notify import alerts_tick

    try:
        result = alerts_tick(now)
    except Exception:  # noqa: BLE001 — mail trouble must not stop scheduling
        logger.exception("alerts tick failed")
        return 0
    return result.get("emails", 0)


def run_scheduler(stop: threading.Event, *, tick_seconds: float | None = None) -> None:
    """Call ``scheduler_tick`` every ``tick_seconds`` until ``stop`` is set (the scheduler
    process, or a thread of ``dropstream run``). A failing tick is logged and the loop goes on."""
    tick_seconds = tick_seconds or settings.SCHEDULER_TICK_SECONDS
    logger.info("scheduler started (tick every %s s)", tick_seconds)
    while not stop.is_set():
        started = time.monotonic()
        try:
            close_old_connections()
            scheduler_tick()
        except Exception:  # noqa: BLE001 — e.g. the database restarting; try again next tick
            logger.exception("scheduler tick failed")
            connection.close()
        stop.wait(max(tick_seconds - (time.monotonic() - started), 0.05))
    connection.close()
    logger.info("scheduler stopped")

"""Turning due channels into queued Runs, and re-sending the queue messages of runs that look
lost. Called by the scheduler's tick (``scheduling.scheduler``); ``Channel.next_run_at`` is
indexed (healthchecks ``Check.alert_after``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from dropstream.bulk import update_many
from dropstream.connections.models import Channel
from dropstream.metering.models import StoreBudget
from dropstream.scheduling import clock
from dropstream.scheduling.models import Run, RunMode, RunState, RunTrigger
from dropstream.scheduling.tasks import enqueue_run, log_context
from dropstream.scheduling.timing import next_time_for

logger = logging.getLogger("dropstream.scheduling")


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
                           extra=log_context(row))
        enqueue_run(row["id"])
    return [row["id"] for row in rows]



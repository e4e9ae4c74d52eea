"""Schedules and runs of a channel: what the API, the pages and the CLI call.

Views stay thin (saleor ``order/actions.py``): scope, validate, call one of these, render.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction

from dropstream.connections.models import Channel, ChannelType, Connection
from dropstream.scheduling import clock
from dropstream.scheduling.errors import InvalidSchedule, RunRefused
from dropstream.scheduling.models import Run, RunMode, RunState, RunTrigger
from dropstream.scheduling.rules import (
    clean_rules,
    describe_rules,
    rule_warnings,
)
from dropstream.scheduling.tasks import enqueue_on_commit, run_in_foreground
from dropstream.scheduling.timing import next_time_for

logger = logging.getLogger("dropstream.scheduling")


def _time_zone(channel: Channel) -> str:
    return channel.connection.customer.time_zone or "UTC"


def _is_live(channel: Channel) -> bool:
    return channel.enabled_at is not None and channel.connection.enabled_at is not None


def request_run(channel: Channel, *, mode: str = RunMode.DEFAULT,
                trigger: str = RunTrigger.MANUAL) -> Run:
    """Queue a run of ``channel`` and return it; its message goes out when the caller's
    transaction commits. The schedule (``next_run_at``) is not changed.

    A second request while a run of the same channel and mode is still queued returns that
    run instead of queueing another. Works on a paused channel (Run now), not on a disabled
    connection. Budget guards do not apply: they stop *scheduled* polling only.
    Raises RunRefused (connection disabled, or "full" asked of a channel other than inventory).
    """
    if mode not in RunMode.values:
        raise RunRefused({"mode": f"mode must be one of {', '.join(RunMode.values)}"})
    if trigger not in RunTrigger.values:
        raise RunRefused({"trigger": f"trigger must be one of {', '.join(RunTrigger.values)}"})
    if mode == RunMode.EXPORT and channel.type != ChannelType.SALES_ORDER:
        raise RunRefused({"mode": "an export-only run exists only for the sales order channel"})
    if mode == RunMode.FULL and channel.type != ChannelType.INVENTORY:
        raise RunRefused({"mode": "a full sync exists only for the inventory channel"})
    connection = Connection.objects.only("enabled_at").get(pk=channel.connection_id)
    if connection.enabled_at is None:
        raise RunRefused({"connection": "the connection is disabled; enable it first"})
    with transaction.atomic():
        # Lock the channel row so two simultaneous requests do not both queue a run.
        Channel.objects.select_for_update().filter(pk=channel.pk).first()
        waiting = Run.objects.filter(channel=channel, mode=mode, state=RunState.QUEUED,
                                     not_before__isnull=True).order_by("id").first()
        if waiting is not None:
            return waiting
        run = Run.objects.create(connection_id=channel.connection_id, channel=channel,
                                 channel_type=channel.type, mode=mode, trigger=trigger,
                                 queued_at=clock.now(), enqueued_at=clock.now())
        enqueue_on_commit(run.pk, mark=False)
    logger.info("run %s requested (%s, %s)", run.pk, trigger, mode,
                extra={"connection_id": channel.connection_id, "channel": channel.type,
                       "run_id": run.pk})
    return run


def run_here(channel: Channel, *, mode: str = RunMode.DEFAULT,
             progress: Callable[[str], None] | None = None,
             wait_seconds: float | None = None) -> tuple[str, Run]:
    """Run ``channel`` now in this process, under the run lock every worker takes (the command
    line's ``sync run``, the end-to-end tests). Returns (outcome, the Run as it ended).

    The outcome is ``execute_run``'s ("succeeded", "failed", "canceled", "lost") or "busy" when
    another run of the channel still held it after ``wait_seconds`` (None: as long as it lives);
    a failed run is not retried. Raises RunRefused as ``request_run`` does.
    """
    if mode not in RunMode.values:
        raise RunRefused({"mode": f"mode must be one of {', '.join(RunMode.values)}"})
    connection = Connection.objects.only("enabled_at").get(pk=channel.connection_id)
    if connection.enabled_at is None:
        raise RunRefused({"connection": "the connection is disabled; enable it first"})
    now = clock.now()
    # enqueued_at = now: the scheduler's sweep leaves the run to this process for a while.
    run = Run.objects.create(connection_id=channel.connection_id, channel=channel,
                             channel_type=channel.type, mode=mode, trigger=RunTrigger.MANUAL,
                             queued_at=now, enqueued_at=now)
    outcome = run_in_foreground(run.pk, progress=progress, wait_seconds=wait_seconds)
    if outcome in ("gone", "held"):
        # Handed off to a worker while this process waited: report how that worker ended it.
        outcome = _wait_until_finished(run.pk)
    if outcome == "busy":
        Run.objects.filter(pk=run.pk, state=RunState.QUEUED).update(
            state=RunState.CANCELED, finished_at=clock.now(),
            error="another run of this channel was still running")
    run.refresh_from_db()
    return outcome, run


def _wait_until_finished(run_id: int, poll_seconds: float = 0.5) -> str:
    """Wait for a run another worker executes; returns its end state ("succeeded", …)."""
    import time

    while True:
        state = Run.objects.values_list("state", flat=True).get(pk=run_id)
        if state not in (RunState.QUEUED, RunState.RUNNING):
            return str(state)
        time.sleep(poll_seconds)


def _clean(rules: Any, field: str) -> list[dict]:
    try:
        return clean_rules(rules)
    except InvalidSchedule as exc:
        raise InvalidSchedule({key.replace("rules", field, 1): message
                               for key, message in exc.errors.items()}) from None


def set_channel_rules(channel: Channel, rules: Any, full_sync_rules: Any = None) -> list[str]:
    """Validate and store the channel's rules (and full-sync rules, inventory only, when given);
    recompute its next run. Returns warnings (more often than the reference advises).

    Raises InvalidSchedule naming each bad rule index and field (``rules[1].every``);
    nothing is stored then.
    """
    cleaned = _clean(rules, "rules")
    cleaned_full = None
    if full_sync_rules is not None:
        if channel.type != ChannelType.INVENTORY and full_sync_rules:
            raise InvalidSchedule({"full_sync_rules": "only the inventory channel has a full "
                                                      "sync schedule"})
        cleaned_full = _clean(full_sync_rules, "full_sync_rules")
    warnings = rule_warnings(cleaned, channel.type)
    if cleaned_full:
        warnings += rule_warnings(cleaned_full, channel.type, full_sync=True)
    channel.rules = cleaned
    fields = ["rules", "next_run_at"]
    if cleaned_full is not None:
        channel.full_sync_rules = cleaned_full
        fields += ["full_sync_rules", "next_full_sync_at"]
    _recompute(channel)
    channel.save(update_fields=fields)
    return warnings


def _recompute(channel: Channel, now: datetime | None = None) -> None:
    now = now or clock.now()
    live = _is_live(channel)
    tz = _time_zone(channel)
    channel.next_run_at = next_time_for(channel.rules, now, tz) if live else None
    channel.next_full_sync_at = next_time_for(channel.full_sync_rules, now, tz) if live else None


def set_channel_enabled(channel: Channel, enabled_at: datetime | None) -> Channel:
    """Switch the channel on (at ``enabled_at``) or off (None). Pausing keeps the rules; the
    next run is recomputed when it is switched on again."""
    channel.enabled_at = enabled_at
    _recompute(channel)
    channel.save(update_fields=["enabled_at", "next_run_at", "next_full_sync_at"])
    return channel


def reschedule_connection(connection: Connection) -> int:
    """Recompute the next runs of all the connection's channels (call after enabling or
    disabling it, or after changing the merchant's time zone). Returns how many channels."""
    channels = list(Channel.objects.filter(connection=connection)
                    .select_related("connection__customer"))
    for channel in channels:
        _recompute(channel)
        channel.save(update_fields=["next_run_at", "next_full_sync_at"])
    return len(channels)


def _run_summary(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"id": run.pk, "state": run.state, "trigger": run.trigger, "mode": run.mode,
            "queued_at": run.queued_at, "started_at": run.started_at,
            "finished_at": run.finished_at, "attempt": run.attempt, "counts": run.counts,
            "requests_used": run.requests_used, "error": run.error}


def channel_summary(channel: Channel) -> dict[str, Any]:
    """What the channel card shows. Keys: enabled, recurrence, full_sync_recurrence (None for
    channels without a full sync), time_zone, last_completed_at, next_run_at,
    next_full_sync_at (None while paused), running (bool), last_run (dict or None: id, state,
    trigger, mode, queued_at, started_at, finished_at, attempt, counts, requests_used, error)."""
    tz = _time_zone(channel)
    live = _is_live(channel)
    try:
        recurrence = describe_rules(clean_rules(channel.rules), tz)
        full = (describe_rules(clean_rules(channel.full_sync_rules), tz)
                if channel.type == ChannelType.INVENTORY else None)
    except InvalidSchedule as exc:
        recurrence, full = f"Invalid rules: {exc}", None
    runs = Run.objects.filter(channel=channel)
    last = runs.exclude(state__in=(RunState.QUEUED, RunState.RUNNING)).order_by(
        "-finished_at", "-id").first()
    return {
        "enabled": channel.enabled_at is not None,
        "recurrence": recurrence,
        "full_sync_recurrence": full,
        "time_zone": tz,
        "last_completed_at": channel.last_completed_at,
        "next_run_at": channel.next_run_at if live else None,
        "next_full_sync_at": channel.next_full_sync_at if live else None,
        "running": runs.filter(state=RunState.RUNNING).exists(),
        "last_run": _run_summary(last),
    }

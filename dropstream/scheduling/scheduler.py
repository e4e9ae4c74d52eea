"""The scheduler: one process (or a thread of ``dropstream run``) that calls ``scheduler_tick``
every few seconds. A tick schedules newly enabled channels, turns due channels into Runs,
re-sends queue messages of runs that look lost, refreshes the budget guards, re-queues stuck
push deliveries, queues orders whose rule's hold has ended and, about once a minute, the alert e-mails."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection

from dropstream.metering.meter import recover_journals
from dropstream.rules.apply import release_due_holds
from dropstream.scheduling import budget, clock
from dropstream.scheduling.dispatch import dispatch_due, resend_lost_runs, schedule_new_channels
from dropstream.scheduling.models import RunMode
from dropstream.sync.push import requeue_stuck_deliveries

logger = logging.getLogger("dropstream.scheduling")


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
    released = release_due_holds(now)
    alerted = _alerts_tick_if_due(now)
    return {"scheduled": scheduled, "dispatched": dispatched, "full_dispatched": full,
            "resent": resent, "budgets": refreshed, "alerts": alerted, "released": released}


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

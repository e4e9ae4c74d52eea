"""The API budget: usage and projection, and a simulated month under each guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Min

from dropstream.alerts.models import Alert
from dropstream.connections.actions import set_connection_enabled
from dropstream.connections.models import Channel
from dropstream.scheduling import actions, budget, scheduler
from dropstream.scheduling.errors import InvalidBudget
from dropstream.scheduling.models import Run, RunState
from tests.scheduling import flows

JUNE = datetime(2025, 6, 1, tzinfo=UTC)
JULY = datetime(2025, 7, 1, tzinfo=UTC)
ALLOWANCE = 250  # the natural month below needs 2 requests × 6 runs × 30 days = 360
RUNS_IN_JUNE = 6 * 30 - 1  # every 4 hours after June 1 00:00, before July 1 00:00


@pytest.fixture
def month_connection(connection, fake_clock, run_with, monkeypatch):
    """A connection whose sales channel polls every 4 hours at 2 store requests a run;
    the other channels are paused."""
    run_with("metered")
    monkeypatch.setitem(flows.REQUESTS_PER_RUN, "sales_order", 2)
    fake_clock.at = JUNE
    set_connection_enabled(connection, JUNE)
    for channel in Channel.objects.filter(connection=connection).select_related(
            "connection__customer"):
        if channel.type == "sales_order":
            actions.set_channel_rules(channel, [{"type": "minutely", "every": 240}])
        else:
            actions.set_channel_enabled(channel, None)
    return connection


def simulate(fake_clock, capture, *, until=JULY, on_tick=None) -> list[tuple[datetime, int]]:
    """Run the scheduler at every due time until ``until``; tasks execute inline. Returns
    (time, budget alerts so far) at each tick where the alert count changed."""
    seen, changes = 0, []
    while True:
        due = Channel.objects.filter(next_run_at__isnull=False).aggregate(t=Min("next_run_at"))
        if due["t"] is None or due["t"] >= until:
            break
        fake_clock.at = due["t"]
        with capture(execute=True):
            scheduler.scheduler_tick(refresh_budgets=True)
        alerts = Alert.objects.filter(kind="budget").count()
        if alerts != seen:
            seen = alerts
            changes.append((fake_clock.at, alerts))
        if on_tick:
            on_tick(fake_clock.at)
    return changes


def _scheduled_runs():
    return list(Run.objects.filter(trigger="scheduled", state=RunState.SUCCEEDED)
                .order_by("queued_at").values_list("queued_at", flat=True))


def test_alert_mode_alerts_once_at_80_and_once_at_100_percent(
        month_connection, fake_clock, django_capture_on_commit_callbacks):
    store = month_connection.store
    budget.update_budget(store, monthly_allowance=ALLOWANCE, guard="alert")
    changes = simulate(fake_clock, django_capture_on_commit_callbacks)
    # 200 requests = 100 runs → the 100th run at June 17 16:00; counted at the next tick.
    assert changes == [(datetime(2025, 6, 17, 20, 0, tzinfo=UTC), 1),
                       (datetime(2025, 6, 22, 0, 0, tzinfo=UTC), 2)]
    messages = list(Alert.objects.filter(kind="budget").order_by("id")
                    .values_list("message", flat=True))
    assert messages == [
        "Store Acme Team Store used 200 of its 250 API requests for 2025-06 (80 %).",
        "Store Acme Team Store used 250 of its 250 API requests for 2025-06 (100 %)."]
    assert len(_scheduled_runs()) == RUNS_IN_JUNE  # alert mode never holds polling back
    usage = budget.store_usage(store, now=JULY - timedelta(seconds=1))
    assert usage["requests_month"] == 2 * RUNS_IN_JUNE


def test_the_projection_reads_the_schedule_and_prices_the_overage(
        month_connection, fake_clock, django_capture_on_commit_callbacks):
    store = month_connection.store
    noon = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    simulate(fake_clock, django_capture_on_commit_callbacks, until=noon + timedelta(seconds=1))
    usage = budget.store_usage(store, now=noon)
    # 14 days × 6 runs + 3 today (04:00, 08:00, 12:00) = 87 runs so far; 2 + 15 × 6 = 92 to come.
    assert usage["requests_month"] == 174
    assert usage["requests_today"] == 8  # 00:00 too
    assert usage["by_channel"] == {"sales_order": 174}
    assert usage["by_endpoint"] == {"GET /orders": 174}
    assert usage["allowance"] == 30000 and usage["overage_price"] == Decimal("0.0300")
    assert usage["projection"] == 174 + 184
    assert usage["projected_overage_cost"] == Decimal("0.00")
    assert usage["guard"]["defaults_unconfirmed"] is True
    budget.update_budget(store, monthly_allowance=ALLOWANCE)
    usage = budget.store_usage(store, now=noon)
    assert usage["projected_overage_cost"] == Decimal("3.24")  # 108 × $0.03
    assert usage["guard"]["defaults_unconfirmed"] is False


def test_stretch_lands_the_month_under_the_allowance_within_the_maximum_delay(
        month_connection, fake_clock, django_capture_on_commit_callbacks):
    store = month_connection.store
    budget.update_budget(store, monthly_allowance=ALLOWANCE, guard="stretch",
                         max_delay_minutes=480)
    simulate(fake_clock, django_capture_on_commit_callbacks)
    used = budget.store_usage(store, now=JULY - timedelta(seconds=1))["requests_month"]
    assert ALLOWANCE * 0.85 <= used <= ALLOWANCE
    runs = _scheduled_runs()
    gaps = {b - a for a, b in zip(runs, runs[1:], strict=False)}
    assert max(gaps) <= timedelta(minutes=480)
    assert min(gaps) >= timedelta(minutes=240)
    assert Alert.objects.filter(kind="budget").count() == 1  # 80 % reached, 100 % never


def test_stretch_never_exceeds_the_maximum_delay_even_over_the_allowance(
        month_connection, fake_clock, django_capture_on_commit_callbacks):
    store = month_connection.store
    budget.update_budget(store, monthly_allowance=50, guard="stretch", max_delay_minutes=360)
    simulate(fake_clock, django_capture_on_commit_callbacks, until=JUNE + timedelta(days=3))
    runs = _scheduled_runs()
    assert max(b - a for a, b in zip(runs, runs[1:], strict=False)) == timedelta(minutes=360)


def test_stop_pauses_polling_at_the_allowance_and_push_goes_on(
        month_connection, fake_clock, django_capture_on_commit_callbacks):
    store = month_connection.store
    budget.update_budget(store, monthly_allowance=ALLOWANCE, guard="stop")
    after_stop = []

    def push_once_stopped(now):
        if budget.get_budget(store).stopped and not after_stop:
            after_stop.append(now)
            sales = Channel.objects.select_related("connection__customer").get(
                connection=month_connection, type="sales_order")
            with django_capture_on_commit_callbacks(execute=True):
                actions.request_run(sales, trigger="push")

    simulate(fake_clock, django_capture_on_commit_callbacks, on_tick=push_once_stopped)
    assert len(_scheduled_runs()) == ALLOWANCE // 2
    assert _scheduled_runs()[-1] < after_stop[0]
    push = Run.objects.get(trigger="push")
    assert (push.state, push.requests_used) == ("succeeded", 2)
    assert budget.store_usage(store, now=JULY - timedelta(seconds=1))["requests_month"] == \
        ALLOWANCE + 2
    assert Alert.objects.filter(kind="budget").count() == 2
    assert "Scheduled polling is paused" in Alert.objects.filter(kind="budget").first().message

    # A new month lifts the stop.
    fake_clock.at = JULY + timedelta(minutes=1)
    budget.refresh_guards(fake_clock.at)
    assert budget.get_budget(store).stopped is False


def test_budget_settings_are_validated(store):
    with pytest.raises(InvalidBudget) as caught:
        budget.update_budget(store, monthly_allowance=-5, overage_price="cheap", guard="pray",
                             max_delay_minutes=0)
    assert set(caught.value.errors) == {"monthly_allowance", "overage_price", "guard",
                                        "max_delay_minutes"}
    assert budget.get_budget(store).monthly_allowance == 30000
    assert budget.get_budget(store).confirmed_at is None

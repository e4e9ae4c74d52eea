"""Runs: requesting, executing, retrying, locking, lease takeover and dispatching."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from dropstream.connections.models import Channel
from dropstream.logs import JsonFormatter
from dropstream.scheduling import actions, dispatch, locks, scheduler, tasks
from dropstream.scheduling.errors import InvalidSchedule, RunRefused
from dropstream.scheduling.models import Run, RunState
from tests.scheduling import flows
from tests.scheduling.conftest import T0


def _channel(connection, kind: str) -> Channel:
    return Channel.objects.select_related("connection__customer").get(connection=connection,
                                                                      type=kind)


def test_run_now_queues_a_run_that_the_worker_records(sales, run_with,
                                                      django_capture_on_commit_callbacks):
    before = sales.next_run_at
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.request_run(sales)
    run.refresh_from_db()
    assert (run.state, run.trigger, run.mode, run.attempt) == ("succeeded", "manual",
                                                               "default", 1)
    assert run.counts == {"imported": 1}
    assert (run.requests, run.requests_used) == ({"GET /orders": 1}, 1)
    assert run.started_at == run.finished_at == T0
    assert flows.CALLS == [(sales.connection_id, "sales_order", "default")]
    sales.refresh_from_db()
    assert sales.last_completed_at == T0
    assert sales.next_run_at == before  # a manual run does not change the schedule


def test_a_second_run_now_while_one_is_queued_returns_the_same_run(
        sales, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as sent:
        first = actions.request_run(sales)
        second = actions.request_run(sales)
    assert first.pk == second.pk
    assert Run.objects.count() == 1
    assert len(sent) == 1


def test_run_now_is_refused_on_a_disabled_connection_and_full_sync_outside_inventory(
        connection, fake_clock):
    channel = _channel(connection, "sales_order")
    with pytest.raises(RunRefused) as caught:
        actions.request_run(channel)
    assert caught.value.errors == {"connection": "the connection is disabled; enable it first"}
    connection.enabled_at = T0
    connection.save()
    with pytest.raises(RunRefused) as caught:
        actions.request_run(channel, mode="full")
    assert caught.value.errors == {"mode": "a full sync exists only for the inventory channel"}
    assert Run.objects.count() == 0


def test_a_failing_run_retries_with_backoff_then_fails(sales, run_with, fake_clock, settings,
                                                       django_capture_on_commit_callbacks):
    run_with("fail")
    settings.RUN_MAX_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.request_run(sales)
    run.refresh_from_db()
    assert (run.state, run.attempt, run.not_before) == ("queued", 1, T0 + timedelta(seconds=60))
    assert "SeCrEtZ" not in run.error and "token=[redacted]" in run.error

    fake_clock.advance(seconds=30)
    assert tasks.execute_run(run.pk) == "later"
    fake_clock.advance(seconds=30)
    assert tasks.execute_run(run.pk) == "retrying"
    run.refresh_from_db()
    assert (run.state, run.attempt, run.not_before) == (
        "queued", 2, fake_clock.at + timedelta(seconds=240))
    fake_clock.advance(seconds=240)
    assert tasks.execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert (run.state, run.attempt, run.finished_at) == ("failed", 3, fake_clock.at)
    assert len(flows.CALLS) == 3
    sales.refresh_from_db()
    assert sales.last_completed_at is None


def test_a_flow_that_raises_fails_the_run_and_not_the_worker(sales, run_with, settings,
                                                             django_capture_on_commit_callbacks):
    run_with("explode")
    settings.RUN_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.request_run(sales)
    run.refresh_from_db()
    assert run.state == "failed"
    assert run.error == "RuntimeError: boom at https://api.example/orders?token=[redacted]"


def test_a_run_is_claimed_by_exactly_one_of_two_workers(sales, fake_clock):
    run = Run.objects.create(connection=sales.connection, channel=sales,
                             channel_type="sales_order", queued_at=T0)
    assert locks.claim_run(run.pk, "host-a", lease_seconds=120) == locks.Claim.CLAIMED
    assert locks.claim_run(run.pk, "host-b", lease_seconds=120) == locks.Claim.HELD
    run.refresh_from_db()
    assert (run.state, run.worker, run.attempt) == ("running", "host-a", 1)
    assert run.lease_until == T0 + timedelta(seconds=120)


def test_a_second_run_of_a_channel_waits_for_the_first_and_is_handed_off(
        sales, run_with, fake_clock):
    first = Run.objects.create(connection=sales.connection, channel=sales,
                               channel_type="sales_order", queued_at=T0)
    second = Run.objects.create(connection=sales.connection, channel=sales,
                                channel_type="sales_order", trigger="manual", queued_at=T0)
    assert locks.claim_run(first.pk, "host-a", lease_seconds=120) == locks.Claim.CLAIMED
    assert tasks.execute_run(second.pk, worker="host-b") == "busy"
    assert Run.objects.get(pk=second.pk).state == "queued"
    assert flows.CALLS == []

    assert locks.release_run(first.pk, "host-a", state=RunState.SUCCEEDED, finished_at=T0)
    assert tasks.hand_off(sales.pk) == second.pk  # immediate queue: runs it now
    assert Run.objects.get(pk=second.pk).state == "succeeded"
    assert flows.CALLS == [(sales.connection_id, "sales_order", "default")]


def test_a_run_whose_worker_died_is_taken_over_once_its_lease_lapses(sales, run_with,
                                                                     fake_clock, settings):
    settings.RUN_LEASE_SECONDS = 120
    run = Run.objects.create(connection=sales.connection, channel=sales,
                             channel_type="sales_order", queued_at=T0)
    assert locks.claim_run(run.pk, "dead-host", lease_seconds=120) == locks.Claim.CLAIMED
    fake_clock.advance(seconds=60)
    assert dispatch.resend_lost_runs() == []
    assert tasks.execute_run(run.pk, worker="host-b") == "held"

    fake_clock.advance(seconds=61)
    assert dispatch.resend_lost_runs() == [run.pk]  # immediate queue: executes the takeover
    run.refresh_from_db()
    assert (run.state, run.attempt) == ("succeeded", 2)
    assert len(flows.CALLS) == 1
    # The dead worker wakes up late: its outcome is refused.
    assert not locks.release_run(run.pk, "dead-host", state=RunState.FAILED)
    assert Run.objects.get(pk=run.pk).state == "succeeded"


def test_a_run_of_a_channel_paused_after_queueing_is_canceled(sales, run_with, fake_clock):
    run = Run.objects.create(connection=sales.connection, channel=sales,
                             channel_type="sales_order", queued_at=T0)
    actions.set_channel_enabled(sales, None)
    assert tasks.execute_run(run.pk) == "canceled"
    run.refresh_from_db()
    assert (run.state, run.error) == ("canceled", "the channel was paused before the run started")
    assert flows.CALLS == []


def test_due_channels_become_runs_and_their_next_run_advances(
        live_connection, run_with, fake_clock, django_capture_on_commit_callbacks):
    dispatch.schedule_new_channels()
    sales = _channel(live_connection, "sales_order")
    assert sales.next_run_at == datetime(2025, 6, 2, 10, 15, tzinfo=UTC)
    assert dispatch.dispatch_due() == []

    fake_clock.at = datetime(2025, 6, 2, 13, 16, tzinfo=UTC)  # missed fires collapse into one
    with django_capture_on_commit_callbacks(execute=False) as sent:
        created = dispatch.dispatch_due()
        assert dispatch.dispatch_due() == []
    assert len(created) == 3  # every channel was due at least once since 10:07
    assert len(sent) == 1
    assert set(Run.objects.values_list("channel_type", "trigger", "state")) == {
        ("sales_order", "scheduled", "queued"), ("shipment", "scheduled", "queued"),
        ("inventory", "scheduled", "queued")}
    sales.refresh_from_db()
    assert sales.next_run_at == datetime(2025, 6, 2, 13, 30, tzinfo=UTC)

    fake_clock.at = datetime(2025, 6, 2, 13, 31, tzinfo=UTC)
    assert dispatch.dispatch_due() == []  # a run of the channel is still queued: no second one
    sales.refresh_from_db()
    assert sales.next_run_at == datetime(2025, 6, 2, 13, 45, tzinfo=UTC)


def test_the_full_sync_is_dispatched_on_its_own_schedule_in_the_merchant_zone(
        connection, run_with, fake_clock, django_capture_on_commit_callbacks):
    from dropstream.connections.actions import set_connection_enabled

    merchant = connection.customer
    merchant.time_zone = "America/New_York"
    merchant.save()
    # Enabling computes the channels' next runs (scheduling reacts to connection_switched).
    live_connection = set_connection_enabled(connection, fake_clock.at)
    dispatch.schedule_new_channels()
    inventory = _channel(live_connection, "inventory")
    # Daily at 01:00 New York (EDT) = 05:00 UTC the next day.
    assert inventory.next_full_sync_at == datetime(2025, 6, 3, 5, 0, tzinfo=UTC)
    fake_clock.at = datetime(2025, 6, 3, 5, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        counts = scheduler.scheduler_tick(refresh_budgets=False)
    assert counts["full_dispatched"] == 1
    assert flows.CALLS.count((live_connection.pk, "inventory", "full")) == 1


def test_channels_of_a_disabled_connection_are_parked_not_run(connection, fake_clock):
    Channel.objects.filter(connection=connection).update(next_run_at=T0 - timedelta(minutes=1))
    assert dispatch.dispatch_due() == []
    assert list(Channel.objects.filter(connection=connection)
                .values_list("next_run_at", flat=True)) == [None, None, None]


def test_rules_are_validated_stored_cleaned_and_reschedule_the_channel(sales, fake_clock):
    warnings = actions.set_channel_rules(sales, [{"type": "minutely", "every": 5},
                                                 {"type": "daily", "at": "6:30"}])
    assert warnings == ["rules[0]: runs every 5 minutes; sales order is advised at most every "
                        "15 minutes — more runs mean more billable store requests"]
    sales.refresh_from_db()
    assert sales.rules == [{"type": "minutely", "every": 5},
                           {"type": "daily", "every": 1, "at": "06:30"}]
    assert sales.next_run_at == datetime(2025, 6, 2, 10, 10, tzinfo=UTC)

    with pytest.raises(InvalidSchedule) as caught:
        actions.set_channel_rules(sales, [{"type": "hourly", "every": 0}],
                                  [{"type": "daily", "at": "1:00"}])
    assert caught.value.errors == {"rules[0].every": "every must be from 1 to 24, not 0"}
    with pytest.raises(InvalidSchedule) as caught:
        actions.set_channel_rules(sales, [], [{"type": "daily", "at": "1:00"}])
    assert caught.value.errors == {
        "full_sync_rules": "only the inventory channel has a full sync schedule"}
    sales.refresh_from_db()
    assert len(sales.rules) == 2


def test_pausing_keeps_the_rules_and_resuming_schedules_again(sales, fake_clock):
    rules = list(sales.rules)
    actions.set_channel_enabled(sales, None)
    sales.refresh_from_db()
    assert (sales.rules, sales.next_run_at) == (rules, None)
    summary = actions.channel_summary(sales)
    assert (summary["enabled"], summary["next_run_at"]) == (False, None)
    fake_clock.advance(hours=1)
    actions.set_channel_enabled(sales, fake_clock.at)
    sales.refresh_from_db()
    assert sales.next_run_at == datetime(2025, 6, 2, 11, 15, tzinfo=UTC)


def test_the_channel_summary_shows_recurrence_last_completed_next_run_and_outcome(
        sales, run_with, django_capture_on_commit_callbacks):
    actions.set_channel_rules(sales, [{"type": "minutely", "every": 15}])
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.request_run(sales)
    summary = actions.channel_summary(_channel(sales.connection, "sales_order"))
    assert summary["recurrence"] == "Every 15 minutes"
    assert summary["full_sync_recurrence"] is None
    assert summary["last_completed_at"] == T0
    assert summary["next_run_at"] == datetime(2025, 6, 2, 10, 15, tzinfo=UTC)
    assert summary["running"] is False
    assert summary["last_run"]["id"] == run.pk
    assert summary["last_run"]["state"] == "succeeded"
    inventory = actions.channel_summary(_channel(sales.connection, "inventory"))
    assert (inventory["recurrence"], inventory["full_sync_recurrence"]) == (
        "Every 60 minutes", "Daily at 01:00")


def test_run_logs_carry_connection_channel_and_run_ids(sales, run_with, caplog,
                                                       django_capture_on_commit_callbacks):
    with caplog.at_level(logging.INFO, logger="dropstream.scheduling"), \
            django_capture_on_commit_callbacks(execute=True):
        run = actions.request_run(sales)
    records = [r for r in caplog.records if getattr(r, "run_id", None) == run.pk]
    messages = [r.getMessage() for r in records]
    assert any("started" in m for m in messages) and any("succeeded" in m for m in messages)
    line = json.loads(JsonFormatter().format(records[-1]))
    assert (line["connection_id"], line["channel"], line["run_id"]) == (
        sales.connection_id, "sales_order", run.pk)


def test_a_retry_waits_at_least_the_retry_after_the_store_asked_for_up_to_an_hour(settings):
    settings.RUN_RETRY_SECONDS = 60
    assert [tasks.retry_delay(1, after) for after in (None, 0, 10, 100.2, 1e9)] == [
        60, 60, 60, 101, tasks.MAX_RETRY_AFTER]
    assert tasks.retry_delay(2, 100) == 240

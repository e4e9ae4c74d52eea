"""A sick store does not hold a worker thread (issue 17): a run may wait only
``RUN_RETRY_SLEEP_SECONDS`` on a failing store; then it ends failed-transient and goes back to
the queue with its delayed retry, while a healthy store (and a short blip) is served as before.

Real parts: the Bright Sites sandbox over HTTP with its fault injection, a DSFX folder, the
worker's ``execute_run`` (a settable clock stands in for the queue's delay only).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dropstream.orders.models import Order
from dropstream.scheduling import clock, tasks
from dropstream.scheduling.models import Run, RunState, RunTrigger
from dropstream.shipments.models import Shipment, ShipmentState
from tests.e2e.test_shipment_guarantees import store_shipments, write_shipments

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
POST_SHIPMENT = "POST /orders/:id/shipments"
LOOK_UP = "GET /orders/:id/shipments"
SICK = {"endpoint": "*", "action": "status", "status": 500, "count": None}
# What one run of the sick store (every answer a 500) held its thread for before the budget:
# five attempts with their backoffs, 3.4 s on average in benchmarks/tenants.py --sick 500, up
# to 7.5 s of sleep alone.
SLACK = 1.5  # the requests themselves, the run's bookkeeping, a loaded machine


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def moment():
    source = Clock()
    with clock.use(source):
        yield source


@pytest.fixture
def queue_retries(settings):
    settings.RUN_MAX_ATTEMPTS = 3
    settings.RUN_RETRY_SECONDS = 60
    settings.RUN_RETRY_SLEEP_SECONDS = 3
    return settings


def queued_run(hub, channel: str) -> Run:
    """A run as the scheduler queues it (its queue message is this test's ``execute_run``)."""
    now = clock.now()
    return Run.objects.create(connection=hub.connection,
                              channel=hub.connection.channels.get(type=channel),
                              channel_type=channel, trigger=RunTrigger.MANUAL, queued_at=now,
                              enqueued_at=now)


def timed_execute(run: Run) -> tuple[str, float]:
    started = time.monotonic()
    outcome = tasks.execute_run(run.pk)
    return outcome, time.monotonic() - started


def handed_back(run: Run) -> None:
    """Execute ``run`` and check that it went back to the queue at once (``run`` refreshed)."""
    outcome, elapsed = timed_execute(run)
    assert outcome == "retrying"
    assert elapsed < SLACK
    run.refresh_from_db()
    assert run.state == RunState.QUEUED


def test_a_run_against_a_store_answering_500s_hands_its_worker_back_within_the_budget(
        hub, moment, queue_retries):
    queue_retries.RUN_RETRY_SLEEP_SECONDS = 2
    hub.control.create_orders(2, status="paid")
    hub.control.add_faults(SICK)
    hub.control.reset_meter()
    run = queued_run(hub, "sales_order")

    outcome, elapsed = timed_execute(run)

    assert outcome == "retrying"
    assert elapsed < 2 + SLACK
    run.refresh_from_db()
    assert (run.state, run.attempt, run.worker) == (RunState.QUEUED, 1, "")
    assert run.not_before == moment.at + timedelta(seconds=60)  # execute_run's retry_delay
    assert run.duration_ms < (2 + SLACK) * 1000
    # Which attempt hit the budget depends on the backoffs' jitter (the 0 s test pins it): most
    # often the third or fourth; now and then all five fit in 2 s.
    assert "had a server error (HTTP 500) on GET /orders (" in run.error
    assert "gave up after" in run.error
    assert 1 <= hub.control.meter()["by_endpoint"]["GET /orders"] <= 5
    assert not Order.objects.exists()

    # The store recovers; the queue's delayed message comes back: the next attempt imports.
    hub.control.clear_faults()
    assert tasks.execute_run(run.pk) == "later"  # not before its not_before
    moment.advance(60)
    assert tasks.execute_run(run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.state, run.attempt, run.counts["imported"]) == (RunState.SUCCEEDED, 2, 2)


def test_with_no_budget_the_first_failure_ends_the_run_without_any_wait(hub, moment,
                                                                        queue_retries):
    queue_retries.RUN_RETRY_SLEEP_SECONDS = 0
    hub.control.add_faults(SICK)
    hub.control.reset_meter()
    run = queued_run(hub, "sales_order")

    handed_back(run)

    assert run.error == (
        "Bright Sites store 'acme' had a server error (HTTP 500) on GET /orders (the remote "
        "kept failing: gave up after 1 attempt rather than wait past the run's 0 s for "
        "waiting on a failing remote; it is tried again later)")
    assert hub.control.meter()["by_endpoint"] == {"GET /orders": 1}


def test_a_healthy_store_and_a_short_blip_are_served_within_the_run(hub, moment,
                                                                     queue_retries):
    hub.control.create_orders(2, status="paid")
    hub.control.reset_meter()
    outcome, elapsed = timed_execute(queued_run(hub, "sales_order"))
    assert outcome == "succeeded"
    assert hub.control.meter()["by_endpoint"] == {"GET /orders": 1, "GET /orders/:id": 2}

    # One 500 and one 429 asking for a second: both fit in the run's 3 s, so the run rides them
    # out in the thread as before — no trip through the queue for a blip.
    hub.control.create_orders(1, status="paid")
    hub.control.add_faults([
        {"endpoint": "GET /orders", "action": "status", "status": 500, "count": 1},
        {"endpoint": "GET /orders/:id", "action": "status", "status": 429, "retry_after": 1,
         "count": 1}])
    hub.control.reset_meter()
    run = queued_run(hub, "sales_order")
    outcome, elapsed = timed_execute(run)
    assert outcome == "succeeded", Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert (run.attempt, run.counts["imported"]) == (1, 1)
    assert hub.control.meter()["by_endpoint"] == {"GET /orders": 2, "GET /orders/:id": 2}
    assert 1.0 <= elapsed < 1.5 + 1 + SLACK
    assert Order.objects.count() == 3


def test_a_429_asking_for_a_long_wait_hands_back_and_the_retry_waits_as_asked(
        hub, moment, queue_retries):
    hub.control.create_orders(1, status="paid")
    # 100 s: within the client's max_retry_after (120 s), so before the budget the worker
    # thread slept 100 s here.
    hub.control.add_faults({"endpoint": "GET /orders", "action": "status", "status": 429,
                            "retry_after": 100, "count": None})
    hub.control.reset_meter()
    run = queued_run(hub, "sales_order")

    handed_back(run)

    assert run.not_before == moment.at + timedelta(seconds=100)  # longer than retry_delay's 60
    assert run.error == (
        "Bright Sites store 'acme' is limiting requests on GET /orders; it asked to wait 100s "
        "(longer than the 3.0 s left of the run's 3 s for waiting on a failing remote; it is "
        "tried again later)")
    assert hub.control.meter()["by_endpoint"] == {"GET /orders": 1}

    hub.control.clear_faults()
    moment.advance(60)
    assert tasks.execute_run(run.pk) == "later"
    moment.advance(40)
    assert tasks.execute_run(run.pk) == "succeeded"


def test_a_lost_post_is_looked_up_on_the_requeued_attempt_not_sent_again(hub, moment,
                                                                       queue_retries):
    sku = next(r["final_sku"] for r in hub.control.inventories() if r["track"])
    [external_id] = hub.control.create_orders(1, status="paid",
                                              lines=[{"final_sku": sku, "quantity": 1}])
    hub.run("sales_order")
    order = Order.objects.get(external_id=str(external_id))
    write_shipments(hub.root, "shp_s_261201000000.csv",
                    [f"{order.warehouse_order_number},1,,1,2026-12-01,UPS,Ground,1ZSICK01,,,"])
    # The store applies the POST and answers 500 — then no time is left to look (budget 0):
    # the run hands back with the shipment's intent pending.
    queue_retries.RUN_RETRY_SLEEP_SECONDS = 0
    hub.control.add_faults({"endpoint": POST_SHIPMENT, "action": "status", "status": 500,
                            "after_write": True, "count": 1})
    hub.control.reset_meter()
    run = queued_run(hub, "shipment")

    handed_back(run)

    assert "the run's next attempt looks for it before posting again" in run.error
    assert len(store_shipments(hub, order)) == 1  # it is in the store; the hub cannot know
    assert hub.control.meter()["by_endpoint"] == {POST_SHIPMENT: 1}
    assert Shipment.objects.get(order=order).state != ShipmentState.COMPLETED

    moment.advance(60)
    assert tasks.execute_run(run.pk) == "succeeded"

    run.refresh_from_db()
    assert run.attempt == 2
    meter = hub.control.meter()["by_endpoint"]
    assert (meter[POST_SHIPMENT], meter[LOOK_UP]) == (1, 1)  # looked up, never sent again
    in_store = store_shipments(hub, order)
    assert len(in_store) == 1
    shipment = Shipment.objects.get(order=order)
    assert shipment.state == ShipmentState.COMPLETED
    assert shipment.store_shipment_id == str(in_store[0]["id"])

"""Two hub processes on one channel at once, on the suite's database (SQLite, then PostgreSQL):
each effect happens once (DESIGN.md invariants 1 and 2). Real flows, the real run lock, the
Bright Sites sandbox over HTTP and a DSFX folder worked by the sandbox robot."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from dropstream.scheduling.models import Run, RunState

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes"),
              pytest.mark.django_db(transaction=True)]
POST_SHIPMENT = "POST /orders/:id/shipments"


def _orders_shipped_by_the_warehouse(hub, count: int) -> list[int]:
    """``count`` paid orders sent to the warehouse and shipped there (one package each); the
    shipment file waits in /out for the hub's shipment channel."""
    # A real store may not check quantities (specs/brightsites-api.md §8.3): a second POST of a
    # package is a second shipment and a second e-mail to the customer.
    hub.control.settings(shipment_validation="lenient")
    ids = hub.control.create_orders(count, status="paid")
    assert hub.run("sales_order").counts["exported"] == count
    hub.robot.ship_all_now()
    return ids


def _store_shipments(hub, order_ids: list[int]) -> Counter:
    """Shipments per order in the store, and tracking numbers must not repeat within one."""
    per_order: Counter = Counter()
    for order_id in order_ids:
        stored = hub.control.get_order(order_id)["shipments"]
        tracking = [s["tracking_number"] for s in stored]
        assert len(tracking) == len(set(tracking)), f"order {order_id}: {tracking}"
        per_order[order_id] = len(stored)
    return per_order


def _wait_for_posts(hub, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while hub.control.meter()["by_endpoint"].get(POST_SHIPMENT, 0) < count:
        assert time.monotonic() < deadline, "the shipment POSTs did not start"
        time.sleep(0.05)


def test_two_processes_running_one_channel_at_once_post_each_shipment_once(hub, hub_processes):
    order_ids = _orders_shipped_by_the_warehouse(hub, 8)
    # Each POST takes 0.6 s: the first run lasts longer than its 3 s lease, so it must renew it,
    # and the second process starts while the first is posting.
    hub.control.add_faults([{"endpoint": POST_SHIPMENT, "action": "latency", "delay_ms": 600,
                             "count": None}])
    hub.control.reset_meter()
    hub_processes.extra_env["DROPSTREAM_RUN_LEASE_SECONDS"] = "3"
    command = ("sync", "run", str(hub.connection.pk), "--channel", "shipment")

    first = hub_processes.start(*command)
    second = hub_processes.start(*command)
    results = [hub_processes.wait(first), hub_processes.wait(second)]

    assert _store_shipments(hub, order_ids) == Counter({i: 1 for i in order_ids})
    assert hub.control.meter()["by_endpoint"][POST_SHIPMENT] == 8
    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]
    assert sum("waiting for run" in r.output for r in results) == 1
    runs = list(Run.objects.filter(channel__connection=hub.connection,
                                   channel_type="shipment").order_by("started_at"))
    assert [(r.state, r.attempt, r.trigger) for r in runs] == [
        (RunState.SUCCEEDED, 1, "manual"), (RunState.SUCCEEDED, 1, "manual")]
    assert runs[0].finished_at <= runs[1].started_at
    assert sorted(r.counts["shipments_posted"] for r in runs) == [0, 8]


def test_a_run_frozen_past_its_lease_stops_before_its_next_post_after_a_takeover(
        hub, hub_processes):
    """The laptop-sleep case, for real: SIGSTOP the posting process until its lease lapses, let
    a second process take the run over, and SIGCONT the first while the second still posts."""
    order_ids = _orders_shipped_by_the_warehouse(hub, 10)
    hub.control.add_faults([{"endpoint": POST_SHIPMENT, "action": "latency", "delay_ms": 300,
                             "count": None}])
    hub.control.reset_meter()
    hub_processes.extra_env["DROPSTREAM_RUN_LEASE_SECONDS"] = "2"
    command = ("sync", "run", str(hub.connection.pk), "--channel", "shipment")

    frozen = hub_processes.start(*command)
    _wait_for_posts(hub, 2)  # the second POST is in flight when the process stops
    frozen.send_signal(signal.SIGSTOP)
    time.sleep(2.5)  # past the 2 s lease; the POSTs it had in flight have reached the store
    # Posting runs on threads, so more than two POSTs may have left before the stop: only a
    # POST counted after this one can be the rescuer's.
    sent_before_the_rescue = hub.control.meter()["by_endpoint"].get(POST_SHIPMENT, 0)
    assert sent_before_the_rescue < 10
    rescuer = hub_processes.start(*command)
    _wait_for_posts(hub, sent_before_the_rescue + 1)  # the rescuer has taken the run over
    frozen.send_signal(signal.SIGCONT)
    woken, rescued = hub_processes.wait(frozen), hub_processes.wait(rescuer)

    assert _store_shipments(hub, order_ids) == Counter({i: 1 for i in order_ids})
    assert hub.control.meter()["by_endpoint"][POST_SHIPMENT] == 10
    assert rescued.returncode == 0, rescued.output
    assert "stopped renewing its lease; completing it first" in rescued.output
    assert woken.returncode == 1, woken.output
    # It woke with a lapsed lease, found the run taken, and stopped before its next POST.
    # (Its posting threads see the lapsed lease before its keeper learns of the takeover.)
    assert "took the run over" in woken.output
    assert "stopped before its next request" in " ".join(woken.output.split())
    taken_over = Run.objects.filter(channel__connection=hub.connection,
                                    channel_type="shipment").order_by("id").first()
    assert (taken_over.state, taken_over.attempt) == (RunState.SUCCEEDED, 2)

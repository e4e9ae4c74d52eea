"""The request meter keeps every request a killed process sent (DESIGN.md invariant 3)."""

from __future__ import annotations

import signal
import time

import pytest

from dropstream.metering.meter import UNANSWERED
from dropstream.metering.models import ApiCall

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes"),
              pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_requests_of_a_process_killed_mid_request_are_all_on_the_bill(hub, hub_processes,
                                                                      tmp_path):
    hub.control.create_orders(5, status="paid")
    # The third order read hangs in the store: the kill lands while it is in flight.
    hub.control.add_faults([{"endpoint": "GET /orders/:id", "action": "latency",
                             "delay_ms": 30_000, "count": 1}])
    hub.control.reset_meter()
    hub_processes.extra_env["DROPSTREAM_RUN_LEASE_SECONDS"] = "2"
    home = str(tmp_path / "one-home")  # both processes: the second recovers the first's journal
    command = ("sync", "run", str(hub.connection.pk), "--channel", "sales_order")

    doomed = hub_processes.start(*command, DROPSTREAM_HOME=home)
    _wait_for(lambda: hub.control.meter()["by_endpoint"].get("GET /orders/:id", 0) >= 5)
    time.sleep(0.3)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    sent_before_kill = hub.control.meter()["total"]
    assert ApiCall.objects.filter(store=hub.connection.store).count() < sent_before_kill

    hub.control.clear_faults()
    finished = hub_processes.run(*command, DROPSTREAM_HOME=home)

    assert finished.returncode == 0, finished.output
    billed = ApiCall.objects.filter(store=hub.connection.store)
    assert billed.count() == hub.control.meter()["total"]
    assert billed.filter(status_code__isnull=True, error=UNANSWERED).count() == 1
    assert list(billed.filter(status_code__isnull=True).values_list("endpoint", flat=True)) \
        == ["GET /orders/:id"]



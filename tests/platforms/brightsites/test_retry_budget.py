"""The run's retry budget in the HTTP client, against the Bright Sites sandbox over HTTP: waits
that fit are waited, one that does not ends the request with its transient error, and an
attempt that timed out counts its wait (issue 17)."""

from __future__ import annotations

import threading
import time

import pytest

from dropstream.platforms.base import RetryBudget
from dropstream.platforms.errors import RateLimited, RemoteServerError, RemoteTimeout
from tests.platforms.brightsites.helpers import make_adapter


def test_the_budget_takes_what_fits_and_counts_what_was_waited():
    budget = RetryBudget(1.0)
    assert budget.take(0.6) and budget.left == pytest.approx(0.4)
    assert not budget.take(0.5)  # would pass it: nothing taken
    assert budget.spent == pytest.approx(0.6)
    budget.charge(2.0)  # a timed-out attempt waited longer than was left
    assert budget.left == 0.0 and not budget.take(0.0)
    unlimited = RetryBudget(None)
    assert unlimited.take(1e6) and unlimited.left == float("inf")


def test_threads_sharing_a_budget_never_take_more_than_it_holds():
    budget = RetryBudget(10.0)
    taken: list[bool] = []

    def take() -> None:
        for _ in range(100):
            taken.append(budget.take(0.125))  # a binary fraction: the sums are exact

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 80
    assert budget.spent == 10.0


def test_a_server_error_past_the_budget_is_raised_without_waiting(bs_store):
    budget = RetryBudget(0)
    adapter, meter = make_adapter(bs_store, backoff_base=0.5, retry_budget=budget)
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults({"endpoint": "GET /orders/:id", "action": "status",
                                 "status": 503, "count": None})

    started = time.monotonic()
    with pytest.raises(RemoteServerError) as caught:
        adapter.get_order(str(order_id))
    adapter.close()

    assert time.monotonic() - started < 0.5
    assert [(c.status, c.attempt) for c in meter] == [(503, 1)]
    assert str(caught.value).endswith("; it is tried again later)")


def test_waits_that_fit_are_waited_and_shared_by_the_requests_of_the_run(bs_store):
    budget = RetryBudget(10)
    adapter, meter = make_adapter(bs_store, retry_budget=budget)  # backoffs of at most 0.05 s
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults({"endpoint": "GET /orders/:id", "action": "status",
                                 "status": 500, "count": 2})

    order = adapter.get_order(str(order_id))
    adapter.close()

    assert order.external_id == str(order_id)
    assert [c.status for c in meter] == [500, 500, 200]
    assert 0 < budget.spent <= 0.1


def test_a_retry_after_longer_than_what_is_left_is_not_waited(bs_store):
    budget = RetryBudget(3)
    adapter, meter = make_adapter(bs_store, retry_budget=budget)
    bs_store.control.add_faults({"endpoint": "GET /orders", "action": "status", "status": 429,
                                 "retry_after": 5, "count": None})

    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        list(adapter.list_orders(updated_since=None))
    adapter.close()

    assert time.monotonic() - started < 1.0
    assert caught.value.retry_after == 5
    assert not caught.value.maybe_applied
    assert str(caught.value) == (
        "Bright Sites store 'acme' is limiting requests on GET /orders; it asked to wait 5s "
        "(longer than the 3.0 s left of the run's 3 s for waiting on a failing remote; it is "
        "tried again later)")
    assert len(meter) == 1 and budget.spent == 0


def test_an_attempt_that_timed_out_counts_its_wait(bs_store):
    # A store that stopped answering: without the budget, five read timeouts in a row.
    budget = RetryBudget(0.2)
    adapter, meter = make_adapter(bs_store, read_timeout=0.3, retry_budget=budget)
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.add_faults({"endpoint": "GET /orders/:id", "action": "timeout",
                                 "delay_ms": 1500, "count": None})

    with pytest.raises(RemoteTimeout) as caught:
        adapter.get_order(str(order_id))
    adapter.close()

    assert [(c.status, c.attempt) for c in meter] == [(None, 1)]
    assert budget.spent >= 0.3
    assert "gave up after 1 attempt" in str(caught.value)

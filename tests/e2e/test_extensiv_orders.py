"""Orders from the Bright Sites sandbox reach the Extensiv simulator through the hub's own
flows exactly once — under injected 5xx answers, a create whose answer is lost after Extensiv
committed it, and a token revoked mid-run — whichever duplicate-reference mode the tenant has."""

from __future__ import annotations

from collections import Counter

import pytest

from dropstream.metering.models import ApiCall
from dropstream.orders.models import Order, OrderStatus
from tests.e2e.conftest import run_locked
from tests.platforms.extensiv.fixtures import connect, extensiv_wms  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def run_until_sent(connection, runs: int = 6) -> list:
    """The sales channel run as the scheduler would, until nothing waits to be sent."""
    results = []
    for _ in range(runs):
        results.append(run_locked(connection, "sales_order"))
        if not Order.objects.filter(status__in=(S.NEW, S.PENDING, S.QUEUED,
                                                S.DELAYED)).exists():
            break
    return results


@pytest.mark.parametrize("mode", ["reject", "allow"])
def test_two_hundred_orders_reach_extensiv_once_under_faults(bs_store, extensiv, mode):
    extensiv.settings(duplicate_reference=mode)
    connection = connect(bs_store, extensiv, duplicate_reference=mode)
    bs_store.control.create_orders(200, status="paid")
    extensiv.sandbox.faults.add([
        {"endpoint": "POST /orders", "action": "lose_response", "count": 1},
        {"endpoint": "POST /orders", "action": "expire_token", "probability": 0.05,
         "count": 1},
        {"endpoint": "POST /orders", "action": "status", "status": 502, "after_write": True,
         "probability": 0.1, "count": None},
        {"endpoint": "POST /orders", "action": "status", "status": 500, "probability": 0.1,
         "count": None},
    ])

    run_until_sent(connection)

    orders = list(Order.objects.all())
    assert len(orders) == 200
    assert Counter(o.status for o in orders) == {S.OPEN: 200}
    held = Counter(ref.lower() for ref in extensiv.references())
    assert set(held.values()) == {1}, [ref for ref, n in held.items() if n > 1]
    assert set(held) == {o.warehouse_order_number.lower() for o in orders}
    meter = extensiv.sandbox.meter.snapshot()["by_endpoint_status"]["POST /orders"]
    assert meter.get("no_response") == 1 and meter.get("502", 0) > 0 and meter.get("500", 0) > 0
    # The token revoked mid-run was replaced by one new token, not one per request.
    assert any(e["fault"] == "expire_token" for e in extensiv.sandbox.requests.entries())
    assert extensiv.sandbox.meter.count("POST /AuthServer/api/Token") == 2


def test_a_lost_create_answer_leaves_one_order_and_the_secret_stays_hidden(bs_store, extensiv):
    extensiv.settings(duplicate_reference="allow")
    connection = connect(bs_store, extensiv, duplicate_reference="allow")
    [store_id] = bs_store.control.create_orders(1, status="paid")
    extensiv.sandbox.add_fault(endpoint="POST /orders", action="lose_response", count=1)

    result = run_locked(connection, "sales_order")

    assert result.ok, result.error
    order = Order.objects.get(external_id=str(store_id))
    assert order.status == S.OPEN
    assert len(extensiv.order_by_reference(order.warehouse_order_number)) == 1
    calls = list(ApiCall.objects.filter(platform="extensiv").values_list(
        "endpoint", "status_code", "error"))
    assert ("POST /orders", None) in {(e, s) for e, s, _ in calls}
    assert all(extensiv.client_secret not in " ".join(map(str, row)) for row in calls)
    # Found by its reference after the lost answer: it was never sent a second time.
    assert extensiv.sandbox.meter.count("POST /orders") == 1


@pytest.mark.parametrize("mode", ["reject", "allow"])
def test_a_run_that_dies_after_creating_is_completed_without_a_second_create(
        bs_store, extensiv, mode, monkeypatch):
    from dropstream.intents.models import Intent, IntentState
    from dropstream.sync import export_orders

    extensiv.settings(duplicate_reference=mode)
    connection = connect(bs_store, extensiv, duplicate_reference=mode)
    bs_store.control.create_orders(3, status="paid")
    real = export_orders.order_status.transition_many

    def dies(*args, **kwargs):  # the hub dies after Extensiv took the orders, before booking
        raise RuntimeError("killed between the creates and their bookkeeping")

    monkeypatch.setattr(export_orders.order_status, "transition_many", dies)
    with pytest.raises(RuntimeError):
        export_orders.export_orders(connection, _warehouse_adapter(connection))
    monkeypatch.setattr(export_orders.order_status, "transition_many", real)
    assert Intent.objects.filter(kind="export", state=IntentState.PENDING).count() == 1
    posts = extensiv.sandbox.meter.count("POST /orders")

    result = run_locked(connection, "sales_order")

    assert result.ok, result.error
    assert set(Order.objects.values_list("status", flat=True)) == {S.OPEN}
    assert sorted(extensiv.references()) == sorted(
        Order.objects.values_list("warehouse_order_number", flat=True))
    assert extensiv.sandbox.meter.count("POST /orders") == posts == 3  # none sent again


def _warehouse_adapter(connection):
    from dropstream.orders.prepare import prepare_orders
    from dropstream.sync.adapters import build, store_adapter
    from dropstream.sync.import_orders import import_orders

    store = store_adapter(connection.store)
    import_orders(connection, store, warehouse_cancel=lambda number: None)
    store.close()
    prepare_orders(connection)
    return build(connection.warehouse)

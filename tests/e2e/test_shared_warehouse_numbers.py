"""Two stores sharing one warehouse (a 3PL), each connection's sales run in its own process,
numbering orders for that warehouse at the same time: each warehouse order number is given
once (``make_numbers_unique``), or the warehouse's shipments name an ambiguous order. Real
flows and processes, the Bright Sites sandbox over HTTP, one DSFX folder."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from dropstream.connections import actions
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.sandbox.brightsites.control import SandboxControl
from dropstream.sandbox.brightsites.server import BrightSitesSandbox
from dropstream.scheduling.models import Run
from dropstream.sync.adapters import store_adapter
from dropstream.sync.import_orders import import_orders
from tests.e2e.test_parts_concurrency import lock_waits, wait_for
from tests.fixtures.secret_leaks import make_secret
from tests.fixtures.warehouse_files import ph_numbers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes"),
              pytest.mark.django_db(transaction=True)]
S = OrderStatus
ORDERS = 3


@pytest.fixture
def twin(hub, bs_store):
    """A second store of the merchant on the hub's warehouse (as at a 3PL): the store
    ``acme`` of another Bright Sites sandbox with the same seed, so its orders get the same
    store numbers as the hub's store (a sandbox draws a store's ids from its seed and
    subdomain; two subdomains of one sandbox would not clash). Yields (connection, control)."""
    sandbox = BrightSitesSandbox(seed=bs_store.sandbox.seed).start()
    token = make_secret("bsrw")
    sandbox.add_store("acme", read_write_token=token, read_only_token=make_secret("bsro"))
    control = SandboxControl(sandbox.control_url("acme"))
    merchant = hub.connection.customer
    store = actions.create_store(merchant, name="Bravo", platform="brightsites", adapter={
        "subdomain": "acme", "api_token": token, "api_url": sandbox.api_url("acme"),
        "import_since": "2000-01-01T00:00:00Z"})
    # The warehouse shared: the hub's connection and this one send to one folder.
    connection = actions.create_connection(name="Bravo", customer=merchant, store=store,
                                           warehouse=hub.connection.warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    try:
        yield connection, control
    finally:
        control.close()
        sandbox.stop()


def import_only(connection) -> None:
    """The store's new orders into the hub, New, without preparing them (a run's first step)."""
    store = store_adapter(connection.store)
    try:
        import_orders(connection, store, warehouse_cancel=lambda number: None)
    finally:
        store.close()


def test_two_stores_numbering_orders_for_one_warehouse_at_once_never_share_a_number(
        hub, twin, hub_processes):
    """Store A's run has numbered its orders and not yet committed (the test holds one of
    their lines, so the run stops at writing the lines) when store B's run numbers orders
    with the same store numbers. B must not read A's numbers as free: it waits for A's
    numbers and suffixes its own, so each number names one order at the warehouse."""
    if db.vendor != "postgresql":
        pytest.skip("SQLite's write lock (BEGIN IMMEDIATE) serialises the two transactions; "
                    "the interleaving needs PostgreSQL's row locks")
    bravo, bravo_control = twin
    assert hub.control.create_orders(ORDERS) == bravo_control.create_orders(ORDERS)
    import_only(hub.connection)
    acme_orders = Order.objects.filter(connection=hub.connection)
    assert set(acme_orders.values_list("status", flat=True)) == {S.NEW}
    store_numbers = sorted(acme_orders.values_list("external_display_id", flat=True))
    assert len(store_numbers) == ORDERS

    # The test holds a line of one of A's orders, as a slow database would: A's prepare then
    # stops at writing its lines, after it has numbered its orders. Meanwhile B runs.
    with transaction.atomic():
        list(OrderLine.objects.select_for_update().filter(order=acme_orders.first()))
        acme = hub_processes.start("sync", "run", str(hub.connection.pk),
                                   "--channel", "sales_order")
        wait_for(lambda: any("UPDATE" in q and "orderline" in q for q in lock_waits()),
                 what="A's prepare to reach its lines, numbered")
        other = hub_processes.start("sync", "run", str(bravo.pk), "--channel", "sales_order")
        # B's run either ends (it numbered its orders while A's numbers were not committed)
        # or waits for A's numbering transaction.
        wait_for(lambda: other.poll() is not None or len(lock_waits()) >= 2,
                 what="B's run to end or to wait for A's numbering")
        other_ended_during_a = other.poll() is not None
    results = [hub_processes.wait(acme), hub_processes.wait(other)]
    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]

    counts = {r.channel.connection_id: r.counts for r in
              Run.objects.filter(channel_type="sales_order").select_related("channel")}
    # A's import found nothing new, so A waited in its prepare, not in its import.
    assert (counts[hub.connection.pk]["imported"], counts[hub.connection.pk]["updated"]) == (0, 0)
    assert counts[hub.connection.pk]["exported"] + counts[bravo.pk]["exported"] == 2 * ORDERS
    warehouse_numbers = Counter(Order.objects.filter(
        connection__warehouse_id=hub.connection.warehouse_id)
        .values_list("warehouse_order_number", flat=True))
    # (Before the numbers were read under a warehouse lock, B read A's numbers as free while
    # A's transaction was open: each store number twice, in the DB and in the files.)
    once = Counter(dict.fromkeys(warehouse_numbers, 1))
    assert (warehouse_numbers, ph_numbers(hub.root)) == (once, once)
    assert len(warehouse_numbers) == 2 * ORDERS
    # A numbered first and keeps the store's numbers; B's clash, so B's get its store's id.
    store_id = bravo.store_id
    assert sorted(acme_orders.values_list("warehouse_order_number", flat=True)) == store_numbers
    assert sorted(Order.objects.filter(connection=bravo)
                  .values_list("warehouse_order_number", flat=True)) == \
        sorted(f"{n}-{store_id}" for n in store_numbers)
    # The dangerous path ran: B came to number while A's numbering was open, and waited.
    assert not other_ended_during_a

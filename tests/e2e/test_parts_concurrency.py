"""A store's orders split and routed between two warehouses while the connection that imports
them and a connection that receives parts run at the same time, in two processes, or while
the importing process is killed: each part exists once and reaches its warehouse once
(DESIGN.md invariant 1). Real flows, the real run lock, the Bright Sites sandbox over HTTP and
two DSFX folders."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from dropstream.connections import actions as connections
from dropstream.inventory.models import InventoryLevel
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.rules.models import RuleAction
from dropstream.scheduling.models import Run
from tests.e2e.conftest import Hub
from tests.e2e.test_rules_routing import activate, second_warehouse
from tests.fixtures.warehouse_files import ph_numbers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes"),
              pytest.mark.django_db(transaction=True)]
S = OrderStatus


@pytest.fixture
def west(hub, tmp_path):
    return second_warehouse(hub, tmp_path / "dsfx-west")


def split_by_stock(hub, west) -> tuple[str, str]:
    """The store's rule: a line goes where its SKU is stocked (one SKU in the east, the hub's
    connection, one in the west). Returns (east SKU, west SKU)."""
    records = [r for r in hub.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    east_sku, west_sku = records[0]["final_sku"], records[1]["final_sku"]
    InventoryLevel.objects.create(warehouse_id=hub.connection.warehouse_id, sku=east_sku,
                                  available=100_000)
    InventoryLevel.objects.create(warehouse_id=west.connection.warehouse_id, sku=west_sku,
                                  available=100_000)
    east_id, west_id = hub.connection.pk, west.connection.pk
    activate(hub.connection.store, "Ship from stock", RuleAction.SPLIT, "true", {
        "connection_by_line": f"{east_id} in line.stock && line.stock[{east_id}] >= "
                              f"line.quantity ? {east_id} : {west_id}"})
    return east_sku, west_sku


def wait_for(condition, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


def lock_waits() -> list[str]:
    """The statements of this database's sessions that wait for a row lock now."""
    with db.cursor() as cursor:
        # Inside a transaction the statistics views keep their first snapshot unless told.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return [row[0] for row in cursor.fetchall()]


def overlapped(first: Run, second: Run) -> bool:
    return first.started_at < second.finished_at and second.started_at < first.finished_at


def sftp_west(hub, sftp_server) -> Hub:
    """The second warehouse (west) on the SFTP server, so a test can hold its upload."""
    first = hub.connection
    warehouse = connections.create_warehouse(
        first.customer, description="West DC", platform="dropstream",
        adapter={"connection_string": sftp_server.connection_string, "settle_seconds": 0})
    connection = connections.create_connection(name="Acme West", customer=first.customer,
                                               store=first.store, warehouse=warehouse)
    connection.imports_orders = False
    connection.save(update_fields=["imports_orders"])
    connections.set_connection_enabled(connection, timezone.now())
    return Hub(connection=connection, robot=None, root=sftp_server.root, control=hub.control)


def test_a_store_update_never_deletes_a_part_whose_file_is_on_its_way(
        hub, sftp_server, hub_processes):
    """The importing connection takes a store update of an unsent order and deletes its parts
    to split it afresh (``reset_parts``), while the connection the part was routed to claims
    that part and uploads it. The part must either be seen as sent (the update is only
    recorded) or be gone before the claim: never deleted under a file on its way, which the
    next split sends again as a second warehouse order for the same lines."""
    if db.vendor != "postgresql":
        pytest.skip("SQLite's write lock (BEGIN IMMEDIATE) serialises the two transactions; "
                    "the interleaving needs PostgreSQL's row locks")
    west = sftp_west(hub, sftp_server)
    east_sku, west_sku = split_by_stock(hub, west)
    # The east cannot take the store's shipping method (no carrier code): the parent waits in
    # Error at the east, unsent, while its part is Queued for the west. The store's next
    # version of the order is taken whole, so its parts are reset.
    hub.connection.unmapped_shipping_method = "error"
    hub.connection.save(update_fields=["unmapped_shipping_method"])
    (order_id,) = hub.control.create_orders(1, status="paid", lines=[
        {"final_sku": east_sku, "quantity": 1}, {"final_sku": west_sku, "quantity": 1}])
    hub.run("sales_order")
    parent = Order.objects.get(external_id=str(order_id))
    part = Order.objects.get(parent=parent)
    assert (parent.status, part.status, part.export_reference) == (S.ERROR, S.QUEUED, "")
    number = part.warehouse_order_number
    hub.control.update_order(order_id, note="Leave at the back door")
    sftp_server.hold_after_rename = "ord_"

    # The test holds the part's lines, as a slow database would: the importer's reset then
    # stops at deleting them, after it has judged the part unsent. Meanwhile the west runs.
    with transaction.atomic():
        list(OrderLine.objects.select_for_update().filter(order=part))
        importer = hub_processes.start("sync", "run", str(hub.connection.pk),
                                       "--channel", "sales_order")
        wait_for(lambda: any("DELETE" in q and "orderline" in q for q in lock_waits()),
                 what="the importer's reset to reach the part's lines")
        exporter = hub_processes.start("sync", "run", str(west.connection.pk),
                                       "--channel", "sales_order")
        # The west's claim either waits for the reset, or is made and the file uploaded
        # (held at the warehouse before its confirmation, until released).
        wait_for(lambda: sftp_server.renamed.is_set() or len(lock_waits()) >= 2,
                 what="the west's export to upload the part or to wait for the reset")
        uploaded_during_the_reset = sftp_server.renamed.is_set()
    # The reset goes on now; the west's upload is confirmed once the reset is over.
    wait_for(lambda: importer.poll() is not None, what="the importer's run to end")
    sftp_server.release()
    results = [hub_processes.wait(importer), hub_processes.wait(exporter)]
    assert [r.returncode for r in results] == [0, 0], [r.output for r in results]
    runs = {r.channel.connection_id: r for r in Run.objects.filter(channel_type="sales_order")
            .select_related("channel").order_by("id")}
    assert overlapped(runs[hub.connection.pk], runs[west.connection.pk])

    west.run("sales_order")  # sends what the reset split afresh, if the west has not yet
    # One warehouse order for the part's lines, and the hub knows it: the part of the store's
    # new version, Open. (Before the parts were locked, the claim went ahead, the reset
    # deleted the part under its file, and the new split's part was sent again: 2 here.)
    assert ph_numbers(west.root) == Counter({number: 1})
    (again,) = Order.objects.filter(parent__external_id=str(order_id))
    assert (again.warehouse_order_number, again.status) == (number, S.OPEN)
    # The dangerous path ran: the west's claim came while the reset was under way, and waited.
    assert not uploaded_during_the_reset
    assert west.run("sales_order").counts["exported"] == 0

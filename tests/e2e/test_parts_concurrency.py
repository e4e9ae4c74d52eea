"""A store's orders split and routed between two warehouses while the connection that imports
them and a connection that receives parts run at the same time, in two processes, or while
the importing process is killed: each part exists once and reaches its warehouse once
(DESIGN.md invariant 1). Real flows, the real run lock, the Bright Sites sandbox over HTTP and
two DSFX folders: the east's local, the west's on an SFTP server that can hold an upload
after its file has landed (``hold_after_rename``), so the tests choose where a run is."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import pytest
from django.db import connection as db
from django.db import transaction

from dropstream.alerts.models import Alert, AlertKind
from dropstream.orders import actions as order_actions
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.scheduling.models import Run, RunState
from tests.e2e.conftest import Hub
from tests.e2e.test_rules_routing import second_warehouse, split_by_stock
from tests.fixtures.warehouse_files import ph_numbers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes"),
              pytest.mark.django_db(transaction=True)]
S = OrderStatus


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
    return second_warehouse(hub, sftp_server.root,
                            connection_string=sftp_server.connection_string)


def part_queued_for_the_west_of_an_unsent_order(hub, west) -> tuple[int, Order]:
    """A store order split by stock whose parent waits in Error at the east, unsent (the east
    cannot take the store's shipping method: no carrier code), while its part is Queued for
    the west. Returns (the store's order id, the part)."""
    east_sku, west_sku = split_by_stock(hub, west)
    hub.connection.unmapped_shipping_method = "error"
    hub.connection.save(update_fields=["unmapped_shipping_method"])
    (order_id,) = hub.control.create_orders(1, status="paid", lines=[
        {"final_sku": east_sku, "quantity": 1}, {"final_sku": west_sku, "quantity": 1}])
    hub.run("sales_order")
    parent = Order.objects.get(external_id=str(order_id))
    part = Order.objects.get(parent=parent)
    assert (parent.status, part.status, part.export_reference) == (S.ERROR, S.QUEUED, "")
    return order_id, part


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
    order_id, part = part_queued_for_the_west_of_an_unsent_order(hub, west)
    number = part.warehouse_order_number
    # The store's next version of the order is taken whole, so its parts are reset.
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


def test_a_reset_never_takes_back_a_part_whose_file_is_on_its_way(
        hub, sftp_server, hub_processes):
    """The Reset action on the parent (a person, in the web process) takes its parts' lines
    back and deletes the parts, once it has found none sent, while the west claims a part
    and uploads it. As with a store update: the claim is seen, or waits and finds nothing."""
    if db.vendor != "postgresql":
        pytest.skip("SQLite's write lock (BEGIN IMMEDIATE) serialises the two transactions; "
                    "the interleaving needs PostgreSQL's row locks")
    west = sftp_west(hub, sftp_server)
    order_id, part = part_queued_for_the_west_of_an_unsent_order(hub, west)
    number = part.warehouse_order_number
    hold_uploads(sftp_server)

    def reset() -> None:
        try:
            order_actions.reset(Order.objects.get(pk=part.parent_id), actor="ops@example.com")
        finally:
            db.close()

    resetting = threading.Thread(target=reset)
    with transaction.atomic():  # the part's lines held, as in the store update's test
        list(OrderLine.objects.select_for_update().filter(order=part))
        resetting.start()
        wait_for(lambda: any("UPDATE" in q and "orderline" in q for q in lock_waits()),
                 what="the reset to reach the part's lines")
        exporter = hub_processes.start("sync", "run", str(west.connection.pk),
                                       "--channel", "sales_order")
        wait_for(lambda: sftp_server.renamed.is_set() or len(lock_waits()) >= 2,
                 what="the west's export to upload the part or to wait for the reset")
        uploaded_during_the_reset = sftp_server.renamed.is_set()
    resetting.join(timeout=20)
    sftp_server.release()
    exported = hub_processes.wait(exporter)
    assert exported.returncode == 0, exported.output
    assert not resetting.is_alive()

    hub.run("sales_order")  # the parent's rules run again: a new part for the west
    west.run("sales_order")
    # (Before the parts were locked: 2 here, one of them for a part the hub had deleted.)
    assert ph_numbers(west.root) == Counter({number: 1})
    (again,) = Order.objects.filter(parent__external_id=str(order_id))
    assert (again.warehouse_order_number, again.status) == (number, S.OPEN)
    assert not uploaded_during_the_reset


def test_a_store_cancellation_of_a_part_whose_file_is_on_its_way_reopens_it_with_an_alert(
        hub, sftp_server, hub_processes):
    """The importing connection reads a store cancellation while the connection a part was
    routed to is uploading that part (its batch claimed, the file at the warehouse, not yet
    confirmed). The importer closes the part, taking it out of the batch; the file reached
    the warehouse anyway, so the west's confirmation opens it again and asks a person to
    cancel it there: never shipped as if it were not canceled, never lost track of."""
    west = sftp_west(hub, sftp_server)
    east_sku, west_sku = split_by_stock(hub, west)
    (order_id,) = hub.control.create_orders(1, status="paid", lines=[
        {"final_sku": east_sku, "quantity": 1}, {"final_sku": west_sku, "quantity": 1}])
    hub.run("sales_order")
    parent = Order.objects.get(external_id=str(order_id))
    part = Order.objects.get(parent=parent)
    assert (parent.status, part.status) == (S.OPEN, S.QUEUED)
    sftp_server.hold_after_rename = "ord_"
    exporter = hub_processes.start("sync", "run", str(west.connection.pk),
                                   "--channel", "sales_order")
    assert sftp_server.renamed.wait(20), hub_processes.output(exporter)
    part.refresh_from_db()
    assert part.status == S.QUEUED and part.export_reference  # in a batch, the file landed

    hub.control.update_order(order_id, status="canceled")
    importer = hub_processes.run("sync", "run", str(hub.connection.pk),
                                 "--channel", "sales_order", timeout=30)
    assert importer.returncode == 0, importer.output
    part.refresh_from_db()
    assert (part.status, part.export_reference) == (S.CLOSED, "")
    assert exporter.poll() is None  # still waiting for the warehouse's answer
    sftp_server.release()
    exported = hub_processes.wait(exporter, timeout=30)

    assert exported.returncode == 0, exported.output
    runs = {r.channel.connection_id: r for r in Run.objects.filter(channel_type="sales_order")
            .select_related("channel").order_by("id")}
    assert overlapped(runs[hub.connection.pk], runs[west.connection.pk])
    part.refresh_from_db()
    assert part.status == S.OPEN and part.exported_at is not None
    assert part.canceled_in_store_at is not None
    assert ph_numbers(west.root) == Counter({part.warehouse_order_number: 1})
    alert = Alert.objects.get(kind=AlertKind.CANCEL_AT_WAREHOUSE,
                              connection=west.connection)
    assert "the file reached the warehouse" in alert.message
    assert alert.object_id == str(part.pk)
    # The parent had reached the east already: asked of the east, DSFX cannot, so alerted.
    assert Alert.objects.filter(kind=AlertKind.CANCEL_AT_WAREHOUSE,
                                connection=hub.connection).count() == 1
    assert west.run("sales_order").counts["exported"] == 0


KILLED_ORDERS = 240
FIRST_WAVE = 10


def hold_uploads(sftp_server) -> None:
    """The SFTP server holds the next order file's rename (it has landed) until released."""
    sftp_server.released.clear()
    sftp_server.renamed.clear()
    sftp_server.hold_after_rename = "ord_"


def test_a_kill_of_the_importer_while_it_splits_orders_leaves_each_part_once_sent_once(
        hub, sftp_server, hub_processes):
    """SIGKILL the importing connection's sales process while it applies the split rule to
    many orders, the receiving connection's sales run sending earlier parts meanwhile (its
    upload held at the warehouse); then run the importer again while the receiver sends the
    parts the killed run made (held again), so the new run's parts are made and queued
    during the receiver's export. Each order has its one part, and each parent and each part
    is in a warehouse file once."""
    west = sftp_west(hub, sftp_server)
    east_sku, west_sku = split_by_stock(hub, west)
    lines = [{"final_sku": east_sku, "quantity": 1}, {"final_sku": west_sku, "quantity": 1}]
    hub.control.create_orders(FIRST_WAVE, status="paid", lines=lines)
    hub.run("sales_order")  # their parts wait, Queued, for the west's run
    hub.control.create_orders(KILLED_ORDERS, status="paid", lines=lines)
    hub_processes.extra_env["DROPSTREAM_RUN_LEASE_SECONDS"] = "2"
    importing = ("sync", "run", str(hub.connection.pk), "--channel", "sales_order")
    receiving = ("sync", "run", str(west.connection.pk), "--channel", "sales_order")
    parts = Order.objects.filter(parent__isnull=False)
    hold_uploads(sftp_server)
    receiver = hub_processes.start(*receiving)
    assert sftp_server.renamed.wait(20), hub_processes.output(receiver)

    importer = hub_processes.start(*importing)
    wait_for(lambda: parts.count() >= FIRST_WAVE + KILLED_ORDERS // 4, timeout=60,
             what="a quarter of the parts")
    importer.send_signal(signal.SIGKILL)
    importer.wait(timeout=10)
    made_before_the_kill = parts.count() - FIRST_WAVE
    # Each part was made with its line in one transaction: none without it, whatever the kill cut.
    assert not parts.filter(lines__isnull=True).exists()
    # The kill landed among the splits: some orders split, not all, and none prepared yet.
    assert KILLED_ORDERS // 4 <= made_before_the_kill < KILLED_ORDERS
    assert Order.objects.filter(status=S.NEW).count() == KILLED_ORDERS + made_before_the_kill
    sftp_server.release()
    received = hub_processes.wait(receiver, timeout=60)
    assert received.returncode == 0, received.output

    hold_uploads(sftp_server)
    receiver = hub_processes.start(*receiving)  # prepares the killed run's parts, sends them
    assert sftp_server.renamed.wait(20), hub_processes.output(receiver)
    # Takes the killed run over once its lease lapses; splits the rest and queues their parts.
    rerun = hub_processes.run(*importing, timeout=60)
    assert rerun.returncode == 0, rerun.output
    assert not parts.filter(status=S.NEW).exists()
    sftp_server.release()
    received = hub_processes.wait(receiver, timeout=60)
    assert received.returncode == 0, received.output

    runs = list(Run.objects.filter(channel__connection=west.connection).order_by("id"))
    importer_runs = [(r.state, r.attempt, r.counts.get("exported"))
                     for r in Run.objects.filter(channel__connection=hub.connection).order_by("id")]
    # The killed run was taken over (attempt 2) and completed, then the command's own run
    # found nothing left. The west's second run sent the killed run's parts and, after its
    # held upload, those the takeover made and queued meanwhile.
    assert importer_runs == [(RunState.SUCCEEDED, 1, FIRST_WAVE),
                             (RunState.SUCCEEDED, 2, KILLED_ORDERS), (RunState.SUCCEEDED, 1, 0)]
    assert [r.counts["exported"] for r in runs] == [FIRST_WAVE, KILLED_ORDERS]
    assert runs[1].started_at < Run.objects.get(attempt=2).finished_at
    per_parent = Counter(parts.values_list("parent_id", flat=True))
    assert len(per_parent) == FIRST_WAVE + KILLED_ORDERS and set(per_parent.values()) == {1}
    assert set(Order.objects.values_list("status", flat=True)) == {S.OPEN}
    # Each line in one warehouse order: the east's line with the parent, the west's with the part.
    placed = Counter(OrderLine.objects.values_list("order__parent_id", "store_sku"))
    assert placed == Counter({(None, east_sku): FIRST_WAVE + KILLED_ORDERS}) + Counter(
        {(parent, west_sku): 1 for parent in per_parent})
    numbers = dict(Order.objects.values_list("warehouse_order_number", "parent_id"))
    east_numbers = {n for n, parent in numbers.items() if parent is None}
    west_numbers = set(numbers) - east_numbers
    assert ph_numbers(hub.root) == Counter(dict.fromkeys(east_numbers, 1))
    assert ph_numbers(west.root) == Counter(dict.fromkeys(west_numbers, 1))

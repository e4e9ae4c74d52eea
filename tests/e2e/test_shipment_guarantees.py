"""Shipments: each package reaches its own store once, through shared warehouses, lost answers,
rotated tokens, database failures and crashes (issue 11 #2, #4, #5, #7, #8)."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from django.utils import timezone

from dropstream.alerts.models import Alert, AlertKind
from dropstream.api.auth import issue_token
from dropstream.connections import actions
from dropstream.intents.models import Intent
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments import actions as shipment_actions
from dropstream.shipments.models import Shipment, ShipmentState
from tests.api.conftest import ApiClient
from tests.e2e.conftest import build_hub, run_locked
from tests.fixtures.refusals import refused_rows
from tests.fixtures.secret_leaks import make_secret

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus
HEADER = ("order_number,line_number,sku,quantity,ship_date,carrier,service,tracking_number,"
          "shipment_id,weight,cost")
POST_SHIPMENT = "POST /orders/:id/shipments"


def write_shipments(root, name: str, rows: list[str]) -> None:
    """A shipment file as a warehouse writes it (specs/dsfx.md layout 1, with a header)."""
    (root / "out" / name).write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")


def one_line_order(hub, quantity: int) -> Order:
    sku = next(r["final_sku"] for r in hub.control.inventories() if r["track"])
    [external_id] = hub.control.create_orders(1, status="paid",
                                              lines=[{"final_sku": sku, "quantity": quantity}])
    hub.run("sales_order")
    return Order.objects.get(external_id=str(external_id))


def store_shipments(hub, order: Order) -> list[dict]:
    return hub.control.get_order(int(order.external_id))["shipments"]


# ---------------------------------------------------------------------------------------------
# 2. A retried POST is never taken for another package of the order
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tracking", ["1ZSHARED0001", ""], ids=["shared-tracking", "untracked"])
def test_a_retried_post_is_not_taken_for_a_sibling_package_with_the_same_lines(hub, tracking):
    order = one_line_order(hub, quantity=2)
    number = order.warehouse_order_number
    write_shipments(hub.root, "shp_a_261201000000.csv",
                    [f"{number},1,,1,2026-12-01,UPS,Ground,{tracking},PKG-A,,"])
    hub.run("shipment")
    assert len(store_shipments(hub, order)) == 1
    # The second package's POST fails with a 500 the store did not apply: the adapter must
    # look before posting again, and must not take the first package's store shipment.
    write_shipments(hub.root, "shp_b_261201000100.csv",
                    [f"{number},1,,1,2026-12-01,UPS,Ground,{tracking},PKG-B,,"])
    hub.control.add_faults([{"endpoint": POST_SHIPMENT, "action": "status", "status": 500,
                             "count": 1}])
    hub.control.reset_meter()

    hub.run("shipment")

    in_store = store_shipments(hub, order)
    assert len(in_store) == 2
    assert hub.control.meter()["by_endpoint"]["GET /orders/:id/shipments"] == 1
    ours = Shipment.objects.filter(order=order).order_by("id")
    assert [s.state for s in ours] == [ShipmentState.COMPLETED, ShipmentState.COMPLETED]
    assert sorted(s.store_shipment_id for s in ours) == sorted(str(s["id"]) for s in in_store)
    order.refresh_from_db()
    assert order.status == S.SHIPPED


# ---------------------------------------------------------------------------------------------
# 4. Stores sharing one warehouse each get their own shipments
# ---------------------------------------------------------------------------------------------


def second_store_on_the_same_warehouse(hub, brightsites_sandbox):
    token = make_secret("bsrw")
    brightsites_sandbox.add_store("bravo", read_write_token=token,
                                  read_only_token=make_secret("bsro"))
    from dropstream.sandbox.brightsites.control import SandboxControl

    control = SandboxControl(brightsites_sandbox.control_url("bravo"))
    merchant = hub.connection.customer
    store = actions.create_store(merchant, name="Bravo", platform="brightsites", adapter={
        "subdomain": "bravo", "api_token": token, "api_url": brightsites_sandbox.api_url("bravo"),
        "import_since": "2000-01-01T00:00:00Z"})
    connection = actions.create_connection(name="Bravo", customer=merchant, store=store,
                                           warehouse=hub.connection.warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    return connection, control


def test_connections_sharing_a_warehouse_each_post_their_own_shipments(hub, brightsites_sandbox):
    bravo, bravo_control = second_store_on_the_same_warehouse(hub, brightsites_sandbox)
    acme_ids = hub.control.create_orders(3, status="paid")
    bravo_ids = bravo_control.create_orders(2, status="paid")
    hub.run("sales_order")
    assert run_locked(bravo, "sales_order").counts["exported"] == 2
    hub.robot.ship_all_now()

    acme_run = hub.run("shipment")  # reads the one shipment file holding both stores' packages
    bravo_run = run_locked(bravo, "shipment")

    assert acme_run.counts["shipments_imported"] == 5
    assert acme_run.counts["shipments_unmatched"] == 0
    assert (acme_run.counts["shipments_posted"], bravo_run.counts["shipments_posted"]) == (3, 2)
    assert bravo_run.counts["shipments_files"] == 0  # acme's run had set the file aside
    for control, ids in ((hub.control, acme_ids), (bravo_control, bravo_ids)):
        for external_id in ids:
            assert len(control.get_order(external_id)["shipments"]) == 1
    assert set(Shipment.objects.filter(connection=bravo).values_list("state", flat=True)) == {
        ShipmentState.COMPLETED}
    assert not Shipment.objects.filter(state=ShipmentState.ERROR).exists()
    assert set(Order.objects.filter(connection=bravo).values_list("status", flat=True)) == {
        S.SHIPPED}
    bravo_control.close()


# ---------------------------------------------------------------------------------------------
# 5. A rotated store token stops the run; after the fix every shipment goes
# ---------------------------------------------------------------------------------------------


def first_order_in_the_shipment_file(hub) -> str:
    """The store id of the order whose package comes first in the warehouse's shipment file:
    the hub stores (and posts) packages in file order."""
    [path] = (hub.root / "out").glob("shp_*.csv")
    number = path.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[0]
    return Order.objects.get(warehouse_order_number=number).external_id


def test_a_token_rotated_mid_run_leaves_shipments_waiting_until_it_is_fixed(hub):
    # Orders go out four at a time (sync.shipments.POST_WORKERS), each its package's POST then
    # its status PUT. The first package's POST is answered at once, the others after 300 ms;
    # the token is revoked as soon as the store has the first order shipped. So the first is
    # posted, the four in flight (2–5: the fifth started when the first finished) are refused,
    # and no later POST starts.
    ids = hub.control.create_orders(7, status="paid")
    hub.run("sales_order")
    hub.robot.ship_all_now()
    first = first_order_in_the_shipment_file(hub)
    hub.control.add_faults([
        {"endpoint": POST_SHIPMENT, "action": "latency", "delay_ms": 0, "order_id": int(first),
         "count": None},
        {"endpoint": POST_SHIPMENT, "action": "latency", "delay_ms": 300, "count": None}])
    old_token = hub.connection.store.adapter_settings()["api_token"]

    def rotate_after_the_first_post() -> None:
        deadline = time.monotonic() + 30
        while hub.control.get_order(int(first))["status"] != "shipped":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        hub.control.add_token(old_token, expires_at="2000-01-01T00:00:00Z")  # revoked

    rotator = threading.Thread(target=rotate_after_the_first_post)
    rotator.start()
    failed = hub.run("shipment", expect_ok=False)
    rotator.join()

    assert not failed.ok and "rejected the API token" in failed.error
    assert Alert.objects.filter(kind=AlertKind.CREDENTIALS).exists()
    # Waiting, not failed for good: the refused are Open with the reason (their intents kept,
    # so the next run looks before posting), the never sent New with no intent.
    rows = list(Shipment.objects.order_by("id").values_list("state", "error_message", "pk"))
    assert [state for state, _, _ in rows] == [ShipmentState.COMPLETED] + [
        ShipmentState.OPEN] * 4 + [ShipmentState.NEW] * 2
    assert all(message.startswith("Waiting: Bright Sites store 'acme' rejected the API token")
               for _, message, _ in rows[1:5])
    assert not Intent.objects.filter(key__in=[f"shipment_post:{pk}" for *_, pk in rows[5:]])
    assert hub.control.meter()["by_endpoint"][POST_SHIPMENT] == 5

    new_token = make_secret("bsrw")
    hub.control.add_token(new_token)
    actions.update_store(hub.connection.store, {"adapter": {"api_token": new_token}})
    hub.run("shipment")

    assert set(Shipment.objects.values_list("state", flat=True)) == {ShipmentState.COMPLETED}
    for external_id in ids:
        stored = hub.control.get_order(external_id)
        assert len(stored["shipments"]) == 1
        assert stored["status"] == "shipped"
    assert not Shipment.objects.exclude(error_message="").exists()


def test_a_shipment_the_store_refuses_can_be_reprocessed_once_fixed(hub, staff_user):
    order = one_line_order(hub, quantity=1)
    write_shipments(hub.root, "shp_r_261201000000.csv",
                    [f"{order.warehouse_order_number},1,,1,2026-12-01,UPS,Ground,1ZREF,,,"])
    hub.control.add_faults([{"endpoint": POST_SHIPMENT, "action": "status", "status": 422,
                             "count": 1}])
    hub.run("shipment")
    refused = Shipment.objects.get(order=order)
    assert refused.state == ShipmentState.ERROR and "refused" in refused.error_message

    api = ApiClient(issue_token(staff_user)[0], [])
    answer = api.post(f"/api/shipments/{refused.pk}/actions/reprocess")
    again = api.post(f"/api/shipments/{refused.pk}/actions/reprocess")
    hub.run("shipment")

    assert answer.status_code == 200 and answer.json()["state"] == ShipmentState.NEW
    assert again.status_code == 409 and "only shipments in Error" in again.json()["detail"]
    refused.refresh_from_db()
    assert refused.state == ShipmentState.COMPLETED
    assert len(store_shipments(hub, order)) == 1


def test_an_unmatched_shipment_is_matched_again_by_reprocess(hub):
    write_shipments(hub.root, "shp_u_261201000000.csv",
                    ["LATE-1,1,,1,2026-12-01,UPS,Ground,1ZLATE,,,"])
    hub.run("shipment")
    kept = Shipment.objects.get(order_number="LATE-1")
    assert kept.state == ShipmentState.ERROR and kept.order is None
    with pytest.raises(shipment_actions.ShipmentActionError, match="No order LATE-1"):
        shipment_actions.reprocess(kept, actor="ops@example.com")
    kept.refresh_from_db()
    assert (kept.state, kept.order_id) == (ShipmentState.ERROR, None)  # nothing changed

    order = one_line_order(hub, quantity=1)
    Shipment.objects.filter(pk=kept.pk).update(order_number=order.warehouse_order_number)
    done = shipment_actions.reprocess(kept, actor="ops@example.com")
    hub.run("shipment")

    assert (done.state, done.order_id) == (ShipmentState.NEW, order.pk)
    kept.refresh_from_db()
    assert kept.state == ShipmentState.COMPLETED
    assert len(store_shipments(hub, order)) == 1


# ---------------------------------------------------------------------------------------------
# 7. A shipment the database refuses keeps its file with the warehouse, with an alert
# ---------------------------------------------------------------------------------------------


def test_a_shipment_the_database_fails_to_store_keeps_its_file_for_the_next_run(hub):
    first, second = (one_line_order(hub, quantity=1) for _ in range(2))
    write_shipments(hub.root, "shp_f_261201000000.csv", [
        f"{first.warehouse_order_number},1,,1,2026-12-01,UPS,Ground,1ZGOOD,,,",
        f"{second.warehouse_order_number},1,,1,2026-12-01,UPS,Ground,1ZPOISON,,,"])
    with refused_rows("shipments_shipment", "tracking_number", "1ZPOISON"):
        hub.run("shipment")

    assert (hub.root / "out" / "shp_f_261201000000.csv").exists()
    alert = Alert.objects.get(kind=AlertKind.SHIPMENT_FAILED)
    assert "shp_f_261201000000.csv" in alert.message and "read again" in alert.message
    assert list(Shipment.objects.values_list("tracking_number", flat=True)) == ["1ZGOOD"]

    hub.run("shipment")

    assert not (hub.root / "out" / "shp_f_261201000000.csv").exists()
    assert (hub.root / "out" / "processed" / "shp_f_261201000000.csv").exists()
    for order in (first, second):
        assert len(store_shipments(hub, order)) == 1
        order.refresh_from_db()
        assert order.status == S.SHIPPED


# ---------------------------------------------------------------------------------------------
# 8. A crash between upload and confirmation: the order's status still follows its shipments
# ---------------------------------------------------------------------------------------------


def test_an_order_whose_upload_confirmation_died_follows_its_shipments(bs_store, tmp_path,
                                                                       sftp_server,
                                                                       hub_processes):
    hub = build_hub(bs_store, sftp_server.root, warehouse_url=sftp_server.connection_string,
                    split_rate=0.0, short_rate=0.0)
    hub.robot = type(hub.robot)(f"file://{sftp_server.root}", ship_delay_s=0, split_rate=0.0,
                                short_rate=0.0, state_path=str(tmp_path / "robot.json"))
    [external_id] = hub.control.create_orders(1, status="paid")
    sftp_server.hold_after_rename = "ord_"
    doomed = hub_processes.start("sync", "run", str(hub.connection.pk), "--channel",
                                 "sales_order", DROPSTREAM_RUN_LEASE_SECONDS="2")
    assert sftp_server.renamed.wait(60), hub_processes.output(doomed)
    doomed.send_signal(signal.SIGKILL)  # the file is in /in; the hub never heard it arrived
    doomed.wait()
    sftp_server.release()
    order = Order.objects.get(external_id=str(external_id))
    assert order.status == S.QUEUED and order.export_reference
    assert Intent.objects.get(kind="export").state == "pending"

    hub.robot.ship_all_now()  # the warehouse took the file and shipped the order
    time.sleep(2.1)  # the killed run's lease lapses
    hub.run("shipment")
    order.refresh_from_db()
    assert order.status == S.SHIPPED
    assert order.exported_at is not None
    hub.run("sales_order")  # completes the killed run: the file is at the warehouse

    order.refresh_from_db()
    assert order.status == S.SHIPPED
    # Its order had left Queued (shipped): the second attempt asked the warehouse whether it
    # has the file, it said yes, and the batch was closed without sending it again.
    export = Intent.objects.get(kind="export")
    assert (export.state, export.attempts) == ("done", 2)
    assert len(list((sftp_server.root / "in" / "processed").glob("ord_*.csv"))) == 1
    stored = hub.control.get_order(external_id)
    assert len(stored["shipments"]) == 1 and stored["status"] == "shipped"

"""The X12 partner's mailbox over a real SFTP server on loopback: orders, 997s, 945s and 846s
through the hub's flows, the host key pinned on first use (a changed one waits for a person),
and the mailbox password in no log line and no meter row."""

from __future__ import annotations

import logging

import pytest

from dropstream.connections.models import Warehouse
from dropstream.metering.models import ApiCall
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.x12.adapter import X12Adapter
from tests.e2e.x12_hub import build_x12_hub

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_the_whole_flow_over_sftp_with_the_password_nowhere(bs_store, sftp_server, tmp_path,
                                                            caplog):
    caplog.set_level(logging.DEBUG)
    root = sftp_server.root
    hub = build_x12_hub(bs_store, root, url=sftp_server.connection_string,
                        robot_state=tmp_path / "robot.json")
    robot = type(hub.robot)(f"file://{root}", hub.robot.profile, default_stock=500,
                            state_path=str(tmp_path / "robot-local.json"))
    hub.control.create_orders(3, status="paid")

    assert hub.run("sales_order").counts["exported"] == 3
    robot.tick()
    hub.run("sales_order")
    robot.ship_all_now()
    robot.write_inventory_now()
    assert hub.run("shipment").counts["shipments_imported"] == 3
    hub.run("inventory", mode="full")
    robot.tick()

    assert set(Order.objects.values_list("status", flat=True)) == {S.SHIPPED}
    assert sorted(sent.ack for sent in robot.sent_files()) == ["A", "A"]  # the 945 and the 846
    warehouse = Warehouse.objects.get(pk=hub.connection.warehouse_id)
    assert warehouse.adapter_state["host_key"] == sftp_server.host_key_text
    calls = ApiCall.objects.filter(platform="x12")
    assert calls.filter(method="SFTP", endpoint="PUT /in/:file").exists()
    password = sftp_server.password
    rows = [" ".join(str(value) for value in row) for row in calls.values_list()]
    assert not any(password in row for row in rows)
    assert not any(password in record.getMessage() for record in caplog.records)

    sftp_server.restart(new_host_key=True)
    failed = hub.run("sales_order", expect_ok=False)
    assert not failed.ok and "host key" in failed.error.lower()
    state = Warehouse.objects.get(pk=warehouse.pk).adapter_state
    change = X12Adapter.pending_change(state)
    assert change is not None and change.action == "Trust the new host key"
    X12Adapter.accept_pending_change(state)
    Warehouse.objects.filter(pk=warehouse.pk).update(adapter_state=state)
    assert hub.run("sales_order").ok

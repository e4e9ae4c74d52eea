"""997s matched to what the hub sent (rejected → Error with the reason; missing → an overdue
alert), and bad partner files: a damaged 945 set lands the file in error/ with its reason and a
997 that rejects that set, while the good sets of the same file are imported."""

from __future__ import annotations

import time

import pytest

from dropstream.alerts.models import Alert, AlertKind
from dropstream.orders.models import Order, OrderActivity, OrderStatus
from dropstream.shipments.models import Shipment
from tests.e2e.x12_hub import build_x12_hub, make_root

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_a_997_that_rejects_the_sets_puts_each_order_in_error_with_the_reason(bs_store,
                                                                              tmp_path):
    hub = build_x12_hub(bs_store, make_root(tmp_path), units=["CA"])  # the partner refuses EA
    hub.control.create_orders(2, status="paid")
    hub.run("sales_order")
    hub.robot.tick()

    result = hub.run("sales_order")
    assert result.counts["refused"] == 2
    for order in Order.objects.all():
        assert order.status == S.ERROR
        assert "997 rejected it" in order.error_message
        assert "invalid code value" in order.error_message and "W01" in order.error_message
    assert Alert.objects.filter(kind=AlertKind.EXPORT_FAILED).count() == 2
    assert hub.files("out/processed", "997_") and hub.files("out", "997_") == []


def test_a_missing_997_raises_one_overdue_alert_and_is_not_sent_again(bs_store, tmp_path):
    hub = build_x12_hub(bs_store, make_root(tmp_path), settings={"ack_overdue_hours": 0.0002},
                        ack_mode="never")
    hub.control.create_orders(2, status="paid")
    hub.run("sales_order")
    hub.robot.tick()
    time.sleep(1.0)  # past 0.72 s

    hub.run("sales_order")
    hub.run("sales_order")
    [alert] = Alert.objects.filter(kind=AlertKind.ACKNOWLEDGMENT_OVERDUE)
    assert "No 997" in alert.message and "2 order(s)" in alert.message
    assert OrderActivity.objects.filter(event="warehouse_receipt_overdue").count() == 2
    assert set(Order.objects.values_list("status", flat=True)) == {S.OPEN}
    assert len(hub.files("in/processed", "940_")) == 1 and hub.files("in", "940_") == []


def test_a_damaged_945_set_goes_to_error_with_a_997_r_and_the_good_sets_are_imported(
        bs_store, tmp_path):
    hub = build_x12_hub(bs_store, make_root(tmp_path))
    hub.control.create_orders(2, status="paid")
    hub.run("sales_order")
    hub.robot.tick()
    hub.robot.arm_fault("damaged_945")  # a copy of the first set with SE01 one too many
    hub.robot.ship_all_now()
    [name] = hub.files("out", "945")

    result = hub.run("shipment")
    assert result.counts["shipments_imported"] == 2
    assert set(Order.objects.values_list("status", flat=True)) == {S.SHIPPED}
    assert Shipment.objects.count() == 2
    assert hub.files("out/error", name) == [name, f"{name}.error.txt"]
    report = (hub.root / "out" / "error" / f"{name}.error.txt").read_text()
    assert report.count("SE01 says '20' segments, transaction set 0003 has 19") == 1
    assert Alert.objects.filter(kind=AlertKind.FILE_REJECTED, message__contains=name).exists()
    hub.robot.tick()  # reads the hub's 997: the group partially accepted, the copy rejected
    [sent] = [item for item in hub.robot.sent_files() if item.file == name]
    assert sent.ack == "P" and sorted(sent.set_acks.values()) == ["A", "A", "R"]


def test_a_file_that_is_no_interchange_lands_in_error_with_a_reason(bs_store, tmp_path):
    hub = build_x12_hub(bs_store, make_root(tmp_path), stock={"TENT-4P-GRN": 14})
    name = hub.robot.write_garbage("not_edi", "945")
    hub.robot.write_inventory_now()  # a good file in the same run still goes through

    shipments = hub.run("shipment")
    hub.run("inventory")
    assert shipments.counts["shipments_imported"] == 0
    report = (hub.root / "out" / "error" / f"{name}.error.txt").read_text()
    assert report.count("not an X12 interchange") == 1
    assert hub.files("out/processed", "846")
    assert len(hub.files("in", "997_")) == 1  # the 846 was answered; the garbage cannot be

"""Orders to the warehouse, shipments and stock back, over the sandboxes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dropstream.inventory.models import InventoryLevel, StoreInventory
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment, ShipmentState
from dropstream.sync.push_inventory import compute_store_levels

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def files_in(root, folder: str, prefix: str) -> list[str]:
    path = root / folder
    return sorted(p.name for p in path.glob(f"{prefix}*.csv")) if path.exists() else []


def test_paid_orders_reach_the_warehouse_once_and_shipments_come_back(hub):
    ids = hub.control.create_orders(12, status="paid")
    hub.control.create_orders(3, status="new")
    first = hub.run("sales_order")
    assert first.counts["imported"] == 12 and first.counts["exported"] == 12
    assert Order.objects.count() == 12
    assert first.requests == {"GET /orders": 1, "GET /orders/:id": 12}

    again = hub.run("sales_order")
    assert again.requests == {"GET /orders": 1}
    assert again.counts.get("exported", 0) == 0

    hub.robot.tick()
    hub.robot.ship_all_now()
    assert len(files_in(hub.root, "in/processed", "ord_")) == 1
    shipped = hub.run("shipment")
    assert shipped.counts["shipments_imported"] == 12
    assert shipped.counts["shipments_posted"] == 12
    assert set(Order.objects.values_list("status", flat=True)) == {S.SHIPPED}
    assert Shipment.objects.filter(state=ShipmentState.COMPLETED).count() == 12
    for order_id in ids:
        raw = hub.control.get_order(order_id)
        assert len(raw["shipments"]) == 1
        assert raw["shipments"][0]["tracking_number"]
        assert raw["status"] == "shipped"
    # One POST per shipment plus one status PUT per order: the cost model's S (+1 per order).
    assert shipped.requests == {"POST /orders/:id/shipments": 12, "PUT /orders/:id": 12}

    quiet = hub.run("shipment")
    assert quiet.requests == {}
    # Warehouse operations are metered too, on no store's bill.
    from dropstream.metering.models import ApiCall

    warehouse_calls = ApiCall.objects.exclude(platform="brightsites")
    assert warehouse_calls.exists() and not warehouse_calls.filter(store__isnull=False).exists()
    assert ApiCall.objects.filter(platform="brightsites", store__isnull=True).count() == 0


def test_orders_at_other_statuses_are_not_imported(hub):
    hub.control.create_orders(2, status="new")
    hub.control.create_orders(1, status="in_progress")
    result = hub.run("sales_order")
    assert result.counts["imported"] == 0
    assert Order.objects.count() == 0


def test_cancellation_before_export_closes_the_order(hub):
    from dropstream.connections.models import Store

    Store.objects.filter(pk=hub.connection.store_id).update(manual_release=True)
    (order_id,) = hub.control.create_orders(1, status="paid")
    hub.run("sales_order")
    assert Order.objects.get().status == S.PENDING
    hub.control.update_order(order_id, status="canceled")
    result = hub.run("sales_order")
    order = Order.objects.get()
    assert order.status == S.CLOSED and result.counts["canceled"] == 1
    assert list((hub.root / "in").glob("ord_*.csv")) == []


def test_cancellation_after_export_alerts_and_shipments_still_flow(hub):
    from dropstream.alerts.models import Alert

    (order_id,) = hub.control.create_orders(1, status="paid")
    hub.run("sales_order")
    hub.control.update_order(order_id, status="canceled")
    hub.run("sales_order")
    order = Order.objects.get()
    assert order.status == S.OPEN and order.canceled_in_store_at is not None
    alert = Alert.objects.get(kind="cancel_at_warehouse")
    assert "cancel" in alert.message.lower()
    hub.robot.tick()
    hub.robot.ship_all_now()
    hub.run("shipment")
    assert Order.objects.get().status == S.SHIPPED


def test_inventory_smart_sync_writes_changes_only(hub):
    hub.control.create_orders(2, status="paid")
    hub.run("sales_order")
    hub.robot.tick()
    hub.robot.write_inventory_now()
    first = hub.run("inventory", mode="full")
    assert first.counts["inventory_written"] > 0
    second = hub.run("inventory")
    assert second.requests == {}
    # The warehouse receives stock of one SKU: only that SKU's product is written.
    sku, level = StoreInventory.objects.filter(quantity__gt=0).values_list("sku", "quantity")[0]
    level_row = InventoryLevel.objects.get(sku=sku)
    newer = datetime.now(UTC).strftime("%y%m%d%H%M%S")
    (hub.root / "out" / f"inv_1_{newer}_9.csv").write_text(
        f"sku,available,on_hand,facility\r\n{sku},{level_row.available + 10},,\r\n")
    third = hub.run("inventory")
    assert third.counts["inventory_written"] == 1
    assert third.requests == {"PUT /inventories/:id/batch_update": 1}
    wanted = compute_store_levels(hub.connection)[sku]
    assert StoreInventory.objects.get(sku=sku).quantity == wanted >= level + 10


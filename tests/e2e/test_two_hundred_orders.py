"""200 paid orders over SFTP: multi-line, bundles, listings, non-ASCII names, US and Canadian
addresses; the warehouse splits and short-ships; every shipment reaches the store once; the
store's stock equals the formula."""

from __future__ import annotations

import pytest

from dropstream.catalog.models import BundleComponent, Listing, Product
from dropstream.inventory.compute import store_quantities
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments.models import Shipment, ShipmentState
from tests.e2e.conftest import build_hub
from tests.fixtures.warehouse_files import ph_numbers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_two_hundred_orders_round_trip_over_sftp(bs_store, sftp_server):
    root = sftp_server.root
    for folder in ("in", "out"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    hub = build_hub(bs_store, root, warehouse_url=sftp_server.connection_string,
                    split_rate=0.25, short_rate=0.05, default_stock=5000)
    connection = hub.connection
    merchant, store = connection.customer, connection.store
    records = [r for r in hub.control.inventories()
               if not r["vendor_managed"] and r["track"] and r["enable_inventory"]]
    listed, bundled = records[:3], records[3:5]
    for record in listed:
        product = Product.objects.create(customer=merchant, sku=f"WH-{record['final_sku']}")
        Listing.objects.create(store=store, product=product, store_sku=record["final_sku"])
    cup = Product.objects.create(customer=merchant, sku="BND-CUP")
    lid = Product.objects.create(customer=merchant, sku="BND-LID")
    for record in bundled:
        kit = Product.objects.create(customer=merchant, sku=record["final_sku"])
        BundleComponent.objects.create(bundle=kit, component=cup, quantity=2)
        BundleComponent.objects.create(bundle=kit, component=lid, quantity=1)
    special = [record["final_sku"] for record in listed + bundled]
    ids = []
    for index in range(20):
        lines = [{"final_sku": special[index % len(special)], "quantity": 1 + index % 3},
                 {"final_sku": records[10 + index]["final_sku"], "quantity": 2}]
        ids += hub.control.create_orders(1, status="paid", lines=lines)
    ids += hub.control.create_orders(180, status="paid")

    sales = hub.run("sales_order")
    assert sales.counts["imported"] == 200
    not_sent = list(Order.objects.exclude(status=S.OPEN).values_list("external_id", "status",
                                                                    "error_message"))
    assert not_sent == []
    numbers = ph_numbers(root)
    assert set(numbers.values()) == {1} and len(numbers) == 200
    kit_order = Order.objects.get(external_id=str(ids[3]))
    assert sorted(kit_order.lines.filter(parent__isnull=False)
                  .values_list("warehouse_sku", flat=True)) == ["BND-CUP", "BND-LID"]
    listed_order = Order.objects.get(external_id=str(ids[0]))
    assert listed_order.lines.filter(warehouse_sku=f"WH-{special[0]}").exists()
    names = set(Order.objects.values_list("ship_name", flat=True))
    assert any(any(ord(ch) > 127 for ch in name) for name in names)
    assert set(Order.objects.values_list("ship_country", flat=True)) >= {"US", "CA"}

    hub.robot.ship_all_now()
    shipped = hub.run("shipment")
    assert shipped.counts["shipments_unmatched"] == 0
    assert list(Shipment.objects.exclude(state=ShipmentState.COMPLETED)
                .values_list("key", "state", "error_message")) == []
    posted = Shipment.objects.exclude(store_shipment_id="").count()
    assert posted == shipped.counts["shipments_posted"]
    assert Shipment.objects.filter(state=ShipmentState.COMPLETED).count() == \
        Shipment.objects.count()
    assert Shipment.objects.count() > 200  # some orders came in two packages
    for order in Order.objects.prefetch_related("lines", "shipments"):
        physical = [line for line in order.lines.all() if line.line_number is not None]
        complete = all(line.quantity_shipped == line.quantity_ordered for line in physical)
        assert order.status == (S.SHIPPED if complete else S.PARTIALLY_SHIPPED), order
        stored = hub.control.get_order(int(order.external_id))["shipments"]
        tracking = sorted(s["tracking_number"] for s in stored)
        assert tracking == sorted(s.tracking_number for s in order.shipments.all()
                                  if s.store_shipment_id)
        assert len(tracking) == len(set(tracking))
    assert Order.objects.filter(status=S.SHIPPED).count() > 150

    hub.robot.write_inventory_now()
    hub.run("inventory", mode="full")
    stock = hub.robot.stock
    expected = store_quantities(
        stock, listings={r["final_sku"]: f"WH-{r['final_sku']}" for r in listed},
        bundles={r["final_sku"]: [("BND-CUP", 2), ("BND-LID", 1)] for r in bundled},
        reserved={})
    levels = {r["final_sku"]: r["inventory"] for r in hub.control.inventories()}
    checked = 0
    for record in records:
        sku = record["final_sku"]
        if sku in expected:
            assert levels[sku] == expected[sku], sku
            checked += 1
    assert checked >= len(listed) + len(bundled)

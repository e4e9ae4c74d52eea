from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dropstream.alerts.models import Alert
from dropstream.catalog.models import BundleComponent, Listing, Product, ShippingMethodMap
from dropstream.orders import actions
from dropstream.orders.errors import OrderActionError
from dropstream.orders.models import Order, OrderStatus
from dropstream.orders.prepare import prepare_orders
from dropstream.platforms.base import Address
from dropstream.platforms.dsfx.format import dsfx_order_number
from dropstream.sync.store_orders import upsert_store_order
from tests.fixtures.orders import store_order

S = OrderStatus


def imported(connection, *args, **kwargs) -> Order:
    order, outcome = upsert_store_order(connection, store_order(*args, **kwargs))
    assert outcome == "created"
    return order


def test_upsert_is_idempotent_on_store_and_external_id(connection):
    first = imported(connection, "1001")
    again, outcome = upsert_store_order(connection, store_order("1001"))
    assert outcome == "unchanged" and again.pk == first.pk
    assert Order.objects.count() == 1


def test_a_later_store_update_replaces_a_new_order_but_only_records_after_export(connection):
    order = imported(connection, "1001")
    later = datetime(2026, 11, 2, tzinfo=UTC)
    _, outcome = upsert_store_order(connection, store_order("1001", lines=(("TEE-L", 1),),
                                                            updated_at=later))
    assert outcome == "updated"
    assert list(order.lines.values_list("store_sku", flat=True)) == ["TEE-L"]
    Order.objects.filter(pk=order.pk).update(status=S.OPEN, export_reference="ord_x.csv")
    _, outcome = upsert_store_order(connection, store_order(
        "1001", lines=(("TEE-S", 1),), updated_at=later + timedelta(hours=1)))
    assert outcome == "recorded"
    assert list(order.lines.values_list("store_sku", flat=True)) == ["TEE-L"]
    assert order.activity.filter(event="store_update_ignored").count() == 1


def test_prepare_translates_listings_expands_bundles_and_maps_shipping(connection, merchant,
                                                                       store):
    kit = Product.objects.create(customer=merchant, sku="KIT")
    for sku, qty in (("CUP", 2), ("LID", 1)):
        BundleComponent.objects.create(bundle=kit, quantity=qty, component=Product.objects.create(
            customer=merchant, sku=sku))
    shirt = Product.objects.create(customer=merchant, sku="WH-TEE")
    Listing.objects.create(store=store, product=shirt, store_sku="TEE-M")
    ShippingMethodMap.objects.create(connection=connection, store_description="UPS Ground",
                                     carrier_code="UPSGND")
    order = imported(connection, "1001", lines=(("TEE-M", 2), ("KIT", 3)))
    assert prepare_orders(connection) == {"queued": 1}
    order.refresh_from_db()
    assert order.status == S.QUEUED and order.shipping_warehouse_code == "UPSGND"
    physical = list(order.lines.filter(line_number__isnull=False).order_by("line_number")
                    .values_list("line_number", "warehouse_sku", "quantity_ordered"))
    assert physical == [(1, "WH-TEE", 2), (2, "CUP", 6), (3, "LID", 3)]


def test_an_unmapped_method_passes_through_unless_the_connection_says_error(connection):
    order = imported(connection, "1")
    prepare_orders(connection)
    order.refresh_from_db()
    assert order.shipping_warehouse_code == "UPS Ground" and order.status == S.QUEUED
    connection.unmapped_shipping_method = "error"
    connection.save()
    second = imported(connection, "2", shipping_method="Flat Rate Custom")
    prepare_orders(connection)
    second.refresh_from_db()
    assert second.status == S.ERROR
    assert "'Flat Rate Custom' has no carrier code" in second.error_message
    assert Alert.objects.filter(object_id=str(second.pk), kind="order_error").count() == 1


def test_an_incomplete_address_is_an_error_that_says_what_to_fix(connection):
    order = imported(connection, "1", ship_to=Address(name="A", street1="1 Main", city="",
                                                      state="", postal_code="1", country="US"))
    prepare_orders(connection)
    order.refresh_from_db()
    assert order.status == S.ERROR
    assert "Ship-to city is empty" in order.error_message
    assert "state/province is empty" in order.error_message


def test_edit_then_reprocess_fixes_an_error(connection):
    order = imported(connection, "1", ship_to=Address(name="A", street1="1 Main", city="",
                                                      state="CO", postal_code="1", country="US"))
    prepare_orders(connection)
    order = actions.edit(Order.objects.get(pk=order.pk), actor="ops@example.com",
                         changes={"ship_city": "Denver"})
    assert order.status == S.QUEUED
    assert order.activity.filter(event="edited", actor="ops@example.com").exists()


def test_manual_release_holds_orders_in_pending(connection, store):
    store.manual_release = True
    store.save()
    order = imported(connection, "1")
    prepare_orders(connection)
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert actions.release(order, actor="ops").status == S.QUEUED


def test_reset_is_refused_once_the_order_has_a_shipment(connection):
    from dropstream.shipments.models import Shipment

    order = imported(connection, "1")
    Shipment.objects.create(connection=connection, warehouse=connection.warehouse, order=order,
                            key="1|T1", order_number="1")
    with pytest.raises(OrderActionError, match="has shipments"):
        actions.reset(order, actor="ops")


def test_delete_is_refused_after_export_unless_forced(connection):
    order = imported(connection, "1")
    Order.objects.filter(pk=order.pk).update(status=S.OPEN, export_reference="ord_1.csv")
    with pytest.raises(OrderActionError, match="archive it instead"):
        actions.delete(order, actor="ops")
    assert Order.objects.filter(pk=order.pk).exists()
    actions.delete(order, actor="admin", force=True)
    assert not Order.objects.filter(pk=order.pk).exists()


def test_archive_then_reprocess_returns_to_processing(connection):
    order = imported(connection, "1")
    actions.archive(order, actor="ops")
    assert Order.objects.get(pk=order.pk).status == S.ARCHIVED
    order = actions.reprocess(order, actor="ops")
    assert order.status == S.QUEUED


def test_bulk_reports_each_order(connection, staff_user):
    first, second = imported(connection, "1"), imported(connection, "2")
    actions.archive(second, actor="ops")
    result = actions.bulk("archive", [first, Order.objects.get(pk=second.pk)], user=staff_user)
    assert result.done == [first.pk]
    assert result.failed == {second.pk: f"order {second} is already archived"}


def test_order_numbers_are_made_safe_for_the_warehouse():
    assert dsfx_order_number("BS 1001/7~") == "BS-1001-7-"
    assert dsfx_order_number("A_1-2") == "A_1-2"


def test_a_line_that_ships_nothing_is_kept_but_never_sent(connection):
    from decimal import Decimal

    from dropstream.platforms.base import StoreOrderLine

    data = store_order("1", lines=(("TEE-M", 1),))
    gift = StoreOrderLine(external_line_id="1-9", sku="", name="Gift certificate", quantity=1,
                          unit_price=Decimal("25.00"), requires_shipping=False)
    order, _ = upsert_store_order(connection, data.__class__(
        **{**{f: getattr(data, f) for f in data.__slots__}, "lines": data.lines + (gift,)}))
    prepare_orders(connection)
    order.refresh_from_db()
    assert order.status == S.QUEUED
    assert list(order.lines.filter(line_number__isnull=False)
                .values_list("store_sku", flat=True)) == ["TEE-M"]
    assert order.lines.filter(ships=False, name="Gift certificate").count() == 1

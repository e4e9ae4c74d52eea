"""One order the warehouse would refuse never takes the others down (issue 11 #10, #11): the
platform's rules are checked in prepare, a refused order never joins a batch, a batch that fails
for data reasons is split until only the bad order errs, and a value too long for a column is a
message on that order, not a failed run (PostgreSQL checks lengths; SQLite does not)."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from dropstream.connections import actions as connections
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.base import Address
from dropstream.sync.runner import run_channel
from dropstream.sync.store_orders import upsert_store_order
from tests.fixtures.orders import store_order

pytestmark = pytest.mark.django_db
S = OrderStatus
LONDON = Address(name="Ada Lovelace", street1="12 St James's Square", city="London", state="",
                 postal_code="SW1Y 4JH", country="GB", phone="", email="ada@example.com")


def _numbers_in(root) -> list[str]:
    numbers = []
    for path in sorted((root / "in").glob("ord_*.csv")):
        numbers += [row[1] for row in csv.reader(io.StringIO(path.read_text()))
                    if row and row[0] == "PH"]
    return numbers


def _export(connection):
    """The sales run's export (no store request: the orders are already imported)."""
    connections.set_connection_enabled(connection, timezone.now())
    result = run_channel(connection.pk, "sales_order", mode="export")
    assert result.ok, result.error
    return result


def test_a_batch_of_three_with_one_order_the_format_refuses_sends_the_other_two(
        connection, warehouse_root):
    for external_id in ("1001", "1002", "1003"):
        upsert_store_order(connection, store_order(
            external_id, ship_to=LONDON if external_id == "1002" else store_order().ship_to))

    result = _export(connection)

    bad = Order.objects.get(external_id="1002")
    assert bad.status == S.ERROR
    assert bad.error_message == ("Ship-to state/province is empty: edit the shipping address, "
                                 "then Reprocess")
    assert bad.export_reference == ""
    assert _numbers_in(warehouse_root) == ["1001", "1003"]
    assert result.counts["exported"] == 2 and result.counts["prepare_errors"] == 1
    assert set(Order.objects.exclude(pk=bad.pk).values_list("status", flat=True)) == {S.OPEN}


def test_the_refused_order_alone_can_be_edited_and_reprocessed(connection, warehouse_root):
    from dropstream.orders import actions

    upsert_store_order(connection, store_order("1002", ship_to=LONDON))
    _export(connection)
    bad = Order.objects.get(external_id="1002")
    fixed = actions.edit(bad, actor="ops@example.com", changes={"ship_state": "LND"})
    assert fixed.status == S.QUEUED

    _export(connection)

    assert _numbers_in(warehouse_root) == ["1002"]


def test_two_store_numbers_that_become_one_warehouse_number_stay_apart(connection,
                                                                        warehouse_root):
    # "A/1" and "A-1" are both written "A-1" under DSFX's rule: the second must not reach the
    # warehouse under the first's number, or their shipments could not be told apart.
    upsert_store_order(connection, store_order("1", display_id="A/1"))
    upsert_store_order(connection, store_order("2", display_id="A-1"))

    _export(connection)

    assert _numbers_in(warehouse_root) == ["A-1", "A-1-2"]
    assert list(Order.objects.order_by("external_id").values_list("warehouse_order_number",
                                                                  flat=True)) == ["A-1", "A-1-2"]


def test_an_unmapped_shipping_method_too_long_for_a_carrier_code_errs_only_its_order(
        connection, warehouse_root):
    long_method = "Express Saver International, delivered before noon, signature " * 3
    upsert_store_order(connection, store_order("1001"))
    upsert_store_order(connection, store_order("1002", shipping_method=long_method[:255]))

    result = _export(connection)

    bad = Order.objects.get(external_id="1002")
    assert bad.status == S.ERROR
    assert bad.error_message == (
        "The carrier code (the store's shipping method, passed on unmapped) 'Express Saver "
        "International, delivered b'… is 186 characters; at most 100 fit: map it in the "
        "connection's shipping-method map or edit the order, then Reprocess")
    assert _numbers_in(warehouse_root) == ["1001"]
    assert result.counts["exported"] == 1


def test_stores_sharing_a_warehouse_never_send_it_the_same_order_number(
        connection, merchant, warehouse, warehouse_root):
    other_store = connections.create_store(
        merchant, name="Second Store", platform="brightsites",
        adapter={"subdomain": "second", "api_token": "t0ken-second",
                 "api_url": "http://127.0.0.1:9/second/api/v2.6.1"})
    other = connections.create_connection(name="Second", customer=merchant, store=other_store,
                                          warehouse=warehouse)
    upsert_store_order(connection, store_order("1001"))
    upsert_store_order(other, store_order("1001"))

    _export(connection)
    _export(other)

    assert sorted(_numbers_in(warehouse_root)) == ["1001", f"1001-{other_store.pk}"]

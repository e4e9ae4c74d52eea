"""The bulk paths of import, prepare and metering keep the one-order guarantees."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django import db
from django.db import IntegrityError, transaction

from dropstream.alerts.models import Alert
from dropstream.metering.meter import DbMeter
from dropstream.metering.models import ApiCall
from dropstream.orders import status as order_status
from dropstream.orders.errors import InvalidTransition
from dropstream.orders.models import Order, OrderActivity, OrderStatus
from dropstream.orders.prepare import prepare_orders
from dropstream.platforms.base import Address, MeteredCall, OrderSummary
from dropstream.platforms.errors import OrderDataError, RemoteServerError
from dropstream.sync.import_orders import ImportReport, import_details
from dropstream.sync.store_orders import create_store_orders, upsert_store_order
from tests.fixtures.orders import store_order

S = OrderStatus


class FakeStore:
    """Answers get_order from a dict (a value that is an exception is raised); thread-safe."""

    def __init__(self, answers: dict) -> None:
        self.answers = answers
        self.reads: list[str] = []
        self._lock = threading.Lock()

    def get_order(self, external_id: str):
        with self._lock:
            self.reads.append(external_id)
        answer = self.answers[external_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def summary(external_id: str) -> OrderSummary:
    data = store_order(external_id)
    return OrderSummary(external_id=external_id, status="paid", updated_at=data.updated_at,
                        created_at=data.ordered_at)


def call(endpoint: str = "GET /orders/:id") -> MeteredCall:
    return MeteredCall(platform="brightsites", method="GET", endpoint=endpoint, status=200,
                       duration_ms=1.0, attempt=1)


def test_a_bulk_insert_of_an_order_that_exists_raises_and_writes_nothing(connection):
    upsert_store_order(connection, store_order("2"))
    with pytest.raises(IntegrityError):
        create_store_orders(connection, [store_order("1"), store_order("2")])
    assert list(Order.objects.values_list("external_id", flat=True)) == ["2"]


def test_bulk_import_writes_orders_lines_and_one_activity_each(connection):
    ids = [str(n) for n in range(1, 131)]
    store = FakeStore({i: store_order(i, lines=(("TEE-M", 2), ("CAP", 1))) for i in ids})
    report = ImportReport()
    touched = import_details(connection, store, [summary(i) for i in ids], report, workers=4)
    assert report.imported == 130 and report.errors == 0
    assert sorted(store.reads) == sorted(ids)  # one read per order, none twice
    assert len(touched) == 130
    assert Order.objects.filter(status=S.NEW).count() == 130
    assert OrderActivity.objects.filter(event="imported").count() == 130
    order = Order.objects.get(external_id="77")
    assert sorted(order.lines.values_list("store_sku", "quantity_ordered")) == [
        ("CAP", 1), ("TEE-M", 2)]


def test_an_order_a_concurrent_push_delivered_is_updated_not_duplicated(connection):
    # "5" arrived by push meanwhile: the chunk's bulk insert conflicts and goes one by one.
    pushed, _ = upsert_store_order(connection, store_order("5"), source="push")
    ids = [str(n) for n in range(1, 11)]
    store = FakeStore({i: store_order(i) for i in ids})
    report = ImportReport()
    import_details(connection, store, [summary(i) for i in ids], report, workers=3)
    assert Order.objects.count() == 10
    assert Order.objects.get(external_id="5").pk == pushed.pk
    assert report.imported == 9 and report.errors == 0


def test_one_bad_order_in_a_bulk_chunk_affects_only_that_order(connection):
    ids = [str(n) for n in range(1, 21)]
    answers = {i: store_order(i) for i in ids}
    answers["4"] = OrderDataError("'Atlantis' is not a country", field="ship_to.country")
    answers["9"] = RemoteServerError("HTTP 500 from GET /orders/:id")
    # A line the database refuses (quantity must be ≥ 0) fails the bulk insert of its chunk.
    answers["12"] = store_order("12", lines=(("TEE-M", -1),))
    report = ImportReport()
    import_details(connection, FakeStore(answers), [summary(i) for i in ids], report, workers=4)
    assert report.imported == 17
    assert Order.objects.filter(status=S.NEW, detail_pending=False).count() == 17
    assert Order.objects.get(external_id="4").status == S.ERROR
    assert Order.objects.get(external_id="9").status == S.DELAYED
    assert Order.objects.get(external_id="12").detail_pending
    # The database refusing the order is no transient failure: Error with the reason.
    assert Order.objects.get(external_id="12").status == S.ERROR
    assert report.errors == 3


def test_bulk_prepare_queues_valid_orders_and_errors_the_invalid_one_alone(connection):
    for n in range(1, 6):
        upsert_store_order(connection, store_order(str(n)))
    bad = Address(name="A", street1="1 Main", city="", state="CO", postal_code="1",
                  country="US")
    upsert_store_order(connection, store_order("6", ship_to=bad))
    assert prepare_orders(connection) == {"queued": 5, "error": 1}
    assert Order.objects.filter(status=S.QUEUED).count() == 5
    invalid = Order.objects.get(external_id="6")
    assert invalid.status == S.ERROR and "Ship-to city is empty" in invalid.error_message
    assert OrderActivity.objects.filter(event="prepared").count() == 5
    assert OrderActivity.objects.filter(event="validation_failed", order=invalid).count() == 1
    assert Alert.objects.filter(kind="order_error").count() == 1
    queued = Order.objects.get(external_id="3")
    assert queued.warehouse_order_number == "3" and queued.shipping_warehouse_code == "UPS Ground"
    assert list(queued.lines.values_list("line_number", "warehouse_sku")) == [(1, "TEE-M")]


def test_transition_each_refuses_a_forbidden_move_before_writing(connection):
    first, _ = upsert_store_order(connection, store_order("1"))
    second, _ = upsert_store_order(connection, store_order("2"))
    Order.objects.filter(pk=second.pk).update(status=S.SHIPPED)
    orders = list(Order.objects.order_by("id"))
    with pytest.raises(InvalidTransition):
        order_status.transition_each(orders, S.QUEUED, event="prepared")
    assert Order.objects.get(pk=first.pk).status == S.NEW
    assert not OrderActivity.objects.filter(event="prepared").exists()


def test_the_meter_writes_every_buffer_size_calls_and_the_rest_on_flush(connection):
    meter = DbMeter(connection=connection, channel="sales_order", buffer_size=3)
    for _ in range(5):
        meter(call())
    assert ApiCall.objects.count() == 4  # written when the fourth call overflowed the buffer
    assert meter.pending == 1
    assert meter.flush() == 1
    assert ApiCall.objects.count() == 5 and meter.by_endpoint == {"GET /orders/:id": 5}


def test_meter_calls_from_worker_threads_wait_for_the_owner(connection):
    meter = DbMeter(connection=connection, channel="sales_order")
    workers = [threading.Thread(target=meter, args=(call(),)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert ApiCall.objects.count() == 0 and meter.pending == 4
    meter(call("GET /orders"))  # the owner's next call writes everything (buffer_size 0)
    assert ApiCall.objects.count() == 5 and meter.pending == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="PostgreSQL makes the second insert wait for the first commit")
def test_two_deliveries_of_a_new_order_at_once_make_one_order_and_no_error(connection):
    """A push sent twice, imported by two worker threads at once: both find no order, the
    second's insert waits for the first's commit and then conflicts. It must end as an update
    ("unchanged"), not as an IntegrityError that fails the import task (found by the soak)."""
    inserted, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def deliver(name: str, *, hold: bool) -> None:
        try:
            with transaction.atomic():
                outcomes[name] = upsert_store_order(connection, store_order("9"),
                                                    source="push")[1]
                if hold:
                    inserted.set()
                    release.wait(10)
        except Exception as exc:  # noqa: BLE001 — the assertion shows it
            outcomes[name] = exc
        finally:
            db.connection.close()

    first = threading.Thread(target=deliver, args=("first",), kwargs={"hold": True})
    first.start()
    assert inserted.wait(10)
    second = threading.Thread(target=deliver, args=("second",), kwargs={"hold": False})
    second.start()
    with db.connection.cursor() as cursor:  # the second insert is waiting on the first's row
        deadline = time.monotonic() + 10
        waiting = 0
        while not waiting and time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                           "'Lock' AND datname = current_database()")
            waiting = cursor.fetchone()[0]
            time.sleep(0.05)
    release.set()
    first.join(10)
    second.join(10)

    assert waiting == 1
    assert outcomes == {"first": "created", "second": "unchanged"}
    assert Order.objects.filter(external_id="9").count() == 1
    assert OrderActivity.objects.filter(event="imported").count() == 1

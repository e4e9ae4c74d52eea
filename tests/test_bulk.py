"""Many rows at once (dropstream/bulk.py), on the database the suite runs on: what goes in
comes back as the ORM would have written it — times, JSON, foreign keys, choices, Decimals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dropstream.bulk import insert_rows, update_many, update_rows
from dropstream.intents.models import Intent, IntentState
from dropstream.metering.models import ApiCall
from dropstream.orders.models import Order, OrderActivity, OrderStatus

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture
def orders(connection):
    return [Order.objects.create(connection=connection, store=connection.store,
                                 external_id=str(1000 + n)) for n in range(3)]


def test_inserted_rows_read_back_as_the_orm_wrote_them(orders, connection):
    insert_rows([OrderActivity(order_id=order.pk, event="e", message=f"m{order.pk} ünï",
                               at=AT) for order in orders])
    insert_rows([Intent(key=f"k{n}", kind="shipment_post", connection=connection,
                        state=IntentState.DONE, payload={"n": n, "é": [1, None]},
                        attempts=n, created_at=AT, done_at=None) for n in range(2)])

    activity = list(OrderActivity.objects.filter(event="e").order_by("order_id"))
    assert [(a.order_id, a.message, a.at, a.actor) for a in activity] == [
        (order.pk, f"m{order.pk} ünï", AT, "system") for order in orders]
    intents = list(Intent.objects.filter(key__in=["k0", "k1"]).order_by("key"))
    assert [(i.state, i.payload, i.attempts, i.created_at, i.done_at) for i in intents] == [
        ("done", {"n": 0, "é": [1, None]}, 0, AT, None),
        ("done", {"n": 1, "é": [1, None]}, 1, AT, None)]
    assert Intent.objects.filter(payload__n=1).count() == 1  # stored as JSON, not text


def test_ignore_conflicts_skips_a_row_whose_unique_value_is_taken(connection):
    first = ApiCall(platform="p", method="GET", endpoint="GET /a", call_id="same", at=AT)
    insert_rows([first])
    again = ApiCall(platform="p", method="GET", endpoint="GET /a", call_id="same", at=AT)
    other = ApiCall(platform="p", method="GET", endpoint="GET /b", call_id="other", at=AT,
                    status_code=200, duration_ms=1.5)

    insert_rows([again, other], ignore_conflicts=True)

    assert sorted(ApiCall.objects.values_list("call_id", "endpoint", "status_code")) == [
        ("other", "GET /b", 200), ("same", "GET /a", None)]


def test_update_many_writes_each_row_its_own_values(orders):
    later = AT + timedelta(days=1)

    update_many(Order, ["status", "error_message", "retry_at", "total_amount"], [
        (OrderStatus.ERROR, "bad", later, Decimal("12.30"), orders[0].pk),
        (OrderStatus.QUEUED, "", None, Decimal("0.05"), orders[2].pk)])

    got = {o.pk: (o.status, o.error_message, o.retry_at, o.total_amount)
           for o in Order.objects.all()}
    assert got == {orders[0].pk: ("error", "bad", later, Decimal("12.30")),
                   orders[1].pk: ("new", "", None, Decimal("0")),
                   orders[2].pk: ("queued", "", None, Decimal("0.05"))}


def test_update_rows_writes_instances_by_attribute_name(orders, connection):
    parent, child, _ = orders
    child.parent = parent
    child.store_status = "shipped"

    update_rows([child], ("parent", "store_status"))

    child.refresh_from_db()
    assert (child.parent_id, child.store_status) == (parent.pk, "shipped")

"""Writing the store's orders into the hub: one order (create, update, or record a change that
came too late), a chunk of new ones in one transaction, and the stub kept for an order whose
detail could not be read, so that no order the store listed is ever lost (DESIGN invariant 5).
Both the poll (``import_orders``) and the push intake (``push``) write through here.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.connections.models import Connection
from dropstream.orders import status as order_status
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.platforms.base import OrderSummary, StoreOrder
from dropstream.platforms.errors import OrderDataError, TransientError
from dropstream.rules.apply import reset_parts

MAX_DETAIL_RETRIES = 5
S = OrderStatus
# Statuses in which a store update may still replace the hub's copy.
REPLACEABLE = frozenset({S.NEW, S.PENDING, S.QUEUED, S.DELAYED, S.ERROR})


def _apply_store_order(order: Order, data: StoreOrder) -> None:
    order.external_display_id = data.display_id or data.external_id
    order.ordered_at = data.ordered_at
    order.store_updated_at = data.updated_at
    order.store_status = data.status
    order.customer_email = data.customer_email
    order.external_shipping_description = data.shipping_method
    order.shipping_amount = data.shipping_amount
    order.tax_amount = data.tax_amount
    order.discount_amount = data.discount_amount
    order.total_amount = data.total_amount
    order.currency_code = data.currency or "USD"
    order.notes = data.notes
    order.gift_message = data.gift_message
    order.detail_pending = False
    for prefix, address in (("ship", data.ship_to), ("bill", data.bill_to)):
        for part in ("name", "company", "street1", "street2", "city", "state", "postal_code",
                     "country", "phone", "email"):
            setattr(order, f"{prefix}_{part}", getattr(address, part) if address else "")


def _line_rows(order: Order, data: StoreOrder) -> list[OrderLine]:
    return [OrderLine(order=order, external_line_id=line.external_line_id, store_sku=line.sku,
                      name=line.name[:300], quantity_ordered=line.quantity,
                      unit_price=line.unit_price, ships=line.requires_shipping)
            for line in data.lines]


def _replace_lines(order: Order, data: StoreOrder) -> None:
    order.lines.all().delete()
    OrderLine.objects.bulk_create(_line_rows(order, data))


def upsert_store_order(connection: Connection, data: StoreOrder, *, actor: str = "system",
                       source: str = "import") -> tuple[Order, str]:
    """Create or update the hub's order for ``data`` in one transaction.

    Returns (order, outcome) with outcome "created", "updated", "unchanged" or "recorded" (an
    update seen after processing began: written to the activity only). Idempotent: the unique
    (store, external id) constraint makes a second delivery an update, never a second order.
    """
    try:
        return _upsert_store_order(connection, data, actor=actor, source=source)
    except IntegrityError:
        # Two deliveries of a new order at once (a push sent twice, a push and a poll): both
        # found no row, and the other transaction's insert committed first. The row exists
        # now, so a second pass is an update (or "unchanged"), as for any later delivery.
        return _upsert_store_order(connection, data, actor=actor, source=source)


def _upsert_store_order(connection: Connection, data: StoreOrder, *, actor: str,
                        source: str) -> tuple[Order, str]:
    with transaction.atomic():
        order = (Order.objects.select_for_update()
                 .filter(store_id=connection.store_id, external_id=data.external_id).first())
        if order is None:
            order = Order(connection=connection, store_id=connection.store_id,
                          external_id=data.external_id, status=S.NEW)
            _apply_store_order(order, data)
            order.save()
            _replace_lines(order, data)
            order_status.record(order, "imported", f"Imported from the store ({source}).",
                                actor=actor)
            return order, "created"
        if (not order.detail_pending and order.store_updated_at
                and data.updated_at <= order.store_updated_at):
            return order, "unchanged"
        # reset_parts last: it deletes unsent parts, and only when the rest allows replacing.
        if (order.status in REPLACEABLE and not order.edited and not order.export_reference
                and reset_parts(order)):
            was_stub = order.detail_pending
            _apply_store_order(order, data)
            order.retry_count = 0
            order.save()
            _replace_lines(order, data)
            order_status.transition(order, S.NEW, event="updated" if not was_stub else "imported",
                                    message=("Imported from the store" if was_stub else
                                             "Updated from the store") + f" ({source}).",
                                    actor=actor)
            return order, "created" if was_stub else "updated"
        order.store_updated_at = data.updated_at
        order.store_status = data.status
        order.save(update_fields=["store_updated_at", "store_status", "updated_at"])
        order_status.record(order, "store_update_ignored",
                            "The order changed in the store after processing began; the hub "
                            "kept its copy. Reset the order to take the store's version.",
                            actor=actor)
        return order, "recorded"


def _new_order(connection: Connection, data: StoreOrder) -> Order:
    order = Order(connection=connection, store_id=connection.store_id,
                  external_id=data.external_id, status=S.NEW)
    _apply_store_order(order, data)
    return order


def create_store_orders(connection: Connection, items: list[StoreOrder], *,
                        actor: str = "system", source: str = "import") -> list[Order]:
    """Insert orders the hub does not have yet, with their lines and activity, in one transaction.

    Returns the created orders. Raises IntegrityError when any of them exists already (e.g. a
    concurrent push delivered it): nothing is written then, and the caller goes order by order
    through ``upsert_store_order``.
    """
    if not items:
        return []
    with transaction.atomic():
        orders = Order.objects.bulk_create([_new_order(connection, data) for data in items])
        OrderLine.objects.bulk_create(
            [row for order, data in zip(orders, items, strict=True)
             for row in _line_rows(order, data)], batch_size=500)
        order_status.record_many(orders, "imported", f"Imported from the store ({source}).",
                                 actor=actor)
    return orders


def record_detail_failure(connection: Connection, summary: OrderSummary, error: Exception) -> Order:
    """Keep an order whose detail could not be read as a stub, so it is never lost.

    A transient failure leaves it Delayed (the next run retries); a data or permanent failure
    puts it in Error with the reason and raises an alert.
    """
    message = str(error)
    permanent = not isinstance(error, TransientError)
    with transaction.atomic():
        order, created = Order.objects.select_for_update().get_or_create(
            store_id=connection.store_id, external_id=summary.external_id,
            defaults={"connection": connection, "status": S.NEW, "detail_pending": True,
                      "external_display_id": summary.display_id or summary.external_id,
                      "store_updated_at": summary.updated_at, "store_status": summary.status,
                      "ordered_at": summary.created_at})
        if not order.detail_pending:
            return order
        order.retry_count += 1
        if permanent or order.retry_count >= MAX_DETAIL_RETRIES:
            if isinstance(error, OrderDataError):
                text = f"The store's order cannot be imported: {message}. Fix it in the store " \
                       "(editing it there re-sends it), or Reprocess after a fix here."
            else:
                text = f"Reading the order from the store failed: {message}"
            order_status.transition(order, S.ERROR, event="import_failed", message=text,
                                    fields=("retry_count",))
            raise_alert(AlertKind.IMPORT_FAILED, f"Order {order}: {text}", connection=connection,
                        channel="sales_order", related=order)
        else:
            order.retry_at = timezone.now() + timedelta(minutes=2 ** order.retry_count)
            order_status.transition(order, S.DELAYED, event="import_delayed",
                                    message=f"Reading the order failed ({message}); will retry.",
                                    fields=("retry_count", "retry_at"))
    return order

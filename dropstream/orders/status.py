"""The order status machine: every status change goes through ``transition``.

Each change is written to the order's activity timeline with who did it and why, so the order
page can always answer "how did it get here?".
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from dropstream.bulk import insert_rows, update_rows
from dropstream.orders.errors import InvalidTransition
from dropstream.orders.models import Order, OrderActivity, OrderStatus

S = OrderStatus

# Which statuses each status may move to. Archived and Closed are left by user actions only
# (Reprocess / Reset), which the table allows.
ALLOWED: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.PENDING, S.QUEUED, S.ERROR, S.DELAYED, S.SKIPPED, S.CLOSED, S.ARCHIVED}),
    S.PENDING: frozenset({S.QUEUED, S.NEW, S.ERROR, S.CLOSED, S.ARCHIVED, S.SKIPPED}),
    S.QUEUED: frozenset({S.OPEN, S.NEW, S.ERROR, S.DELAYED, S.CLOSED, S.ARCHIVED, S.PENDING}),
    S.DELAYED: frozenset({S.NEW, S.QUEUED, S.OPEN, S.ERROR, S.CLOSED, S.ARCHIVED}),
    S.ERROR: frozenset({S.NEW, S.QUEUED, S.OPEN, S.DELAYED, S.CLOSED, S.ARCHIVED, S.SKIPPED,
                        S.PARTIALLY_SHIPPED, S.SHIPPED}),
    S.OPEN: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CLOSED, S.ARCHIVED, S.ERROR, S.NEW}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.CLOSED, S.ARCHIVED, S.ERROR, S.OPEN}),
    S.SHIPPED: frozenset({S.ARCHIVED, S.PARTIALLY_SHIPPED}),
    S.SKIPPED: frozenset({S.NEW, S.ARCHIVED}),
    S.CLOSED: frozenset({S.OPEN, S.PARTIALLY_SHIPPED, S.SHIPPED, S.NEW, S.ARCHIVED}),
    S.ARCHIVED: frozenset({S.NEW, S.QUEUED, S.OPEN, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CLOSED,
                           S.ERROR}),
}

# Statuses in which the warehouse has (or may have) the order.
EXPORTED = frozenset({S.OPEN, S.PARTIALLY_SHIPPED, S.SHIPPED})
# Statuses the hub no longer works on by itself.
FINAL = frozenset({S.SHIPPED, S.CLOSED, S.ARCHIVED, S.SKIPPED})


def record(order: Order, event: str, message: str = "", *, actor: str = "system") -> OrderActivity:
    """Add an activity entry without changing the status."""
    return OrderActivity.objects.create(order=order, event=event, message=message[:4000],
                                        actor=actor)


def record_many(orders: Iterable[Order], event: str, message: str = "", *,
                actor: str = "system") -> int:
    """Add the same activity entry to many orders in one insert. Returns how many."""
    rows = [OrderActivity(order_id=order.pk, event=event, message=message[:4000], actor=actor)
            for order in orders]
    insert_rows(rows)
    return len(rows)


def _check(order: Order, to: str) -> str:
    """The order's current status; raises InvalidTransition when it may not move to ``to``."""
    current = order.status
    if to != current and to not in ALLOWED.get(current, frozenset()):
        raise InvalidTransition(
            f"order {order} cannot go from {S(current).label} to {S(to).label}")
    return current


def _move(order: Order, to: str, message: str, error_message: str | None) -> None:
    order.status = to
    if to in (S.ERROR, S.DELAYED):
        order.error_message = (error_message or message)[:4000]
    else:
        order.error_message = ""
        order.retry_at = None


def _text(current: str, to: str, message: str) -> str:
    label = S(current).label if current != to else None
    return message or (f"{label} → {S(to).label}" if label else S(to).label)


def transition(order: Order, to: str, *, event: str, message: str = "", actor: str = "system",
               error_message: str | None = None, fields: tuple[str, ...] = ()) -> Order:
    """Move ``order`` to ``to``, save it with ``fields``, and record the change.

    ``error_message`` is stored for Error and Delayed and cleared otherwise.
    Raises InvalidTransition when the machine does not allow the move.
    """
    current = _check(order, to)
    _move(order, to, message, error_message)
    update = {"status", "error_message", "retry_at", "updated_at", *fields}
    if order.pk is None:
        order.save()
    else:
        order.save(update_fields=sorted(update))
    record(order, event, _text(current, to, message), actor=actor)
    return order


def transition_each(orders: list[Order], to: str, *, event: str, message: str = "",
                    actor: str = "system", fields: tuple[str, ...] = ()) -> list[Order]:
    """``transition`` for many saved orders at once: one bulk update, one activity insert.

    The caller holds the rows (select_for_update in its transaction) and has checked their
    current status. Raises InvalidTransition, before writing anything, when any may not move.
    """
    if not orders:
        return orders
    currents = [_check(order, to) for order in orders]
    now = timezone.now()
    for order in orders:
        _move(order, to, message, None)
        order.updated_at = now
    update_rows(orders, sorted({"status", "error_message", "retry_at", "updated_at", *fields}))
    insert_rows(
        [OrderActivity(order_id=order.pk, event=event, message=_text(current, to, message)[:4000],
                       actor=actor) for order, current in zip(orders, currents, strict=True)])
    return orders


def transition_many(order_ids: list[int], from_status: str, to: str, *, event: str, message: str,
                    actor: str = "system", **updates) -> int:
    """Move many orders at once (bulk export confirmation); only those still in ``from_status``.

    Returns how many moved; each gets its activity entry.
    """
    if to not in ALLOWED.get(from_status, frozenset()):
        raise InvalidTransition(f"orders cannot go from {S(from_status).label} to {S(to).label}")
    moving = list(Order.objects.filter(pk__in=order_ids, status=from_status)
                  .values_list("pk", flat=True))
    if not moving:
        return 0
    Order.objects.filter(pk__in=moving, status=from_status).update(
        status=to, error_message="", updated_at=timezone.now(), **updates)
    insert_rows(
        [OrderActivity(order_id=pk, event=event, message=message, actor=actor) for pk in moving])
    return len(moving)

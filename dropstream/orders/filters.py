"""Which orders a list shows: one filter for the Orders page and ``GET /api/orders``, so the two
cannot drift. Each caller parses its own input (a form, query parameters) into an OrderFilter;
``apply`` narrows a queryset the caller already limited to what the user may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class OrderFilter:
    """Every bound is inclusive; None (or empty) means no condition."""

    ordered_from: datetime | None = None
    ordered_to: datetime | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: Sequence[str] = ()
    connection_id: int | None = None
    stores: QuerySet | None = None
    external_id: str | None = None
    external_display_id: str | None = None
    # The page's search box: an e-mail address, or an order number (store id, display number,
    # the warehouse's number, or the start of the display number).
    search: str = ""

    def apply(self, orders: QuerySet) -> QuerySet:
        orders = _between(orders, "ordered_at", self.ordered_from, self.ordered_to)
        orders = _between(orders, "created_at", self.created_from, self.created_to)
        if self.statuses:
            orders = orders.filter(status__in=list(self.statuses))
        if self.connection_id is not None:
            orders = orders.filter(connection_id=self.connection_id)
        if self.stores is not None:
            orders = orders.filter(store__in=self.stores)
        if self.external_id is not None:
            orders = orders.filter(external_id=self.external_id)
        if self.external_display_id is not None:
            orders = orders.filter(external_display_id=self.external_display_id)
        search = self.search.strip()
        if search:
            orders = orders.filter(_search(search))
        return orders


def _search(text: str) -> Q:
    if "@" in text:
        return Q(customer_email__iexact=text)
    return (Q(external_display_id=text) | Q(external_id=text) | Q(warehouse_order_number=text)
            | Q(external_display_id__startswith=text))


def _between(rows: QuerySet, field: str, low: datetime | None, high: datetime | None
             ) -> QuerySet:
    if low is not None:
        rows = rows.filter(**{f"{field}__gte": low})
    if high is not None:
        rows = rows.filter(**{f"{field}__lte": high})
    return rows

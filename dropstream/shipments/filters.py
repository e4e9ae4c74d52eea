"""Which shipments a list shows: one filter for the Shipments page and ``GET /api/shipments``.
``apply`` narrows a queryset the caller already limited to what the user may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class ShipmentFilter:
    """Every bound is inclusive; None (or empty) means no condition."""

    shipped_from: date | None = None
    shipped_to: date | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    states: Sequence[str] = ()
    tracking_number: str | None = None
    stores: QuerySet | None = None
    warehouses: QuerySet | None = None
    customers: QuerySet | None = None
    # The page's search box: a tracking number or the order number the warehouse reported.
    search: str = ""

    def apply(self, shipments: QuerySet) -> QuerySet:
        if self.shipped_from is not None:
            shipments = shipments.filter(ship_date__gte=self.shipped_from)
        if self.shipped_to is not None:
            shipments = shipments.filter(ship_date__lte=self.shipped_to)
        if self.created_from is not None:
            shipments = shipments.filter(created_at__gte=self.created_from)
        if self.created_to is not None:
            shipments = shipments.filter(created_at__lte=self.created_to)
        if self.states:
            shipments = shipments.filter(state__in=list(self.states))
        if self.tracking_number is not None:
            shipments = shipments.filter(tracking_number=self.tracking_number)
        if self.stores is not None:
            shipments = shipments.filter(connection__store__in=self.stores)
        if self.warehouses is not None:
            shipments = shipments.filter(warehouse__in=self.warehouses)
        if self.customers is not None:
            shipments = shipments.filter(connection__customer__in=self.customers)
        search = self.search.strip()
        if search:
            shipments = shipments.filter(Q(tracking_number=search) | Q(order_number=search))
        return shipments

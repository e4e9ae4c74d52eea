"""``/api/orders`` and ``/api/shipments`` (reference §13.3, §13.4, §13.7) and order actions (§5.1).

Lists filter as the reference documents, and page with ``page``/``limit`` (its paging names for
products); both answer ``total_count`` and ``total_pages`` next to the rows.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from django.db import models
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from dropstream.api import render
from dropstream.api.access import (
    current_user,
    get_visible,
    require_administrator,
    require_writer,
    visible,
)
from dropstream.api.errors import Invalid
from dropstream.api.schemas import (
    OrderActionIn,
    OrderActionOut,
    OrderEnvelope,
    OrderPage,
    ShipmentActionOut,
    ShipmentPage,
)
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, DateString, Id, Text, errors
from dropstream.connections.models import Merchant, Store, Warehouse
from dropstream.orders import actions as order_actions
from dropstream.orders.actions import OrderAction
from dropstream.orders.filters import OrderFilter
from dropstream.orders.models import Order, OrderStatus
from dropstream.shipments import actions as shipment_actions
from dropstream.shipments.filters import ShipmentFilter
from dropstream.shipments.models import Shipment, ShipmentState

orders = Router(tags=["orders"])
shipments = Router(tags=["shipments"])

MAX_PAGE = 1_000_000
IdOrName = Text(200, min_length=1)


class Paging(Schema):
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


def paginate(queryset: models.QuerySet, paging: Paging) -> tuple[list, dict[str, int]]:
    """One page of rows, and the page/limit/total_count/total_pages to answer with them."""
    total = queryset.count()
    start = (paging.page - 1) * paging.limit
    rows = list(queryset[start:start + paging.limit]) if start < total else []
    return rows, {"page": paging.page, "limit": paging.limit, "total_count": total,
                  "total_pages": math.ceil(total / paging.limit)}


def id_or_name(value: str, name_field: str) -> models.Q:
    """Reference §13.4: ``store_id`` etc. take an id (``1234``) or a name (``Jane's Goods``)."""
    text = value.strip()
    condition = models.Q(**{name_field: text})
    if text.isdigit() and int(text) <= 2**63 - 1:
        condition |= models.Q(pk=int(text))
    return condition


def _named(rows: models.QuerySet, value: str | None, name_field: str) -> models.QuerySet | None:
    """The visible rows an id-or-name filter names; None when the filter is not given."""
    return None if value is None else rows.filter(id_or_name(value, name_field))


def _states(value: str | None, known: list[str], field: str = "state") -> list[str] | None:
    """``state`` may list several values separated by commas."""
    if value is None:
        return None
    states = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in states if s not in known]
    if unknown or not states:
        raise Invalid({field: f"{field} must be one of {', '.join(known)}"})
    return states


# ---------------------------------------------------------------------------------- orders ----

class OrderFilters(Paging):
    ordered_at_min: DateString | None = None
    ordered_at_max: DateString | None = None
    created_at_min: DateString | None = None
    created_at_max: DateString | None = None
    store_id: IdOrName | None = None
    external_id: Text(64) | None = None
    external_display_id: Text(64) | None = None
    state: Text(200) | None = Field(None, description="fulfillment_state; several separated "
                                                      "by commas: " + ", ".join(OrderStatus.values))


@orders.get("", response={200: OrderPage, **errors(*READ_ERRORS)})
def list_orders(request: HttpRequest, filters: Query[OrderFilters]):
    """Orders the user can see, newest ordered first; without filters, every one."""
    user = current_user(request)
    chosen = OrderFilter(
        ordered_from=filters.ordered_at_min, ordered_to=filters.ordered_at_max,
        created_from=filters.created_at_min, created_to=filters.created_at_max,
        statuses=_states(filters.state, OrderStatus.values) or (),
        stores=_named(visible(Store, user), filters.store_id, "name"),
        external_id=filters.external_id, external_display_id=filters.external_display_id)
    rows, page = paginate(chosen.apply(visible(Order, user).select_related("connection")),
                          filters)
    return {"orders": [render.order(o) for o in rows], **page}


def _order(request: HttpRequest, id: int) -> Order:
    queryset = visible(Order, current_user(request)).select_related("connection")
    return get_visible(queryset, id, "order")


@orders.get("/{id}", response={200: OrderEnvelope, **errors(*READ_ERRORS)})
def get_order(request: HttpRequest, id: Id):
    """One order with its items, shipments and activity, as ``{"order": {…}}``."""
    order = _order(request, id)
    return {"order": render.order_detail(order)}


# The actions the API names in its path (force delete is delete with {"force": true}; edit is
# not an action here).
ApiOrderAction = Literal["reprocess", "reset", "archive", "delete", "release"]


@orders.post("/{id}/actions/{action}",
             response={200: OrderActionOut, 204: None, **errors(*WRITE_ERRORS)})
def act_on_order(request: HttpRequest, id: Id, action: ApiOrderAction,
                 payload: OrderActionIn | None = None):
    """Reprocess, reset, archive, delete or release one order (reference §5.1; release is the
    "Schedule Process" of an order held on a manual-release store).

    200 with the new ``fulfillment_state``; 204 for delete; 409 when the order's state does not
    allow the action (the message says why). ``{"force": true}`` deletes an order already sent
    to the warehouse: administrators only.
    """
    user = current_user(request)
    order = _order(request, id)
    require_writer(user)
    force = bool(payload and payload.force)
    if force and action != "delete":
        raise Invalid({"force": "force applies only to delete"})
    if force:
        require_administrator(user, "force-delete orders")
    # The domain refuses what the order's state forbids (409 in api/errors.py).
    changed = order_actions.perform(OrderAction.FORCE_DELETE if force else action, order,
                                    user=user)
    if changed is None:
        return Status(204, None)
    return Status(200, {"id": changed.pk, "fulfillment_state": changed.status})


# ------------------------------------------------------------------------------- shipments ----

class ShipmentFilters(Paging):
    shipped_at_min: DateString | None = None
    shipped_at_max: DateString | None = None
    created_at_min: DateString | None = None
    created_at_max: DateString | None = None
    tracking_number: Text(100) | None = None
    store_id: IdOrName | None = None
    warehouse_id: IdOrName | None = Field(None, description="an id, or the warehouse's "
                                                            "description (it has no name)")
    customer_id: IdOrName | None = Field(None, description="an id or the company name")
    state: Text(200) | None = Field(None, description="several separated by commas: "
                                                      + ", ".join(ShipmentState.values))


@shipments.get("", response={200: ShipmentPage, **errors(*READ_ERRORS)})
def list_shipments(request: HttpRequest, filters: Query[ShipmentFilters]):
    """Shipments the user can see, newest first; without filters, every one."""
    user = current_user(request)
    chosen = ShipmentFilter(
        shipped_from=filters.shipped_at_min.date() if filters.shipped_at_min else None,
        shipped_to=filters.shipped_at_max.date() if filters.shipped_at_max else None,
        created_from=filters.created_at_min, created_to=filters.created_at_max,
        states=_states(filters.state, ShipmentState.values) or (),
        tracking_number=filters.tracking_number,
        stores=_named(visible(Store, user), filters.store_id, "name"),
        warehouses=_named(visible(Warehouse, user), filters.warehouse_id, "description"),
        customers=_named(visible(Merchant, user), filters.customer_id, "company_name"))
    queryset = visible(Shipment, user).select_related("connection").prefetch_related("lines")
    rows, page = paginate(chosen.apply(queryset), filters)
    return {"shipments": [render.shipment(s) for s in rows], **page}


ShipmentAction = Literal["reprocess", "archive"]


@shipments.post("/{id}/actions/{action}",
                response={200: ShipmentActionOut, **errors(*WRITE_ERRORS)})
def act_on_shipment(request: HttpRequest, id: Id, action: ShipmentAction):
    """Reprocess or archive one shipment.

    Reprocess makes a shipment in Error ready for the next shipment run (one that matched no
    order is matched again first); 409 when its state does not allow it, with the reason.
    """
    user = current_user(request)
    shipment = get_visible(visible(Shipment, user), id, "shipment")
    require_writer(user)
    changed = shipment_actions.ACTIONS[action](shipment, actor=user.email)
    return Status(200, {"id": changed.pk, "state": changed.state, "order_id": changed.order_id,
                        "error_message": changed.error_message})

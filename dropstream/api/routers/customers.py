"""``/api/customers``: merchants (reference §1.2 ``customer``, §13.3)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from dropstream.api import render
from dropstream.api.access import (
    current_user,
    get_visible,
    require_merchant_creator,
    require_writer,
    visible,
)
from dropstream.api.schemas import CustomerIn, CustomerOut, CustomerPatch
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, Created, Id, created_links, errors
from dropstream.connections import actions
from dropstream.connections.models import Merchant

router = Router(tags=["customers"])


@router.get("", response={200: list[CustomerOut], **errors(*READ_ERRORS)})
def list_customers(request: HttpRequest):
    return [render.customer(m) for m in visible(Merchant, current_user(request))]


@router.post("", response={201: Created, **errors(*WRITE_ERRORS)},
             openapi_extra=created_links(__name__, GetCustomer="get_customer",
                                         UpdateCustomer="update_customer"))
def create_customer(request: HttpRequest, payload: CustomerIn):
    require_merchant_creator(current_user(request))
    fields = payload.model_dump(exclude={"company_name"})
    merchant = actions.create_merchant(payload.company_name, **fields)
    return Status(201, {"id": merchant.pk})


@router.get("/{id}", response={200: CustomerOut, **errors(*READ_ERRORS)})
def get_customer(request: HttpRequest, id: Id):
    return render.customer(get_visible(visible(Merchant, current_user(request)), id, "customer"))


@router.patch("/{id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_customer(request: HttpRequest, id: Id, payload: CustomerPatch):
    user = current_user(request)
    merchant = get_visible(visible(Merchant, user), id, "customer")
    require_writer(user)
    actions.update_merchant(merchant, payload.model_dump(exclude_unset=True))
    return Status(204, None)

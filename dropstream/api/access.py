"""Who may see and change what (reference §11), on top of ``visible_to`` scoping.

Reads: ``Model.objects.visible_to(user)`` everywhere, so another merchant's object is a 404 and
never counted. Writes: merchant users are read-only (403 on what they can see); deleting a
connection and force-deleting an order are for administrators.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest

from dropstream.accounts.models import Role
from dropstream.accounts.scoping import visible_merchant_ids
from dropstream.api.errors import Forbidden, Invalid, NotFound
from dropstream.connections.models import Merchant

M = TypeVar("M", bound=models.Model)


def current_user(request: HttpRequest) -> Any:
    """The user the bearer token named (set by BearerAuth)."""
    return request.auth  # type: ignore[attr-defined]


def visible(model: type[M], user: Any) -> models.QuerySet[M]:
    return model.objects.visible_to(user)  # type: ignore[attr-defined]


def get_visible(queryset: models.QuerySet[M], pk: int, label: str) -> M:
    """The object with ``pk`` in an already-scoped queryset; NotFound otherwise."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"no {label} with id {pk}")
    return obj


def require_writer(user: Any) -> None:
    """Merchant users review; they do not change anything."""
    if user.role == Role.MERCHANT and not user.is_administrator:
        raise Forbidden("merchant users have read-only access")


def require_administrator(user: Any, what: str) -> None:
    if not user.is_administrator:
        raise Forbidden(f"only administrators can {what}")


def require_merchant_creator(user: Any) -> None:
    """A staff user limited to some merchants could not see a merchant it creates."""
    require_writer(user)
    if not user.is_administrator and visible_merchant_ids(user) is not None:
        raise Forbidden("staff users limited to some merchants cannot create merchants")


def visible_customer(user: Any, customer_id: int, field: str = "customer_id") -> Merchant:
    """A merchant referenced from a body: a 422 naming the field when it is not visible."""
    merchant = visible(Merchant, user).filter(pk=customer_id).first()
    if merchant is None:
        raise Invalid({field: f"{field}: no customer with id {customer_id}"})
    return merchant

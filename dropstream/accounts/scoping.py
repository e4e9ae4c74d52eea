"""Tenancy: which merchants a user may see, and one queryset method that applies it.

Pages and the API both call ``Model.objects.visible_to(user)`` (netbox
``utilities/querysets.py``), so a merchant user can never see another merchant's rows, names or
counts. Another merchant's object is then simply not found: 404, never 403.
"""

from __future__ import annotations

from django.db import models


def visible_merchant_ids(user) -> set[int] | None:
    """None means every merchant; otherwise the ids this user may see (possibly empty)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    if user.is_administrator:
        return None
    if user.role == "merchant":
        return {user.merchant_id} if user.merchant_id else set()
    if not user.limited_to_merchants:
        return None
    # An empty list means none: falling back to "all" would hand a staff user whose last
    # merchant was removed every other merchant's data.
    return set(user.merchants.values_list("id", flat=True))


class ScopedQuerySet(models.QuerySet):
    """``merchant_field`` is the lookup path from the model to its merchant id."""

    merchant_field = "merchant_id"

    def visible_to(self, user) -> models.QuerySet:
        ids = visible_merchant_ids(user)
        if ids is None:
            return self
        return self.filter(**{f"{self.merchant_field}__in": ids})


def scoped_queryset(path: str) -> type[ScopedQuerySet]:
    """A ScopedQuerySet subclass whose merchant lookup is ``path``."""
    return type(f"ScopedQuerySet_{path.replace('__', '_')}", (ScopedQuerySet,),
                {"merchant_field": path})

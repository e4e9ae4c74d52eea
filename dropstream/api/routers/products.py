"""``/api/products`` (reference §8, §13.3, §13.6): SKUs, bundles and store listings.

``bundle`` (``[{"product_id", "qty"}]``) makes a product a bundle of other products of the same
customer; ``listings`` (``[{"store_id", "store_sku"}]``) is ours: the store's SKU for the product.
On PATCH either list, when given, replaces the stored one.
"""

from __future__ import annotations

import math
from typing import Annotated

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from dropstream.api import render
from dropstream.api.access import (
    current_user,
    get_visible,
    require_writer,
    visible,
    visible_customer,
)
from dropstream.api.schemas import ProductIn, ProductOut, ProductPage, ProductPatch
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, Created, Id, created_links, errors
from dropstream.catalog import actions as catalog_actions
from dropstream.catalog.models import Product
from dropstream.connections.models import Store

router = Router(tags=["products"])


class ProductFilters(Schema):
    customer_id: Id | None = None
    store_id: Id | None = None
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    limit: Annotated[int, Field(ge=1, le=1000)] = 1000


def _with_relations(queryset):
    return queryset.prefetch_related("components", "listings")


@router.get("", response={200: ProductPage, **errors(*READ_ERRORS)})
def list_products(request: HttpRequest, filters: Query[ProductFilters]):
    """Products by SKU; ``store_id`` lists the products of that store's customer."""
    user = current_user(request)
    queryset = visible(Product, user)
    if filters.customer_id is not None:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.store_id is not None:
        owner = visible(Store, user).filter(pk=filters.store_id).values("customer_id")
        queryset = queryset.filter(customer_id__in=owner)
    total = queryset.count()
    start = (filters.page - 1) * filters.limit
    rows = list(_with_relations(queryset)[start:start + filters.limit]) if start < total else []
    return {"products": [render.product(p) for p in rows], "page": filters.page,
            "limit": filters.limit, "total_count": total,
            "total_pages": math.ceil(total / filters.limit)}


@router.get("/{id}", response={200: ProductOut, **errors(*READ_ERRORS)})
def get_product(request: HttpRequest, id: Id):
    product = get_visible(_with_relations(visible(Product, current_user(request))), id, "product")
    return render.product(product)


# ------------------------------------------------------------------------------- writes ----
# The rules live in catalog.actions; its CatalogError/CatalogConflict become 422/409 in
# api/errors.py.

@router.post("", response={201: Created, **errors(*WRITE_ERRORS)},
             openapi_extra=created_links(__name__, GetProduct="get_product",
                                         UpdateProduct="update_product"))
def create_product(request: HttpRequest, payload: ProductIn):
    user = current_user(request)
    require_writer(user)
    customer = visible_customer(user, payload.customer_id)
    product = catalog_actions.save_product(customer, changes=payload.model_dump())
    return Status(201, {"id": product.pk})


@router.patch("/{id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_product(request: HttpRequest, id: Id, payload: ProductPatch):
    user = current_user(request)
    with transaction.atomic():
        product = get_visible(visible(Product, user).select_for_update(), id, "product")
        require_writer(user)
        catalog_actions.save_product(product.customer, product=product,
                                     changes=payload.model_dump(exclude_unset=True))
    return Status(204, None)

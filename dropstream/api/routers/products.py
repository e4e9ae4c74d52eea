"""``/api/products`` (reference §8, §13.3, §13.6): SKUs, bundles and store listings.

``bundle`` (``[{"product_id", "qty"}]``) makes a product a bundle of other products of the same
customer; ``listings`` (``[{"store_id", "store_sku"}]``) is ours: the store's SKU for the product.
On PATCH either list, when given, replaces the stored one.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from django.db import IntegrityError, transaction
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
from dropstream.api.errors import ApiError, Invalid
from dropstream.api.schemas import ProductIn, ProductOut, ProductPage, ProductPatch
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, Created, Id, errors
from dropstream.catalog.models import BundleComponent, Listing, Product
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

def _set_bundle(product: Product, items: list[dict[str, Any]]) -> None:
    """Replace the bundle's components. One level only: a bundle cannot contain a bundle, and a
    product used in a bundle cannot become one, so no cycle can form."""
    problems: dict[str, str] = {}
    seen: set[int] = set()
    for index, item in enumerate(items):
        where = f"bundle.{index}.product_id"
        component_id = item["product_id"]
        if component_id == product.pk:
            problems[where] = "a bundle cannot contain itself"
        elif component_id in seen:
            problems[where] = f"product {component_id} is listed twice"
        seen.add(component_id)
    components = {p.pk: p for p in Product.objects.filter(pk__in=seen, customer=product.customer)}
    nested = set(BundleComponent.objects.filter(bundle__in=seen).values_list("bundle", flat=True))
    for index, item in enumerate(items):
        where = f"bundle.{index}.product_id"
        if where in problems:
            continue
        if item["product_id"] not in components:
            problems[where] = f"no product {item['product_id']} of customer {product.customer_id}"
        elif item["product_id"] in nested:
            problems[where] = f"product {item['product_id']} is itself a bundle"
    if items and BundleComponent.objects.filter(component=product).exists():
        problems["bundle"] = f"product {product.sku} is part of another bundle"
    if problems:
        raise Invalid(problems)
    BundleComponent.objects.filter(bundle=product).delete()
    BundleComponent.objects.bulk_create([
        BundleComponent(bundle=product, component=components[item["product_id"]],
                        quantity=item["qty"]) for item in items])


def _set_listings(product: Product, items: list[dict[str, Any]]) -> None:
    """Replace the product's listings; each store must be the same customer's."""
    stores = {s.pk: s for s in Store.objects.filter(
        pk__in=[i["store_id"] for i in items], customer=product.customer)}
    problems: dict[str, str] = {}
    pairs: set[tuple[int, str]] = set()
    for index, item in enumerate(items):
        if item["store_id"] not in stores:
            problems[f"listings.{index}.store_id"] = (
                f"no store {item['store_id']} of customer {product.customer_id}")
        pair = (item["store_id"], item["store_sku"].strip())
        if pair in pairs:
            problems[f"listings.{index}.store_sku"] = "listed twice"
        pairs.add(pair)
    if problems:
        raise Invalid(problems)
    Listing.objects.filter(product=product).delete()
    try:
        with transaction.atomic():
            Listing.objects.bulk_create([
                Listing(product=product, store=stores[store_id], store_sku=sku)
                for store_id, sku in sorted(pairs)])
    except IntegrityError:
        raise ApiError("a store SKU in listings is already listed for another product",
                       status=409) from None


def _save_sku(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise ApiError(f"customer {product.customer_id} already has a product with SKU "
                       f"{product.sku!r}", status=409) from None


@router.post("", response={201: Created, **errors(*WRITE_ERRORS)})
def create_product(request: HttpRequest, payload: ProductIn):
    user = current_user(request)
    require_writer(user)
    customer = visible_customer(user, payload.customer_id)
    with transaction.atomic():
        product = Product(customer=customer, sku=payload.sku.strip(), name=payload.name,
                          variant_of=payload.variant_of)
        _save_sku(product)
        _set_bundle(product, [b.model_dump() for b in payload.bundle])
        _set_listings(product, [item.model_dump() for item in payload.listings])
    return Status(201, {"id": product.pk})


@router.patch("/{id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_product(request: HttpRequest, id: Id, payload: ProductPatch):
    user = current_user(request)
    changes = payload.model_dump(exclude_unset=True)
    with transaction.atomic():
        product = get_visible(visible(Product, user).select_for_update(), id, "product")
        require_writer(user)
        for field in ("sku", "name", "variant_of"):
            if field in changes:
                value = changes[field]
                setattr(product, field, value.strip() if field == "sku" else value)
        _save_sku(product)
        if "bundle" in changes:
            _set_bundle(product, changes["bundle"])
        if "listings" in changes:
            _set_listings(product, changes["listings"])
    return Status(204, None)

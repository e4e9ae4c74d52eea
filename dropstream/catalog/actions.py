"""Everything that changes the catalog — products and their SKUs, bundles, store listings and
the shipping-method map — for the pages and the API alike. Each function checks its input,
writes in one transaction, and raises CatalogError (422) or CatalogConflict (409) by field."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from dropstream.catalog.errors import CatalogConflict, CatalogError
from dropstream.catalog.models import BundleComponent, Listing, Product, ShippingMethodMap
from dropstream.connections.models import Connection, Merchant, Store

SHIPPING_CSV_COLUMNS = ("store_description", "carrier_code", "carrier_name", "service_level")

__all__ = ["CatalogConflict", "CatalogError", "add_listing", "add_shipping_method",
           "import_shipping_map", "save_product", "set_bundle", "set_listings"]


# ------------------------------------------------------------------------------ products ----

def save_product(customer: Merchant, *, product: Product | None = None,
                 changes: dict[str, Any]) -> Product:
    """Create a product of ``customer`` (``product`` None) or change one; ``changes`` may hold
    sku, name, variant_of, bundle ([{"product_id", "qty"}]) and listings ([{"store_id",
    "store_sku"}]) — a list given replaces the stored one. All or nothing."""
    with transaction.atomic():
        if product is None:
            product = Product(customer=customer)
        for name in ("sku", "name", "variant_of"):
            if name in changes:
                value = changes[name]
                setattr(product, name, value.strip() if name == "sku" else value)
        if not (product.sku or "").strip():
            raise CatalogError({"sku": "sku cannot be empty"})
        _save_sku(product)
        if "bundle" in changes:
            set_bundle(product, changes["bundle"] or [])
        if "listings" in changes:
            set_listings(product, changes["listings"] or [])
    return product


def _save_sku(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise CatalogConflict({"sku": f"customer {product.customer_id} already has a product "
                                      f"with SKU {product.sku!r}"}) from None


def set_bundle(product: Product, items: Sequence[dict[str, Any]]) -> None:
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
        raise CatalogError(problems)
    BundleComponent.objects.filter(bundle=product).delete()
    BundleComponent.objects.bulk_create([
        BundleComponent(bundle=product, component=components[item["product_id"]],
                        quantity=item["qty"]) for item in items])


def set_listings(product: Product, items: Sequence[dict[str, Any]]) -> None:
    """Replace the product's listings; each store must be the same customer's, and a store SKU
    may belong to one product only."""
    stores = {s.pk: s for s in Store.objects.filter(
        pk__in=[i["store_id"] for i in items], customer=product.customer)}
    problems: dict[str, str] = {}
    pairs: dict[tuple[int, str], int] = {}
    for index, item in enumerate(items):
        if item["store_id"] not in stores:
            problems[f"listings.{index}.store_id"] = (
                f"no store {item['store_id']} of customer {product.customer_id}")
        pair = (item["store_id"], item["store_sku"].strip())
        if pair in pairs:
            problems[f"listings.{index}.store_sku"] = "listed twice"
        pairs.setdefault(pair, index)
    if problems:
        raise CatalogError(problems)
    taken = {(store_id, sku): other for store_id, sku, other in Listing.objects.filter(
        store_id__in=stores, store_sku__in=[sku for _, sku in pairs]).exclude(
        product=product).values_list("store_id", "store_sku", "product__sku")}
    clashes = {f"listings.{pairs[pair]}.store_sku": f"{pair[1]} is already listed for product "
                                                    f"{other}" for pair, other in taken.items()}
    if clashes:
        raise CatalogConflict(clashes)
    Listing.objects.filter(product=product).delete()
    Listing.objects.bulk_create([Listing(product=product, store=stores[store_id], store_sku=sku)
                                 for store_id, sku in sorted(pairs)])


def add_listing(store: Store, *, store_sku: str, warehouse_sku: str, name: str = "") -> Listing:
    """Map ``store_sku`` on ``store`` to the merchant's product ``warehouse_sku`` (created if
    new). CatalogConflict when the store SKU already belongs to another product."""
    store_sku, warehouse_sku = store_sku.strip(), warehouse_sku.strip()
    with transaction.atomic():
        product, _ = Product.objects.get_or_create(
            customer_id=store.customer_id, sku=warehouse_sku, defaults={"name": name})
        listing = Listing.objects.filter(store=store, store_sku=store_sku).first()
        if listing is not None and listing.product_id != product.pk:
            raise CatalogConflict({"store_sku": f"{store_sku} is already listed for product "
                                                f"{listing.product.sku}; delete that first"})
        return listing or Listing.objects.create(store=store, product=product,
                                                 store_sku=store_sku)


# ---------------------------------------------------------------------- shipping methods ----

def add_shipping_method(connection: Connection, *, store_description: str, carrier_code: str,
                        carrier_name: str = "", service_level: str = "") -> ShippingMethodMap:
    """Add or replace one map row (the store's text is the key)."""
    if not store_description.strip() or not carrier_code.strip():
        raise CatalogError({key: f"{key} is required" for key, value in
                            (("store_description", store_description),
                             ("carrier_code", carrier_code)) if not value.strip()})
    row, _ = ShippingMethodMap.objects.update_or_create(
        connection=connection, store_description=store_description.strip(),
        defaults={"carrier_code": carrier_code.strip(), "carrier_name": carrier_name,
                  "service_level": service_level})
    return row


@dataclass
class CsvImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def import_shipping_map(connection: Connection, text: str, *, overwrite: bool) -> CsvImportResult:
    """Load shipping-method rows from CSV ``text`` (header row required).

    Rows naming an existing store description are updated only with ``overwrite`` (else
    skipped). A bad row is reported by line number and nothing at all is saved, so a file is
    either taken whole or not at all.
    """
    rows, errors = _shipping_rows(text)
    if errors:
        return CsvImportResult(errors=errors)
    result = CsvImportResult()
    with transaction.atomic():
        existing = {m.store_description: m for m in
                    ShippingMethodMap.objects.filter(connection=connection)}
        for description, values in rows.items():
            current = existing.get(description)
            if current is None:
                ShippingMethodMap.objects.create(connection=connection,
                                                 store_description=description, **values)
                result.created += 1
            elif overwrite:
                for key, value in values.items():
                    setattr(current, key, value)
                current.save()
                result.updated += 1
            else:
                result.skipped += 1
    return result


def _shipping_rows(text: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The CSV's rows by store description, or the problems found (by line number)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in SHIPPING_CSV_COLUMNS[:2] if c not in header]
    if missing:
        return {}, [f"The header row must name {', '.join(missing)} "
                    f"(columns: {', '.join(SHIPPING_CSV_COLUMNS)})."]
    rows: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        description, code = row.get("store_description", ""), row.get("carrier_code", "")
        if not description and not code:
            continue
        if not description or not code:
            errors.append(f"Line {number}: store_description and carrier_code are both needed.")
            continue
        if len(description) > 200 or len(code) > 100:
            errors.append(f"Line {number}: a value is too long.")
            continue
        rows[description] = {"carrier_code": code,
                             "carrier_name": row.get("carrier_name", "")[:100],
                             "service_level": row.get("service_level", "")[:100]}
    return rows, errors

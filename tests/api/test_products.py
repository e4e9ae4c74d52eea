"""products: SKUs, bundles (reference §13.6 shape) and store listings."""

from __future__ import annotations

from dropstream.catalog.models import BundleComponent, Listing, Product


def test_it_creates_a_bundle_like_the_reference_example(admin_api, merchant):
    towel = Product.objects.create(customer=merchant, sku="TOWEL")
    response = admin_api.post("/api/products", {
        "customer_id": str(merchant.pk), "sku": "abc-123", "variant_of": "Bath Towels",
        "bundle": [{"product_id": towel.pk, "qty": 2}]})
    assert response.status_code == 201
    product = Product.objects.get(pk=response.json()["id"])
    assert (product.sku, product.variant_of) == ("abc-123", "Bath Towels")
    assert list(product.components.values_list("component_id", "quantity")) == [(towel.pk, 2)]
    body = admin_api.get("/api/products", {"customer_id": merchant.pk}).json()
    assert (body["page"], body["limit"], body["total_count"], body["total_pages"]) == (
        1, 1000, 2, 1)
    listed = {p["sku"]: p for p in body["products"]}
    assert listed["abc-123"]["bundle"] == [{"product_id": towel.pk, "qty": 2}]
    assert listed["TOWEL"]["bundle"] == []


def test_a_bundle_cannot_hold_another_merchants_product_or_a_bundle(admin_api, merchant,
                                                                     other_world):
    inner = Product.objects.create(customer=merchant, sku="INNER")
    outer = Product.objects.create(customer=merchant, sku="OUTER")
    BundleComponent.objects.create(bundle=outer, component=inner, quantity=1)
    response = admin_api.post("/api/products", {
        "customer_id": merchant.pk, "sku": "KIT",
        "bundle": [{"product_id": other_world["product"].pk}, {"product_id": outer.pk}]})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"bundle.0.product_id", "bundle.1.product_id"}
    assert not Product.objects.filter(sku="KIT").exists()


def test_listings_map_store_skus_and_patch_replaces_them(admin_api, world):
    product, store = world["product"], world["store"]
    path = f"/api/products/{product.pk}"
    assert admin_api.patch(path, {"listings": [{"store_id": store.pk, "store_sku": "BS-TEE"}]}
                           ).status_code == 204
    assert admin_api.get(path).json()["listings"][0]["store_sku"] == "BS-TEE"
    assert admin_api.patch(path, {"listings": [{"store_id": store.pk, "store_sku": "BS-TEE2"}]}
                           ).status_code == 204
    assert list(Listing.objects.values_list("store_sku", flat=True)) == ["BS-TEE2"]


def test_a_duplicate_sku_is_a_409(admin_api, world):
    response = admin_api.post("/api/products", {"customer_id": world["customer"].pk,
                                                "sku": "TEE-S"})
    assert response.status_code == 409
    assert Product.objects.filter(sku="TEE-S").count() == 1


def test_store_id_lists_that_stores_customers_products(admin_api, world, other_world):
    body = admin_api.get("/api/products", {"store_id": other_world["store"].pk}).json()
    assert [p["sku"] for p in body["products"]] == ["OTHER-1"]

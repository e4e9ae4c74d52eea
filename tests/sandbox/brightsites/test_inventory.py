"""Inventory: store-wide list, batch update, per-product records, stock on orders (§9)."""

from __future__ import annotations

import httpx

from tests.fixtures.brightsites import BsStore

ROW_KEYS = ["product_id", "product_name", "internal_id", "sku", "final_sku", "id", "inventory",
            "trigger", "track", "allow_negative", "sub_option_ids", "sub_sku"]


def _all_rows(api: httpx.Client, **params: object) -> list[dict]:
    rows, page = [], 1
    while True:
        body = api.get("/inventories", params={"per_page": 500, "page": page, **params}).json()
        rows += body["inventories"]
        if len(body["inventories"]) < 500:
            return rows
        page += 1


def test_the_store_wide_list_skips_vendor_managed_products(bs_store: BsStore,
                                                          api: httpx.Client) -> None:
    raw = bs_store.control.inventories()
    stocked = [r for r in raw if not r["vendor_managed"] and r["enable_inventory"]]

    rows = _all_rows(api)

    assert any(r["vendor_managed"] for r in raw)
    assert [r["id"] for r in rows] == [r["id"] for r in stocked]
    assert all(list(row) == ROW_KEYS for row in rows)


def test_final_sku_is_sku_separator_and_sub_sku(bs_store: BsStore, api: httpx.Client) -> None:
    rows = _all_rows(api)

    for row in rows:
        if row["sub_sku"]:
            assert row["final_sku"].startswith(row["sku"])
            separator = row["final_sku"][len(row["sku"])]
            assert row["final_sku"] == f"{row['sku']}{separator}{row['sub_sku']}"
        else:
            assert row["final_sku"] == row["sku"] and row["sub_option_ids"] == []
    assert len({row["final_sku"] for row in rows}) == len(rows)


def test_the_list_pages_with_meta(bs_store: BsStore, api: httpx.Client) -> None:
    total = len(_all_rows(api))

    first = api.get("/inventories", params={"per_page": 10}).json()
    last = api.get("/inventories", params={"per_page": 10, "page": (total + 9) // 10}).json()

    assert first["meta"] == {"total": total, "offset": 0, "limit": 10}
    assert len(first["inventories"]) == 10
    assert len(last["inventories"]) == total - 10 * ((total + 9) // 10 - 1)


def test_the_sku_filter_is_an_exact_product_sku_match(bs_store: BsStore,
                                                      api: httpx.Client) -> None:
    row = _all_rows(api)[0]

    exact = api.get("/inventories", params={"sku": row["sku"]}).json()
    partial = api.get("/inventories", params={"sku": row["sku"][:-1]}).json()

    assert {r["sku"] for r in exact["inventories"]} == {row["sku"]}
    assert partial["inventories"] == [] and partial["meta"]["total"] == 0


def test_batch_update_sets_absolute_levels_and_returns_full_rows(bs_store: BsStore,
                                                                 api: httpx.Client) -> None:
    rows = [r for r in _all_rows(api)]
    product_id = next(r["product_id"] for r in rows
                      if sum(x["product_id"] == r["product_id"] for x in rows) >= 2)
    first, second = [r for r in rows if r["product_id"] == product_id][:2]

    response = api.put(f"/inventories/{product_id}/batch_update", json={"inventories": [
        {"id": first["id"], "inventory": 100},
        {"id": second["id"], "inventory": 500, "track": False}]})

    assert response.status_code == 200
    assert response.json() == {"inventories": [
        {**first, "inventory": 100}, {**second, "inventory": 500, "track": False}]}
    levels = {r["id"]: (r["inventory"], r["track"]) for r in bs_store.control.inventories()}
    assert levels[first["id"]] == (100, first["track"])
    assert levels[second["id"]] == (500, False)


def test_batch_update_also_answers_patch(bs_store: BsStore, api: httpx.Client) -> None:
    row = _all_rows(api)[0]

    response = api.patch(f"/inventories/{row['product_id']}/batch_update",
                         json={"inventories": [{"id": row["id"], "inventory": 7}]})

    assert response.json()["inventories"][0]["inventory"] == 7


def test_batch_update_refuses_a_record_of_another_product_and_changes_nothing(
        bs_store: BsStore, api: httpx.Client) -> None:
    rows = _all_rows(api)
    mine = rows[0]
    foreign = next(r for r in rows if r["product_id"] != mine["product_id"])

    response = api.put(f"/inventories/{mine['product_id']}/batch_update", json={"inventories": [
        {"id": mine["id"], "inventory": 1}, {"id": foreign["id"], "inventory": 1}]})

    assert response.status_code == 422
    message = response.json()["errors"]["inventories"]
    assert isinstance(message, str) and f"inventory {foreign['id']} does not belong" in message
    assert _all_rows(api)[0]["inventory"] == mine["inventory"]


def test_batch_update_refuses_vendor_managed_products_with_an_array(bs_store: BsStore,
                                                                    api: httpx.Client) -> None:
    vendor = next(r for r in bs_store.control.inventories() if r["vendor_managed"])

    response = api.put(f"/inventories/{vendor['product_id']}/batch_update",
                       json={"inventories": [{"id": vendor["id"], "inventory": 5}]})

    assert response.status_code == 422
    assert response.json() == {"errors": {"inventories": [
        "Vendor inventory is enabled for this product"]}}


def test_batch_update_of_an_unknown_product_is_404(bs_store: BsStore, api: httpx.Client) -> None:
    response = api.put("/inventories/1/batch_update", json={"inventories": []})

    assert response.status_code == 404


def test_product_inventories_list_records_and_hide_vendor_managed_ones(
        bs_store: BsStore, api: httpx.Client) -> None:
    raw = bs_store.control.inventories()
    stocked = next(r for r in raw if not r["vendor_managed"])
    vendor = next(r for r in raw if r["vendor_managed"])

    own = api.get(f"/products/{stocked['product_id']}/inventories").json()
    managed = api.get(f"/products/{vendor['product_id']}/inventories").json()

    assert own["enabled"] is True
    assert stocked["id"] in [r["id"] for r in own["inventories"]]
    assert set(own["inventories"][0]) == {"id", "inventory", "trigger", "track",
                                          "allow_negative", "sub_sku", "sub_option_ids"}
    assert managed == {"enabled": True, "inventories": []}


def test_a_product_inventory_record_can_be_updated_and_deleted(bs_store: BsStore,
                                                               api: httpx.Client) -> None:
    row = _all_rows(api)[0]
    path = f"/products/{row['product_id']}/inventories/{row['id']}"

    updated = api.put(path, json={"inventory": {"inventory": 42, "trigger": 3}}).json()
    deleted = api.delete(path)

    assert (updated["inventory"], updated["trigger"]) == (42, 3)
    assert deleted.status_code == 200
    assert api.get(path).status_code == 404
    assert row["id"] not in [r["id"] for r in _all_rows(api)]


def test_a_deleted_combination_can_be_created_again(bs_store: BsStore, api: httpx.Client) -> None:
    row = _all_rows(api)[0]
    base = f"/products/{row['product_id']}/inventories"
    api.delete(f"{base}/{row['id']}")

    created = api.post(base, json={"inventory": {
        "sub_option_ids": row["sub_option_ids"], "inventory": 9, "trigger": 2, "track": True,
        "allow_negative": False}})
    duplicate = api.post(base, json={"inventory": {
        "sub_option_ids": row["sub_option_ids"], "inventory": 9, "trigger": 2, "track": True,
        "allow_negative": False}})

    assert created.status_code == 201
    assert created.json()["sub_sku"] == row["sub_sku"]
    assert duplicate.status_code == 422
    assert any(r["final_sku"] == row["final_sku"] and r["inventory"] == 9
               for r in _all_rows(api))


def test_products_are_listed_and_shown_with_inventory_flags(bs_store: BsStore,
                                                            api: httpx.Client) -> None:
    listing = api.get("/products", params={"per_page": 500}).json()
    product_id = listing["products"][1]["id"]

    product = api.get(f"/products/{product_id}").json()

    assert listing["meta"]["total"] == len(listing["products"]) == 40
    assert {"sku", "sku_separator", "enable_inventory", "vendor_inventory_enabled",
            "inventory_vendor_id", "options", "sub_options", "inventories"} <= set(product)


def test_placing_an_order_takes_tracked_stock_without_going_negative(bs_store: BsStore) -> None:
    record = next(r for r in bs_store.control.inventories()
                  if r["track"] and not r["vendor_managed"] and not r["allow_negative"])
    bs_store.control.set_inventory({record["final_sku"]: 2})

    bs_store.control.create_orders(1, lines=[{"final_sku": record["final_sku"], "quantity": 5}])

    level = next(r["inventory"] for r in bs_store.control.inventories()
                 if r["id"] == record["id"])
    assert level == 0

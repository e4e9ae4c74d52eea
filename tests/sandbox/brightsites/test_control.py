"""The sandbox's own control API: bad requests, clock, stores over HTTP, special lines."""

from __future__ import annotations

import httpx
import pytest

from dropstream.sandbox.brightsites.control import SandboxControl, SandboxControlError
from tests.fixtures.brightsites import BsStore
from tests.fixtures.secret_leaks import make_secret
from tests.sandbox.brightsites.conftest import plain_client


@pytest.mark.parametrize(("options", "message"), [
    ({"count": -1}, "count must be"),
    ({"status": "in progress"}, "status must be one of"),
    ({"lines": [{"final_sku": "NOPE-1"}]}, "no variant has final_sku"),
    ({"lines": []}, "lines must be a non-empty list"),
    ({"colour": "red"}, "unknown order option"),
])
def test_bad_order_options_are_refused_and_create_nothing(bs_store: BsStore, options: dict,
                                                          message: str) -> None:
    count = options.pop("count", 1)

    with pytest.raises(SandboxControlError, match=message):
        bs_store.control.create_orders(count, **options)

    assert bs_store.control.state()["orders"]["total"] == 0


def test_an_unknown_admin_field_is_refused_and_changes_nothing(bs_store: BsStore) -> None:
    [order_id] = bs_store.control.create_orders(1, approval_pending=True)

    with pytest.raises(SandboxControlError, match="unknown order field"):
        bs_store.control.update_order(order_id, approval_pending=False, colour="red")

    assert bs_store.control.get_order(order_id)["approval_pending"] is True


def test_a_frozen_clock_stamps_orders_and_advances_on_request(bs_store: BsStore,
                                                              api: httpx.Client) -> None:
    bs_store.control.clock(freeze="2025-05-14T19:11:05Z")
    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.clock(advance_seconds=16)
    api.put(f"/orders/{order_id}", json={"order": {"status": "in_progress"}})

    row = api.get("/orders").json()["orders"][0]

    assert (row["created_at"], row["updated_at"]) == ("2025-05-14T19:11:05.000Z",
                                                      "2025-05-14T19:11:21.000Z")


def test_two_edits_in_one_second_still_change_updated_at(bs_store: BsStore,
                                                         api: httpx.Client) -> None:
    bs_store.control.clock(freeze=True)
    [order_id] = bs_store.control.create_orders(1)

    first = api.put(f"/orders/{order_id}", json={"order": {"note": "a"}}).json()
    stamps = [api.get(f"/orders/{order_id}").json()["updated_at"]]
    api.put(f"/orders/{order_id}", json={"order": {"note": "b"}})
    stamps.append(api.get(f"/orders/{order_id}").json()["updated_at"])

    assert first["status"] == "paid"
    assert stamps[0] < stamps[1]


def test_a_gift_certificate_line_has_no_stock_and_no_tax(bs_store: BsStore,
                                                         api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1, lines=[{"gift_certificate": True,
                                                           "amount": "50"}])

    [line] = api.get(f"/orders/{order_id}").json()["line_items"]

    assert (line["final_sku"], line["total_price"], line["tax_price"]) == ("GC25", "50.0", None)
    assert line["gift_certificate"]["amount"] == "50.0"


def test_a_store_can_be_added_over_http(bs_store: BsStore) -> None:
    rw, ro = make_secret("rw"), make_secret("ro")
    with plain_client(bs_store.sandbox.url) as client:
        created = client.post("/_sandbox/stores", json={
            "subdomain": "globex", "read_write_token": rw, "read_only_token": ro,
            "products": 3})
        clash = client.post("/_sandbox/stores", json={
            "subdomain": "globex", "read_write_token": make_secret(),
            "read_only_token": make_secret()})
        listing = client.get("/_sandbox").json()

    assert created.status_code == 201
    assert created.json()["api_url"] == bs_store.sandbox.api_url("globex")
    assert clash.status_code == 400
    assert [s["subdomain"] for s in listing["stores"]] == ["acme", "globex"]
    with SandboxControl(bs_store.sandbox.control_url("globex")) as control:
        assert control.state()["products"] == 3


def test_an_unknown_control_store_or_route_is_404(bs_store: BsStore) -> None:
    with SandboxControl(bs_store.sandbox.control_url("nobody")) as control:
        with pytest.raises(SandboxControlError, match="HTTP 404"):
            control.state()
    with plain_client(bs_store.control.control_url) as client:
        assert client.get("/nothing-here").status_code == 404

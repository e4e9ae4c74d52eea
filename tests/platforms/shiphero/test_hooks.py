"""ShipHero webhooks on the hub's hook route: signed ones are kept and answered the way
ShipHero wants; forged or unsigned ones are 401, malformed ones 400 with the body kept, and
nothing is stored from either."""

from __future__ import annotations

import json

import pytest

from dropstream.connections import actions
from dropstream.platforms.shiphero.hooks import signature
from dropstream.shipments.models import Shipment
from dropstream.sync.models import PushDelivery

pytestmark = pytest.mark.django_db
SECRET = "whsec-SeCrEtZ-1"
BODY = json.dumps({"test": "0", "webhook_type": "Shipment Update", "fulfillment": {
    "shipment_id": 7, "order_number": "1001", "partner_order_id": "hub:1001",
    "package_number": 1, "total_packages": 1,
    "packages": [{"shipping_label_id": 9, "tracking_number": "1Z1", "shipping_carrier": "ups",
                  "shipping_method": "Ground", "line_items": [
                      {"id": "hub:1001-L1", "sku": "A", "quantity": 1}]}]}}).encode()


@pytest.fixture
def warehouse():
    merchant = actions.create_merchant("Hooks")
    return actions.create_warehouse(merchant, platform="shiphero", description="SH", adapter={
        "api_url": "http://127.0.0.1:9", "refresh_token": "rt-SeCrEtZ-0001",
        "webhook_secret": SECRET})


def post(client, warehouse, body: bytes, **headers):
    return client.post(f"/hooks/shiphero/{warehouse.hook_secret}", body,
                       content_type="application/json", headers=headers)


def test_a_signed_delivery_is_kept_once_and_answered_with_code_200(warehouse, client):
    signed = {"X-Shiphero-Hmac-Sha256": signature(BODY, SECRET),
              "X-Shiphero-Message-Id": "msg-1"}
    first = post(client, warehouse, BODY, **signed)
    again = post(client, warehouse, BODY, **signed)  # a retry: the same message id

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["code"] == "200" and first.json()["Status"] == "Success"
    assert list(PushDelivery.objects.order_by("id").values_list("state", "topic", "event_id")
                ) == [("received", "shipment", "msg-1"), ("ignored", "shipment", "msg-1")]


def test_forged_unsigned_and_malformed_deliveries_are_refused_and_nothing_is_stored(
        warehouse, client):
    forged = post(client, warehouse, BODY, **{"X-Shiphero-Hmac-Sha256": signature(BODY, "x")})
    unsigned = post(client, warehouse, BODY)
    garbled = b'{"webhook_type": "Shipment Update", '
    malformed = post(client, warehouse, garbled,
                     **{"X-Shiphero-Hmac-Sha256": signature(garbled, SECRET)})
    shapeless = json.dumps({"webhook_type": "Shipment Update"}).encode()
    no_shape = post(client, warehouse, shapeless,
                    **{"X-Shiphero-Hmac-Sha256": signature(shapeless, SECRET)})
    wrong_url = client.post("/hooks/shiphero/not-the-secret", BODY,
                            content_type="application/json")

    assert [r.status_code for r in (forged, unsigned, malformed, no_shape, wrong_url)] == [
        401, 401, 400, 400, 404]
    assert "signature" in forged.json()["error"] and "not signed" in unsigned.json()["error"]
    assert "JSON" in malformed.json()["error"]
    rejected = list(PushDelivery.objects.order_by("id").values_list("state", "body"))
    assert [state for state, _ in rejected] == ["rejected"] * 4
    assert rejected[2][1] == garbled.decode()  # the malformed body is kept as it came
    assert Shipment.objects.count() == 0
    assert SECRET not in json.dumps([r.json() for r in (forged, unsigned, malformed)])


def test_unsigned_deliveries_pass_when_signatures_are_not_required(warehouse, client):
    actions.update_adapter_settings(warehouse, {"require_signature": False})
    warehouse.refresh_from_db()
    answer = post(client, warehouse, BODY, **{"X-Shiphero-Message-Id": "msg-2"})
    forged = post(client, warehouse, BODY, **{"X-Shiphero-Hmac-Sha256": "AAAA"})
    assert (answer.status_code, forged.status_code) == (200, 401)

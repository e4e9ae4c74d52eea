"""Hook deliveries a database could not keep, as the fuzzer (tests/fuzz) found them: a body with
NUL bytes, a topic longer than its column, ids holding NUL or lone surrogates. On PostgreSQL each
made the hook answer 500 and kept nothing; now the delivery is kept (with U+FFFD for what no
text column holds) and answered as usual. Run with DATABASE_URL set to prove it there."""

from __future__ import annotations

import json

import pytest

from dropstream.connections import actions
from dropstream.platforms.hooks import HookRejected
from dropstream.sync.models import PushDelivery
from dropstream.sync.push import receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    merchant = actions.create_merchant("Acme")
    return actions.create_store(merchant, name="Acme", platform="brightsites", adapter={
        "subdomain": "acme", "api_token": "t0ken-value-1"})


@pytest.fixture
def shiphero_warehouse():
    merchant = actions.create_merchant("Acme")
    return actions.create_warehouse(merchant, platform="shiphero", adapter={
        "refresh_token": "r3fresh-value-1", "shop_name": "acme", "require_signature": False})


def test_a_refused_body_with_nul_bytes_is_kept_with_replacement_characters(store):
    with pytest.raises(HookRejected) as caught:
        receive(store, b'{"order_id": 1,\x00\xff}')

    assert caught.value.status == 400
    delivery = PushDelivery.objects.get()
    assert delivery.state == "rejected"
    assert delivery.body == '{"order_id": 1,\ufffd\ufffd}'


def test_an_order_id_holding_nul_is_kept_with_a_storable_external_id(store):
    body = json.dumps({"order_id": "10\u000042", "site_url": "http://acme.mybrightsites.com"})

    rows = receive(store, body.encode())

    assert [row.external_id for row in PushDelivery.objects.filter(pk__in=[r.pk for r in rows])
            ] == ["10\ufffd42"]


def test_a_webhook_type_longer_than_the_topic_column_and_ids_with_surrogates_are_kept(
        shiphero_warehouse):
    body = json.dumps({"webhook_type": "Order Canceled" + "x" * 40,
                       "order_number": "\ud800A"}).encode()

    rows = receive(shiphero_warehouse, body, {"X-Shiphero-Message-Id": "m-1"})

    kept = PushDelivery.objects.get(pk=rows[0].pk)
    assert len(kept.topic) == 32
    assert kept.event_id == "m-1"

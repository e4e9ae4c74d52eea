"""Seam: a platform whose sender retries until the answer says so (``HookSpec.accepted``) gets
those members in the hub's answer to an accepted delivery; other platforms' answers are as
before."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest

from dropstream.connections import actions
from dropstream.platforms.base import HookSpec, register, unregister
from tests.platforms.proof import SPEC
from tests.platforms.proof.hooks import HOOKS as PROOF_HOOKS

pytestmark = pytest.mark.django_db

HOOKS = HookSpec(parse=PROOF_HOOKS.parse, accepted={"code": "200", "Status": "Success"})
ANSWERING = dataclasses.replace(SPEC, name="answering",
                                hooks_path="tests.platforms.test_hook_accepted_answer:HOOKS")


@pytest.fixture(params=[SPEC, ANSWERING], ids=["plain", "answering"])
def warehouse(request) -> Iterator:
    spec = request.param
    register(spec)
    merchant = actions.create_merchant("Hook Answer")
    yield actions.create_warehouse(merchant, platform=spec.name, description="WMS", adapter={
        "base_url": "http://127.0.0.1:9", "api_key": "k", "signing_secret": "sign-1"})
    unregister(spec)


def test_an_accepted_delivery_is_answered_with_the_members_the_platform_asks_for(
        warehouse, client):
    body = json.dumps({"event_id": "e1", "package": {"number": "X"}}).encode()
    signed = hmac.new(b"sign-1", body, hashlib.sha256).hexdigest()

    answer = client.post(f"/hooks/{warehouse.platform}/{warehouse.hook_secret}", body,
                         content_type="application/json", headers={"X-Proof-Signature": signed})

    assert answer.status_code == 200
    expected = {"code": "200", "Status": "Success"} if warehouse.platform == "answering" else {}
    assert {k: v for k, v in answer.json().items() if k in ("code", "Status")} == expected
    assert answer.json()["status"] == "accepted"

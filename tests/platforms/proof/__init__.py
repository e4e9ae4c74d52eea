"""``proof``: a third warehouse platform that lives only in the tests, registered from here.

It proves the seam (issue 12): a platform is one folder. Nothing outside this folder knows it;
the hub's flows, pages and hook route take it as they take DSFX. It speaks HTTP to a tiny
warehouse (``server.ProofWms``) through the shared plumbing (``platforms/http.py``), refuses
orders one by one with 400s, reports shipments by a polled feed and by signed webhooks.
"""

from __future__ import annotations

from dropstream.platforms.base import PlatformSpec, SettingField


def _positive(value: object) -> int:
    number = int(str(value))
    if number < 1:
        raise ValueError("must be 1 or more")
    return number


SPEC = PlatformSpec(
    name="proof",
    kind="warehouse",
    label="Proof WMS (tests only)",
    adapter_path="tests.platforms.proof.adapter:ProofWarehouse",
    hooks_path="tests.platforms.proof.hooks:HOOKS",
    fields=(
        SettingField("base_url", "Base URL", required=True),
        SettingField("api_key", "API key", required=True, secret=True),
        SettingField("signing_secret", "Webhook signing secret", required=True, secret=True),
        SettingField("orders_per_batch", "Orders per batch", default=2, clean=_positive),
    ),
)

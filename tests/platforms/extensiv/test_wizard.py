"""The Add Connection wizard offers Extensiv as a warehouse with its own fields (built from the
SPEC), and its "Test connection" says what is wrong, beside the field it is about."""

from __future__ import annotations

import pytest
from django.test import Client

from dropstream.accounts.models import User
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret
from tests.platforms.extensiv.fixtures import extensiv_wms, warehouse_settings  # noqa: F401

pytestmark = pytest.mark.django_db


def _staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("wizard@example.com", "pw-wizard-1",
                                                role="staff", is_staff=True))
    return client


def _to_warehouse_step(client: Client) -> None:
    assert client.get("/connections/new/").status_code == 302
    client.post("/connections/new/basic/", {"name": "Acme → Extensiv"})
    client.post("/connections/new/merchant/", {"mode": "new", "company_name": "Acme"})


def _post(wms, action: str, **overrides) -> dict[str, str]:
    fields = {f"adapter-{k}": str(v) for k, v in warehouse_settings(wms, **overrides).items()}
    return {"action": action, "platform": "extensiv", "label": "LAX-1",
            "adapter-duplicate_reference": "reject", "adapter-poll_overlap_seconds": "600",
            **fields}


def test_the_wizard_offers_extensiv_and_tests_its_credentials(extensiv):
    client = _staff()
    _to_warehouse_step(client)

    page = client.get("/connections/new/warehouse/?platform=extensiv").content.decode()
    wrong = client.post("/connections/new/warehouse/",
                        _post(extensiv, "test", client_secret=make_secret("wrong")))
    customer = client.post("/connections/new/warehouse/",
                           _post(extensiv, "test", wms_customer_id="999"))
    right = client.post("/connections/new/warehouse/", _post(extensiv, "continue"))

    assert "Extensiv 3PL Warehouse Manager" in page
    for name in ("client_id", "client_secret", "user_login", "wms_customer_id", "facility_id",
                 "duplicate_reference"):
        assert f'name="adapter-{name}"' in page
    body = wrong.content.decode()
    assert "rejected the client id or secret" in body
    assert 'id="err-id_adapter-client_secret"' in body and SECRET_MARKER not in body
    assert "customer 999" in customer.content.decode()
    assert right.status_code == 302 and right["Location"] == "/connections/new/store/"

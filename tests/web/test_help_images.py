from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_guide_screenshots_are_served_and_names_cannot_escape(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/help/adding-a-connection/")
    assert b'src="/help/images/wizard-test-connection.png"' in page.content
    image = client.get("/help/images/wizard-test-connection.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert client.get("/help/images/..%2Fsettings.py").status_code == 404
    assert client.get("/help/images/missing.png").status_code == 404

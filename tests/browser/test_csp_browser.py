"""The pages work under the Content-Security-Policy: htmx swaps, app.js confirms, the admin
and the API docs render, and Chromium reports no violation (issue 18 #14)."""

from __future__ import annotations

import pytest

from dropstream.accounts.models import User
from dropstream.connections.models import Store
from dropstream.web.security import CONTENT_SECURITY_POLICY
from tests.fixtures.secret_leaks import make_secret

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"),
              pytest.mark.django_db(transaction=True)]


def test_pages_work_under_the_content_security_policy(page, live_server, connection):
    problems: list[str] = []
    # Chromium reports each blocked script, handler or style on the console.
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    password = make_secret("pw")
    User.objects.create_user("ops@example.com", password, role="administrator",
                             is_staff=True, is_superuser=True)
    base = live_server.url

    login = page.goto(f"{base}/login/")
    assert login.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.fill("#id_username", "ops@example.com")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # htmx: the enable switch posts and swaps itself.
    page.goto(f"{base}/connections/{connection.pk}/")
    page.click(f"#switch-{connection.pk} button[role=switch]")
    page.wait_for_selector(f"#switch-{connection.pk} button[aria-checked=true]")

    # app.js: data-confirm asks first; dismissing keeps the Push Orders URL, accepting rotates it.
    page.goto(f"{base}/connections/{connection.pk}/settings/")
    before = Store.objects.get(pk=connection.store_id).push_secret
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#push button:has-text('Make a new URL')")
    page.wait_for_timeout(300)
    assert Store.objects.get(pk=connection.store_id).push_secret == before
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#push button:has-text('Make a new URL')")
    page.wait_for_selector(".banner.ok")
    assert Store.objects.get(pk=connection.store_id).push_secret != before

    for path in ("/", "/connections/", "/orders/", "/shipments/", "/usage/", "/help/",
                 "/admin/", f"/admin/connections/connection/{connection.pk}/change/"):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
    page.goto(f"{base}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert problems == []

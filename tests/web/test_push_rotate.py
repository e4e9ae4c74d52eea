from __future__ import annotations

import pytest

from dropstream.connections.models import Store

pytestmark = pytest.mark.django_db


def test_a_new_push_url_retires_the_old_one(client, admin_user, connection):
    old = connection.store.push_secret
    client.force_login(admin_user)
    response = client.post(f"/connections/{connection.pk}/push-url/")
    assert response.status_code == 302
    new = Store.objects.get(pk=connection.store_id).push_secret
    assert new != old and len(new) >= 40
    assert client.post(f"/hooks/brightsites/{old}", data=b"{}",
                       content_type="application/json").status_code == 404
    page = client.get(f"/connections/{connection.pk}/settings/")
    assert new in page.content.decode() and old not in page.content.decode()


def test_a_merchant_user_cannot_rotate_the_url(client, merchant_user, connection):
    old = connection.store.push_secret
    client.force_login(merchant_user)
    response = client.post(f"/connections/{connection.pk}/push-url/")
    # Its own merchant's connection: it may look (no 404) but not change (403).
    assert response.status_code == 403
    assert Store.objects.get(pk=connection.store_id).push_secret == old

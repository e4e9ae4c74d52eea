"""Every model has a Django admin page, and an administrator can open each list."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

pytestmark = pytest.mark.django_db

OURS = ("accounts", "connections", "catalog", "orders", "shipments", "inventory", "sync",
        "scheduling", "alerts", "web")


def test_every_model_is_registered_and_its_list_opens(client, admin_user):
    client.force_login(admin_user)
    for label in OURS:
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), f"{label}.{model.__name__} has no admin"
            url = f"/admin/{label}/{model._meta.model_name}/"
            assert client.get(url).status_code == 200, url

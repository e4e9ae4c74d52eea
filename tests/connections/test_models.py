from __future__ import annotations

import pytest
from django.db import connection as db

from dropstream.connections import actions
from dropstream.connections.errors import ConnectionsError, DuplicateConnection
from dropstream.connections.models import Channel, Store, Warehouse
from tests.fixtures.secret_leaks import make_secret


def test_a_new_connection_is_disabled_with_three_channels(connection):
    assert connection.enabled_at is None
    types = sorted(Channel.objects.filter(connection=connection).values_list("type", flat=True))
    assert types == ["inventory", "sales_order", "shipment"]


def test_channels_get_the_reference_default_schedules(connection):
    rules = {c.type: c.rules for c in connection.channels.all()}
    assert rules["sales_order"] == [{"type": "minutely", "every": 15}]
    assert rules["shipment"] == [{"type": "hourly", "every": 4, "minute": 0}]
    assert rules["inventory"] == [{"type": "minutely", "every": 60}]
    inventory = connection.channels.get(type="inventory")
    assert inventory.full_sync_rules == [{"type": "daily", "every": 1, "at": "01:00"}]


def test_the_merchant_store_warehouse_triple_is_unique(connection, merchant, store, warehouse):
    with pytest.raises(DuplicateConnection):
        actions.create_connection(name="again", customer=merchant, store=store,
                                  warehouse=warehouse)
    assert merchant.connections.count() == 1


def test_a_store_of_another_merchant_cannot_be_connected(store, warehouse, other_merchant):
    with pytest.raises(ConnectionsError) as info:
        actions.create_connection(name="x", customer=other_merchant, store=store,
                                  warehouse=warehouse)
    assert "store_id" in info.value.errors


def test_the_raw_column_never_holds_the_token(store, store_token):
    with db.cursor() as cursor:
        cursor.execute("SELECT adapter FROM connections_store WHERE id = %s", [store.pk])
        raw = str(cursor.fetchone()[0])
    assert store_token not in raw
    assert "fernet:" in raw
    assert Store.objects.get(pk=store.pk).adapter_settings()["api_token"] == store_token


def test_the_warehouse_password_is_encrypted_and_masked(merchant):
    password = make_secret("pw")
    warehouse = actions.create_warehouse(
        merchant, description="3PL", platform="dropstream",
        adapter={"connection_string": f"sftp://wh1:{password}@127.0.0.1:2222"})
    with db.cursor() as cursor:
        cursor.execute("SELECT adapter FROM connections_warehouse WHERE id = %s", [warehouse.pk])
        assert password not in str(cursor.fetchone()[0])
    shown = Warehouse.objects.get(pk=warehouse.pk).masked_adapter()["connection_string"]
    assert shown == "sftp://wh1:••••@127.0.0.1:2222"


def test_the_token_is_shown_masked(store, store_token):
    shown = store.masked_adapter()
    assert shown["api_token"] == "••••" + store_token[-4:]
    assert store_token not in repr(shown)


def test_defaults_are_filled_in(store):
    settings = store.adapter_settings()
    assert settings["order_import_status"] == "paid"
    assert settings["notify_customer"] is True
    assert settings["status_on_shipped"] == "shipped"


@pytest.mark.parametrize(
    ("adapter", "field", "text"),
    [
        ({"api_token": "t"}, "adapter.subdomain", "adapter.subdomain is required"),
        ({"subdomain": "acme"}, "adapter.api_token", "adapter.api_token is required"),
        ({"subdomain": "acme", "api_token": "t", "order_import_status": "pending"},
         "adapter.order_import_status",
         "adapter.order_import_status must be one of new, billed, paid, in_progress"),
        ({"subdomain": "ac me", "api_token": "t"}, "adapter.subdomain", "adapter.subdomain must"),
        ({"subdomain": "acme", "api_token": "t", "colour": "red"}, "adapter.colour",
         "adapter.colour is not a BrightStores setting"),
    ],
)
def test_store_validation_names_the_field(merchant, adapter, field, text):
    with pytest.raises(ConnectionsError) as info:
        actions.create_store(merchant, name="s", platform="brightsites", adapter=adapter)
    assert info.value.errors[field].startswith(text)
    assert Store.objects.count() == 0


def test_an_unknown_platform_lists_the_known_ones(merchant):
    with pytest.raises(ConnectionsError) as info:
        actions.create_store(merchant, name="s", platform="shopify", adapter={})
    assert info.value.errors["platform"] == (
        "unknown store platform 'shopify'; known platforms: brightsites")


@pytest.mark.parametrize(
    ("connection_string", "text"),
    [
        ("http://x", "adapter.connection_string must start with sftp://"),
        ("sftp://@host", "adapter.connection_string names no user"),
        ("sftp://u:p@host:99999", "adapter.connection_string has a port"),
        ("file://relative/path", "adapter.connection_string must be file:///absolute/path"),
    ],
)
def test_warehouse_validation_names_the_field(merchant, connection_string, text):
    with pytest.raises(ConnectionsError) as info:
        actions.create_warehouse(merchant, platform="dropstream",
                                 adapter={"connection_string": connection_string})
    assert info.value.errors["adapter.connection_string"].startswith(text)


def test_enabling_fixes_import_since_once(connection):
    from django.utils import timezone

    first = timezone.now()
    actions.set_connection_enabled(connection, first)
    store = Store.objects.get(pk=connection.store_id)
    since = Store.objects.get(pk=store.pk).import_since
    assert since is not None
    actions.set_connection_enabled(connection, None)
    actions.set_connection_enabled(connection, timezone.now())
    assert Store.objects.get(pk=store.pk).import_since == since

"""The adapter-seam upgrade (connections 0004) on a database that has rows: the DSFX host keys
move from their columns into ``adapter_state``, a store's ``import_since`` leaves its platform
settings for its own column, every warehouse gets its own hook secret — and back again.

Runs on whichever database the suite runs on (SQLite, then PostgreSQL in ``./dev test``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("connections", "0003_push_reconciliation")]
AFTER = [("connections", "0004_adapter_seam")]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _rows_before(apps):
    merchant = apps.get_model("connections", "Merchant").objects.create(company_name="Acme")
    store = apps.get_model("connections", "Store").objects.create(
        customer=merchant, name="acme", platform="brightsites",
        adapter={"subdomain": "acme", "import_since": "2026-11-01T00:00:00Z"})
    warehouse_model = apps.get_model("connections", "Warehouse")
    pinned = warehouse_model.objects.create(
        customer=merchant, description="Pinned", platform="dsfx",
        adapter={"connection_string": "sftp://hub@127.0.0.1:2222/"},
        host_key="ssh-ed25519 AAAApinned", pending_host_key="ssh-ed25519 AAAAnew")
    bare = warehouse_model.objects.create(
        customer=merchant, description="Bare", platform="dsfx",
        adapter={"connection_string": "file:///tmp/x"})
    return store.pk, pinned.pk, bare.pk


def test_upgrade_moves_adapter_memory_and_back():
    try:
        store_id, pinned_id, bare_id = _rows_before(_migrate(BEFORE))

        apps = _migrate(AFTER)
        store = apps.get_model("connections", "Store").objects.get(pk=store_id)
        assert store.import_since == datetime(2026, 11, 1, tzinfo=UTC)
        assert store.adapter == {"subdomain": "acme"}
        warehouses = apps.get_model("connections", "Warehouse").objects
        pinned, bare = warehouses.get(pk=pinned_id), warehouses.get(pk=bare_id)
        assert pinned.adapter_state == {"host_key": "ssh-ed25519 AAAApinned",
                                        "pending_host_key": "ssh-ed25519 AAAAnew"}
        assert bare.adapter_state == {}
        assert pinned.secret and bare.secret and pinned.secret != bare.secret

        apps = _migrate(BEFORE)
        store = apps.get_model("connections", "Store").objects.get(pk=store_id)
        assert store.adapter["import_since"] == "2026-11-01T00:00:00Z"
        pinned = apps.get_model("connections", "Warehouse").objects.get(pk=pinned_id)
        assert (pinned.host_key, pinned.pending_host_key) == ("ssh-ed25519 AAAApinned",
                                                              "ssh-ed25519 AAAAnew")
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

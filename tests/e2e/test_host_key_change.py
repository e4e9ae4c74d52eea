"""A changed SFTP host key stops the warehouse with an alert until a user accepts it."""

from __future__ import annotations

import pytest

from dropstream.alerts.models import Alert
from dropstream.connections.models import Warehouse
from tests.e2e.conftest import build_hub

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]


def test_a_changed_host_key_stops_the_warehouse_until_accepted(bs_store, sftp_server, client,
                                                               admin_user):
    from dropstream.sync.runner import run_channel

    for folder in ("in", "out"):
        (sftp_server.root / folder).mkdir(parents=True, exist_ok=True)
    hub = build_hub(bs_store, sftp_server.root, warehouse_url=sftp_server.connection_string)
    hub.control.create_orders(1, status="paid")
    hub.run("sales_order")
    # The DSFX adapter keeps its pinned and presented keys in its memory (adapter_state).
    pinned = Warehouse.objects.get(pk=hub.connection.warehouse_id).adapter_state["host_key"]
    assert pinned  # trusted on first use

    sftp_server.restart(new_host_key=True)
    hub.control.create_orders(1, status="paid")
    refused = run_channel(hub.connection.pk, "sales_order")
    assert not refused.ok and "presented host key" in refused.error
    warehouse = Warehouse.objects.get(pk=hub.connection.warehouse_id)
    keys = warehouse.adapter_state
    assert keys["host_key"] == pinned and keys["pending_host_key"]
    alert = Alert.objects.get(kind="host_key_changed")
    assert alert.resolved_at is None
    # Still refused on the next run: never auto-accepted.
    assert not run_channel(hub.connection.pk, "sales_order").ok

    client.force_login(admin_user)
    page = client.get(f"/connections/{hub.connection.pk}/settings/").content.decode()
    assert "host key changed" in page and "SHA256:" in page
    client.post(f"/connections/{hub.connection.pk}/host-key/")
    warehouse.refresh_from_db()
    keys = warehouse.adapter_state
    assert keys["host_key"] != pinned and keys["pending_host_key"] == ""
    assert Alert.objects.get(pk=alert.pk).resolved_at is not None
    assert hub.run("sales_order").counts["exported"] == 1

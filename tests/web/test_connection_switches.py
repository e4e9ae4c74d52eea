"""The multi-warehouse switches on a connection's Settings tab (issue 16)."""

from __future__ import annotations

import re

from dropstream.connections.models import Connection


def options(connection: Connection, **switches: str) -> dict[str, str]:
    """The options card as the page posts it (an unticked checkbox is simply absent)."""
    return {"name": connection.name, "inventory_reserve": "0", "zero_out_threshold": "0",
            "unmapped_shipping_method": "pass", **switches}


def test_the_settings_tab_shows_both_switches_as_stored(staff_client, connection,
                                                       second_connection):
    page = staff_client.get(f"/connections/{second_connection.pk}/settings/").content.decode()
    boxes = dict(re.findall(r'<input type="checkbox" name="(imports_orders|'
                            r'counts_toward_store_stock)"[^>]*?( checked)?>', page))
    assert boxes == {"imports_orders": "", "counts_toward_store_stock": " checked"}


def test_unticking_counts_toward_store_stock_saves_it(staff_client, connection,
                                                      second_connection):
    response = staff_client.post(f"/connections/{second_connection.pk}/settings/options/",
                                 options(second_connection))
    assert response.status_code == 302
    second_connection.refresh_from_db()
    assert (second_connection.imports_orders,
            second_connection.counts_toward_store_stock) == (False, False)


def test_a_second_importing_connection_is_refused_beside_the_field(staff_client, connection,
                                                                    second_connection):
    response = staff_client.post(
        f"/connections/{second_connection.pk}/settings/options/",
        options(second_connection, imports_orders="on", counts_toward_store_stock="on"))

    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="err-id_imports_orders" role="alert">connection “Acme” (id ' in body
    assert "already imports this store&#x27;s orders" in body
    second_connection.refresh_from_db()
    assert second_connection.imports_orders is False

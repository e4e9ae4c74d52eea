"""The multi-warehouse switches of a connection through the REST API (issue 16): at most one
connection of a store imports its orders."""

from __future__ import annotations

import pytest

from dropstream.connections.models import Connection


def switches(connection: Connection) -> tuple[bool, bool]:
    connection.refresh_from_db()
    return connection.imports_orders, connection.counts_toward_store_stock


def test_the_switches_are_shown_and_set(admin_api, connection, second_connection):
    path = f"/api/connections/{second_connection.pk}"
    shown = admin_api.get(path).json()
    assert (shown["imports_orders"], shown["counts_toward_store_stock"]) == (False, True)

    answer = admin_api.patch(path, {"counts_toward_store_stock": False})

    assert answer.status_code == 204
    assert admin_api.get(path).json()["counts_toward_store_stock"] is False
    assert switches(second_connection) == (False, False)


def test_a_second_importing_connection_is_a_422_naming_the_one_that_imports(
        admin_api, connection, second_connection):
    answer = admin_api.patch(f"/api/connections/{second_connection.pk}",
                             {"imports_orders": True, "name": "Renamed"})

    assert answer.status_code == 422
    message = answer.json()["errors"]["imports_orders"]
    assert f"“{connection.name}” (id {connection.pk}) already imports" in message
    assert switches(second_connection) == (False, True)
    second_connection.refresh_from_db()
    assert second_connection.name == "Acme West"  # all or nothing


def test_importing_moves_to_another_connection_once_the_first_stops(admin_api, connection,
                                                                    second_connection):
    assert admin_api.patch(f"/api/connections/{connection.pk}",
                           {"imports_orders": False}).status_code == 204
    assert admin_api.patch(f"/api/connections/{second_connection.pk}",
                           {"imports_orders": True}).status_code == 204
    assert switches(connection) == (False, True)
    assert switches(second_connection) == (True, True)
    # The first may not take it back while the second imports.
    assert admin_api.patch(f"/api/connections/{connection.pk}",
                           {"imports_orders": True}).status_code == 422


@pytest.mark.parametrize("body", [{"imports_orders": "yes"}, {"counts_toward_store_stock": 1},
                                  {"imports_orders": None}])
def test_a_switch_that_is_not_true_or_false_is_a_422(admin_api, connection, body):
    answer = admin_api.patch(f"/api/connections/{connection.pk}", body)
    assert answer.status_code == 422
    assert switches(connection) == (True, True)


def test_a_merchant_cannot_switch_another_merchants_connection(merchant_api, other_merchant):
    from dropstream.connections import actions

    store = actions.create_store(other_merchant, name="Other", platform="brightsites",
                                 adapter={"subdomain": "other", "api_token": "t" * 20})
    warehouse = actions.create_warehouse(other_merchant, description="Other DC",
                                         platform="dropstream",
                                         adapter={"connection_string": "file:///tmp/other-dc"})
    theirs = actions.create_connection(name="Other", customer=other_merchant, store=store,
                                       warehouse=warehouse)
    answer = merchant_api.patch(f"/api/connections/{theirs.pk}", {"counts_toward_store_stock":
                                                                   False})
    assert answer.status_code == 404
    assert switches(theirs) == (True, True)

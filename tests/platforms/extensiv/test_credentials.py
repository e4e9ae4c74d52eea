"""Bad credentials, a wrong customer or facility, an unknown SKU: each a plain message — on
"Test connection" (``check_credentials``, which the wizard, the Settings tab and
``/api/warehouses/ping`` use) or on the order — and the secret and the token never in logs,
the meter or errors."""

from __future__ import annotations

import logging

import pytest

from dropstream.catalog.models import Listing, Product
from dropstream.connections.actions import check_credentials, clean_adapter
from dropstream.metering.models import ApiCall
from dropstream.orders.models import Order, OrderStatus
from dropstream.platforms.base import MeteredCall, get_platform
from dropstream.platforms.extensiv.adapter import ExtensivWarehouse
from dropstream.platforms.extensiv.client import TOKENS
from tests.e2e.conftest import run_locked
from tests.fixtures.secret_leaks import make_secret
from tests.platforms.extensiv.fixtures import (  # noqa: F401 - a fixture
    connect,
    extensiv_wms,
    stockable,
    warehouse_settings,
)

S = OrderStatus


def check(wms, **overrides):
    settings = clean_adapter("warehouse", "extensiv", warehouse_settings(wms, **overrides))
    return check_credentials("warehouse", "extensiv", settings)


@pytest.mark.django_db
def test_test_connection_says_what_is_wrong(extensiv):
    good = check(extensiv)
    secret = check(extensiv, client_secret=make_secret("wrong"))
    user = check(extensiv, user_login="nobody")
    customer = check(extensiv, wms_customer_id=999)
    facility = check(extensiv, facility_id=99)
    stock_facility = check(extensiv, inventory_facility_ids="10, 98")
    legacy = check(extensiv, user_login="", tpl=extensiv.sandbox.describe_tenant("acme")["tpl"],
                   user_login_id=412)
    nobody = check(extensiv, user_login="")

    assert good.ok and legacy.ok, (good, legacy)
    assert not secret.ok and secret.field == "client_secret"
    assert "rejected the client id or secret (HTTP 401)" in secret.message
    assert not user.ok and "user login" in user.message
    assert not customer.ok and "customer 999" in customer.message
    assert not facility.ok and "facility 99 " in facility.message
    assert not stock_facility.ok and "facility 98 " in stock_facility.message
    assert not nobody.ok and "set the user login" in nobody.message


def test_the_settings_declare_the_wizard_fields():
    spec = get_platform("warehouse", "extensiv")
    assert spec.label == "Extensiv 3PL Warehouse Manager"
    assert spec.secret_fields == ("client_secret",)
    assert {"client_id", "client_secret", "user_login", "wms_customer_id", "facility_id",
            "duplicate_reference", "base_url"} <= {f.name for f in spec.fields}
    assert spec.field("duplicate_reference").choices == ("reject", "allow")


def test_secret_and_token_never_reach_logs_meter_or_errors(extensiv, caplog):
    calls: list[MeteredCall] = []
    caplog.set_level(logging.DEBUG)
    wrong = make_secret("wrong")
    settings = get_platform("warehouse", "extensiv").clean(warehouse_settings(extensiv))
    adapter = ExtensivWarehouse(settings, _context(calls))
    extensiv.sandbox.add_fault(endpoint="GET /orders", action="expire_token", count=1)
    adapter.validate_credentials()  # a token, revoked once and renewed
    tokens = list(extensiv.sandbox.authority._tokens)
    refused = ExtensivWarehouse({**settings, "client_secret": wrong}, _context(calls))
    with pytest.raises(Exception) as caught:
        refused.validate_credentials()
    adapter.close()
    refused.close()

    assert len(tokens) == 2
    shown = caplog.text + repr(calls) + str(caught.value) + repr(caught.value.args)
    for secret in (extensiv.client_secret, wrong, *tokens):
        assert secret not in shown
    assert {c.endpoint for c in calls} >= {"POST /AuthServer/api/Token", "GET /orders"}


def _context(calls):
    from dropstream.platforms.base import AdapterContext

    return AdapterContext(meter=calls.append)


@pytest.mark.django_db(transaction=True)
def test_an_unknown_sku_puts_only_that_order_in_error_naming_it(bs_store, extensiv):
    connection = connect(bs_store, extensiv)
    known, mapped = stockable(bs_store)[:2]
    product = Product.objects.create(customer=connection.customer, sku="WH-NOT-THERE")
    Listing.objects.create(store=connection.store, product=product, store_sku=mapped)
    [good] = bs_store.control.create_orders(1, status="paid",
                                            lines=[{"final_sku": known, "quantity": 1}])
    [bad] = bs_store.control.create_orders(1, status="paid",
                                           lines=[{"final_sku": mapped, "quantity": 1}])

    result = run_locked(connection, "sales_order")

    assert result.ok, result.error
    assert Order.objects.get(external_id=str(good)).status == S.OPEN
    refused = Order.objects.get(external_id=str(bad))
    assert refused.status == S.ERROR
    assert "unknown SKU WH-NOT-THERE" in refused.error_message


@pytest.mark.django_db(transaction=True)
def test_a_wrong_customer_stops_the_run_with_a_plain_message_and_orders_wait(bs_store,
                                                                            extensiv):
    connection = connect(bs_store, extensiv, wms_customer_id=999)
    bs_store.control.create_orders(2, status="paid")

    result = run_locked(connection, "sales_order")

    assert not result.ok
    assert "Extensiv has no customer 999" in result.error
    assert set(Order.objects.values_list("status", flat=True)) == {S.QUEUED}
    assert extensiv.references() == []
    secret = extensiv.client_secret
    assert all(secret not in " ".join(map(str, row)) for row in
               ApiCall.objects.values_list("endpoint", "error"))
    TOKENS.clear()

"""ShipHero through the hub's own flows: orders from a Bright Sites sandbox store go to the
ShipHero simulator over real HTTP on loopback, exactly once whatever the simulator does."""

from __future__ import annotations

import time

import pytest

from dropstream.orders.models import Order, OrderStatus
from tests.e2e.conftest import run_locked
from tests.platforms.shiphero.world import (  # noqa: F401 — fixtures
    SHOP,
    bs_skus_fixture,
    connection_fixture,
    shiphero_fixture,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("e2e")]
S = OrderStatus


def test_orders_go_once_each_with_the_reference_and_a_lost_answer_makes_no_second_order(
        connection, bs_store, shiphero):
    made = bs_store.control.create_orders(
        4, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 2}])
    # The second order_create commits, then the connection drops before the answer.
    shiphero.sim.add_faults([{"operation": "order_create", "action": "lose_answer",
                              "count": 1}])
    sales = run_locked(connection, "sales_order")

    assert sales.ok, sales.error
    orders = list(Order.objects.filter(external_id__in=[str(i) for i in made]))
    assert {o.status for o in orders} == {S.OPEN}
    per_reference = shiphero.orders_per_reference()
    assert per_reference == {f"{SHOP}:{o.warehouse_order_number}": 1 for o in orders}
    held = {o["partner_order_id"]: o for o in shiphero.orders()}
    first = held[f"{SHOP}:{orders[0].warehouse_order_number}"]
    assert first["order_number"] == orders[0].warehouse_order_number
    assert first["shop_name"] == SHOP
    faulted = [e for e in shiphero.sim.meter_snapshot()["recent"] if e.get("fault")]
    assert [(e["operation"], e["fault"]) for e in faulted] == [("order_create", "lose_answer")]
    assert shiphero.creates() == 4  # the lost one was found by its reference, not re-sent


def _export_everything(connection, runs: int = 4) -> list:
    """Sales runs until nothing is left to send (a run a fault made fail is followed by the
    next, as the scheduler would); returns the results."""
    results = []
    for _ in range(runs):
        results.append(run_locked(connection, "sales_order"))
        if results[-1].ok and not Order.objects.filter(status=S.QUEUED).exists():
            break
    return results


def test_two_hundred_orders_exactly_once_under_5xx_lost_answers_token_expiry_and_credits(
        connection, bs_store, shiphero):
    sim = shiphero.sim
    made = bs_store.control.create_orders(
        200, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 1},
                                   {"final_sku": shiphero.skus[1], "quantity": 2}])
    # Tokens live 3 s (they expire mid-run, again and again); the bucket holds 100 credits
    # restoring 100/s, far less than 200 orders need (the run must wait for credits); 20 % of
    # requests get a 502 (some after the create committed); two create answers are lost after
    # commit.
    sim.configure(access_token_ttl_seconds=3, credits_max=100, credits_restore_per_second=100)
    sim.add_faults([
        {"operation": "order_create", "action": "lose_answer", "count": 2},
        {"operation": "order_create", "action": "status", "status": 502, "after_commit": True,
         "probability": 0.1, "count": None},
        {"operation": "*", "action": "status", "status": 502, "probability": 0.2,
         "count": None},
    ])

    started = time.monotonic()
    results = _export_everything(connection)
    took = time.monotonic() - started

    assert results[-1].ok, [r.error for r in results]
    orders = list(Order.objects.filter(external_id__in=[str(i) for i in made]))
    assert len(orders) == 200 and {o.status for o in orders} == {S.OPEN}
    assert shiphero.orders_per_reference() == {
        f"{SHOP}:{o.warehouse_order_number}": 1 for o in orders}
    meter = sim.meter_snapshot()
    # Credits ran out: the runs paced themselves to the restore rate instead of failing.
    assert took >= 0.8 * (meter["credits"]["charged"] - 100) / 100
    assert meter["requests"]["by_operation"]["auth/refresh"] > 1  # tokens were renewed
    faults = [e.get("fault") for e in meter["recent"]]
    assert "status" in faults
    # Credits used are recorded per run: what ShipHero charged for the answers the hub read.
    recorded = sum(r.counts.get("credits_used", 0) for r in results)
    assert 0 < recorded <= meter["credits"]["charged"]


def test_a_lost_create_answer_and_a_failed_run_are_completed_by_asking_shiphero_first(
        connection, bs_store, shiphero):
    made = bs_store.control.create_orders(
        3, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 1}])
    # The first create commits but its answer is lost, and every look-up of it fails too:
    # the run ends with the batch unconfirmed (its Intent pending).
    shiphero.sim.add_faults([
        {"operation": "order_create", "action": "lose_answer", "count": 1},
        {"operation": "orders", "action": "status", "status": 503, "count": 8}])
    failed = run_locked(connection, "sales_order")
    assert not failed.ok and "503" in failed.error

    again = run_locked(connection, "sales_order")  # submitted() asks before re-sending

    assert again.ok, again.error
    orders = list(Order.objects.filter(external_id__in=[str(i) for i in made]))
    assert {o.status for o in orders} == {S.OPEN}
    assert shiphero.orders_per_reference() == {
        f"{SHOP}:{o.warehouse_order_number}": 1 for o in orders}
    assert shiphero.creates() == 3


def store_tracking(bs_store, order: Order) -> list[str]:
    raw = bs_store.control.get_order(int(order.external_id))
    return sorted(s["tracking_number"] for s in raw["shipments"])


def test_shipments_arrive_by_webhook_once_each_and_the_poll_finds_the_dropped_ones(
        connection, bs_store, shiphero, live_server):
    from dropstream.shipments.models import Shipment
    from dropstream.sync.models import PushDelivery
    from tests.platforms.shiphero.world import register_hooks
    from tests.sync.test_push import wait_for

    sim = shiphero.sim
    register_hooks(shiphero, connection, live_server.url)
    made = bs_store.control.create_orders(
        12, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 2},
                                  {"final_sku": shiphero.skus[1], "quantity": 1}])
    assert run_locked(connection, "sales_order").ok
    orders = sorted(Order.objects.filter(external_id__in=[str(i) for i in made]),
                    key=lambda o: o.pk)
    sku_a, sku_b = shiphero.skus[:2]

    # The first ships in two packages, each delivered twice (the same message id).
    sim.add_webhook_faults({"action": "duplicate", "webhook_type": "Shipment Update",
                            "count": 2})
    first = orders[0]
    sim.ship_order(f"{SHOP}:{first.warehouse_order_number}", [
        {"lines": {sku_a: 2}, "tracking_number": "1ZPKG1", "carrier": "ups",
         "method": "Ground"},
        {"lines": {sku_b: 1}, "tracking_number": "1ZPKG2", "carrier": "fedex",
         "method": "Home"}])
    wait_for(lambda: store_tracking(bs_store, first) == ["1ZPKG1", "1ZPKG2"])
    assert sim.wait_for_webhooks(10)
    packages = {s.tracking_number: s for s in Shipment.objects.filter(order=first)}
    assert set(packages) == {"1ZPKG1", "1ZPKG2"}
    assert (packages["1ZPKG2"].carrier, packages["1ZPKG2"].service) == ("fedex", "Home")
    states = list(PushDelivery.objects.filter(topic="shipment").values_list("state", flat=True))
    assert sorted(states) == ["ignored", "ignored", "imported", "imported"]

    # 30 % of the other deliveries never come; the reconciliation poll brings them.
    sim.add_webhook_faults({"action": "drop", "probability": 0.3, "count": None})
    for order in orders[1:]:
        sim.ship_order(f"{SHOP}:{order.warehouse_order_number}",
                       [{"tracking_number": f"TRK-{order.warehouse_order_number}"}])
    assert sim.wait_for_webhooks(15)
    dropped = [d for d in sim.webhook_deliveries() if d["outcome"] == "dropped"]
    assert dropped  # some really were lost
    polled = run_locked(connection, "shipment")

    assert polled.ok, polled.error
    for order in orders[1:]:
        assert store_tracking(bs_store, order) == [f"TRK-{order.warehouse_order_number}"]
        assert Order.objects.get(pk=order.pk).status == S.SHIPPED
    assert Shipment.objects.count() == 2 + 11  # one per package, none twice
    assert store_tracking(bs_store, first) == ["1ZPKG1", "1ZPKG2"]
    idle = run_locked(connection, "shipment")  # nothing new: nothing stored, two requests
    assert idle.ok and Shipment.objects.count() == 13
    assert idle.counts["warehouse_operations"] == 2  # shipments + canceled orders since


def test_cancellations_both_ways(connection, bs_store, shiphero, live_server):
    from dropstream.alerts.models import Alert, AlertKind
    from tests.platforms.shiphero.world import register_hooks
    from tests.sync.test_push import wait_for

    sim = shiphero.sim
    register_hooks(shiphero, connection, live_server.url)
    made = bs_store.control.create_orders(
        4, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 1}])
    assert run_locked(connection, "sales_order").ok
    by_ext = {int(o.external_id): o for o in Order.objects.all()}
    by_hook, by_poll, in_store, shipped = (by_ext[i] for i in made)

    def reference(order: Order) -> str:
        return f"{SHOP}:{order.warehouse_order_number}"

    # Canceled in ShipHero: the webhook closes the order with one alert.
    sim.cancel_order(reference(by_hook), reason="damaged in the warehouse")
    wait_for(lambda: Order.objects.get(pk=by_hook.pk).status == S.CLOSED)
    # Canceled in ShipHero, its webhook lost: the reconciliation poll closes it.
    sim.add_webhook_faults({"action": "drop", "webhook_type": "Order Canceled", "count": 1})
    sim.cancel_order(reference(by_poll), reason="lost")
    assert sim.wait_for_webhooks(10)
    assert run_locked(connection, "shipment").ok
    assert Order.objects.get(pk=by_poll.pk).status == S.CLOSED
    alerts = Alert.objects.filter(kind=AlertKind.WAREHOUSE_CANCELED)
    assert sorted(a.object_id for a in alerts) == sorted([str(by_hook.pk), str(by_poll.pk)])
    assert "damaged in the warehouse" in alerts.get(object_id=str(by_hook.pk)).message

    # Canceled in the store after export: the hub asks ShipHero to cancel (order_cancel);
    # one that shipped (its webhook not in yet, so the hub still thinks it open) cannot be.
    sim.add_webhook_faults({"action": "drop", "webhook_type": "Shipment Update", "count": 1})
    sim.ship_order(reference(shipped))
    assert sim.wait_for_webhooks(10)
    for order in (in_store, shipped):
        bs_store.control.update_order(int(order.external_id), status="canceled")
    assert run_locked(connection, "sales_order").ok
    held = {o["partner_order_id"]: o for o in shiphero.orders()}
    assert held[reference(in_store)]["canceled"] is True
    assert held[reference(shipped)]["canceled"] is False
    assert "already shipped" in Alert.objects.get(kind=AlertKind.CANCEL_AT_WAREHOUSE).message
    # ShipHero's Order Canceled for the one the store canceled closes it, with no alert: the
    # merchant asked for it.
    wait_for(lambda: Order.objects.get(pk=in_store.pk).status == S.CLOSED)
    assert Alert.objects.filter(kind=AlertKind.WAREHOUSE_CANCELED).count() == 2


def test_inventory_by_webhook_and_by_full_read_agree(connection, bs_store, shiphero,
                                                      live_server):
    from dropstream.inventory.models import InventoryLevel
    from tests.platforms.shiphero.world import register_hooks
    from tests.sync.test_push import wait_for

    sim = shiphero.sim
    register_hooks(shiphero, connection, live_server.url)
    sku_a, sku_b = shiphero.skus[:2]
    facility = str(shiphero.primary.legacy_id)

    def levels() -> dict:
        return {(lv.sku, lv.facility): (lv.available, lv.on_hand)
                for lv in InventoryLevel.objects.filter(warehouse=connection.warehouse)}

    sim.set_stock(shiphero.brand, sku_a, shiphero.primary, on_hand=37)
    sim.set_stock(shiphero.brand, sku_b, shiphero.primary, on_hand=12, reserve_inventory=2)
    assert sim.wait_for_webhooks(10)
    wait_for(lambda: len(levels()) == 2)
    by_webhook = levels()
    assert by_webhook == {(sku_a, facility): (37, 37), (sku_b, facility): (10, 12)}

    full = run_locked(connection, "inventory", "full")

    assert full.ok, full.error
    assert levels() == by_webhook  # the full read of warehouse_products says the same
    assert full.counts["warehouse_operations"] == 2  # a token, one page of warehouse_products


def test_an_unknown_sku_is_refused_alone_with_a_plain_message(connection, bs_store, shiphero):
    good = bs_store.control.create_orders(
        2, status="paid", lines=[{"final_sku": shiphero.skus[0], "quantity": 1}])
    [bad] = bs_store.control.create_orders(
        1, status="paid", lines=[{"final_sku": shiphero.skus[2], "quantity": 1}])

    sales = run_locked(connection, "sales_order")

    assert sales.ok, sales.error
    statuses = {int(o.external_id): o for o in Order.objects.all()}
    assert {statuses[i].status for i in good} == {S.OPEN}
    assert statuses[bad].status == S.ERROR
    assert f"unknown SKU {shiphero.skus[2]}" in statuses[bad].error_message
    assert len(shiphero.orders()) == 2


def test_bad_credentials_fail_plainly_and_no_secret_reaches_logs_meter_or_errors(
        bs_store, shiphero, caplog):
    import logging

    from dropstream.connections import actions
    from dropstream.metering.models import ApiCall
    from dropstream.platforms.shiphero import client as shiphero_client
    from tests.fixtures.secret_leaks import make_secret
    from tests.platforms.shiphero.world import make_connection

    caplog.set_level(logging.DEBUG)
    wrong = make_secret("shrt-wrong")
    check = actions.check_credentials("warehouse", "shiphero", {
        "api_url": shiphero.sim.url, "refresh_token": wrong, "shop_name": SHOP})
    assert not check.ok and check.field == "refresh_token"
    assert "refused the refresh token" in check.message and wrong not in check.message
    good = actions.check_credentials("warehouse", "shiphero", {
        "api_url": shiphero.sim.url, "refresh_token": shiphero.brand.refresh_token,
        "shop_name": SHOP})
    assert good.ok, good.message

    webhook_secret = make_secret("whsec")
    connection = make_connection(bs_store, shiphero, webhook_secret=webhook_secret)
    bs_store.control.create_orders(2, status="paid",
                                   lines=[{"final_sku": shiphero.skus[0], "quantity": 1}])
    shiphero.sim.expire_tokens()  # the cached token is refused: renewed once, then fine
    assert run_locked(connection, "sales_order").ok
    [(access_token, _)] = shiphero_client._TOKENS.values()  # noqa: SLF001
    actions.update_adapter_settings(connection.warehouse, {"refresh_token": wrong})
    shiphero_client.forget_tokens()
    bs_store.control.create_orders(1, status="paid",
                                   lines=[{"final_sku": shiphero.skus[0], "quantity": 1}])
    failed = run_locked(connection, "sales_order")

    assert not failed.ok and "refused the refresh token" in failed.error
    secrets = (wrong, shiphero.brand.refresh_token, access_token, webhook_secret)
    calls = " ".join(f"{c.endpoint} {c.error}" for c in ApiCall.objects.all())
    assert "POST /graphql order_create" in calls and "POST /auth/refresh" in calls
    said = " ".join([calls, failed.error, caplog.text, check.message])
    assert [s for s in secrets if s in said] == []

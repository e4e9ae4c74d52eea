"""/metrics: Prometheus text with runs, durations, queue, store requests, orders and alerts."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.metering.models import ApiCall
from dropstream.orders.models import Order
from dropstream.scheduling.models import Run


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def activity(connection):
    sales = connection.channels.get(type="sales_order")
    Run.objects.create(connection=connection, channel=sales, channel_type="sales_order",
                       state="succeeded", duration_ms=800)
    Run.objects.create(connection=connection, channel=sales, channel_type="sales_order",
                       state="failed", duration_ms=42_000)
    Run.objects.create(connection=connection, channel=connection.channels.get(type="shipment"),
                       channel_type="shipment", state="queued")
    for status in (200, 200, 429):
        ApiCall.objects.create(connection=connection, store=connection.store,
                               channel="sales_order", platform="brightsites", method="GET",
                               endpoint="GET /orders", status_code=status)
    ApiCall.objects.create(connection=connection, store=connection.store, channel="shipment",
                           platform="brightsites", method="POST",
                           endpoint="POST /orders/:id/shipments", status_code=None)
    Order.objects.create(connection=connection, store=connection.store, external_id="1")
    Order.objects.create(connection=connection, store=connection.store, external_id="2",
                         status="shipped")
    raise_alert(AlertKind.BUDGET, "80 % used", customer=connection.customer)
    return connection


def test_metrics_report_runs_requests_orders_and_alerts(client, activity):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = _samples(response.content.decode())
    store = str(activity.store_id)
    assert samples[("dropstream_runs_total", (("channel", "sales_order"),
                                              ("outcome", "succeeded")))] == 1
    assert samples[("dropstream_runs_total", (("channel", "sales_order"),
                                              ("outcome", "failed")))] == 1
    assert samples[("dropstream_runs_active", (("channel", "shipment"), ("state", "queued")))] == 1
    assert samples[("dropstream_run_duration_seconds_bucket",
                    (("channel", "sales_order"), ("le", "1.0")))] == 1
    assert samples[("dropstream_run_duration_seconds_bucket",
                    (("channel", "sales_order"), ("le", "60.0")))] == 2
    assert samples[("dropstream_run_duration_seconds_sum", (("channel", "sales_order"),))] == 42.8
    assert ("dropstream_queue_depth", ()) in samples
    requests = {labels: v for (name, labels), v in samples.items()
                if name == "dropstream_store_requests_total"}
    assert requests == {
        (("endpoint", "GET /orders"), ("status", "200"), ("store_id", store)): 2,
        (("endpoint", "GET /orders"), ("status", "429"), ("store_id", store)): 1,
        (("endpoint", "POST /orders/:id/shipments"), ("status", "error"), ("store_id", store)): 1,
    }
    assert samples[("dropstream_orders", (("status", "new"),))] == 1
    assert samples[("dropstream_orders", (("status", "shipped"),))] == 1
    assert samples[("dropstream_alerts_open", (("kind", "budget"),))] == 1


def test_metrics_need_the_token_when_one_is_configured(client, db, settings):
    settings.METRICS_TOKEN = "metrics-SeCrEtZ-1"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-SeCrEtZ-1"
                      ).status_code == 200


REFUSED = (b"metrics answer only callers in DROPSTREAM_METRICS_NETWORKS (loopback unless "
           b"configured); or set DROPSTREAM_METRICS_TOKEN and send it as Authorization: Bearer\n")


def test_without_a_token_metrics_answer_loopback_callers_only(client, db, settings):
    settings.METRICS_TOKEN = None
    for address in ("127.0.0.1", "127.0.0.9", "::1", "::ffff:127.0.0.1"):
        assert client.get("/metrics", REMOTE_ADDR=address).status_code == 200, address
    for address in ("192.0.2.10", "2001:db8::1", "::ffff:192.0.2.10", ""):
        refused = client.get("/metrics", REMOTE_ADDR=address)
        assert refused.status_code == 403, address
        assert refused.content == REFUSED
    # A forged X-Forwarded-For is ignored when the hub is not behind a proxy.
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10",
                      HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def test_behind_a_proxy_the_forwarded_caller_counts_not_the_proxy(client, db, settings):
    settings.METRICS_TOKEN = None
    settings.BEHIND_PROXY = True
    # The proxy on loopback forwards an outside caller: refused.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR="198.51.100.7, 192.0.2.10").status_code == 403
    # Only the proxy's own (last) entry is trusted; a client-sent first entry is not.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR="127.0.0.1, 192.0.2.10").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


def test_configured_networks_and_administrators_may_scrape_from_elsewhere(client, db, settings,
                                                                         admin_user):
    import ipaddress

    settings.METRICS_TOKEN = None
    settings.METRICS_NETWORKS = [ipaddress.ip_network("192.0.2.0/24")]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 403
    client.force_login(admin_user)
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_with_a_token_even_loopback_must_send_it(client, db, settings):
    settings.METRICS_TOKEN = "metrics-SeCrEtZ-2"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10",
                      HTTP_AUTHORIZATION="Bearer metrics-SeCrEtZ-2").status_code == 200

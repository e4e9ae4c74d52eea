"""The figures ``/metrics`` shows, in the Prometheus text format (prometheus-client); the page
and who may read it are in ``web/views/metrics.py``.

Every figure is read from the database at scrape time, so the numbers are the same whichever
process (web, worker, scheduler, on any host) answers, and nothing is lost on restart. They
carry ids and counts, never names, tokens or order data.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q, Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from dropstream.metering.models import ApiCall
from dropstream.scheduling.models import Run, RunState

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


class DatabaseCollector:
    """Collects the hub's figures from the database on each scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from self._runs()
        yield from self._durations()
        yield from self._queue()
        yield from self._requests()
        yield from self._orders()
        yield from self._alerts()

    def _runs(self) -> Iterator[Metric]:
        finished = CounterMetricFamily("dropstream_runs", "Finished runs by channel and outcome",
                                       labels=["channel", "outcome"])
        active = GaugeMetricFamily("dropstream_runs_active", "Queued and running runs",
                                   labels=["channel", "state"])
        rows = Run.objects.values_list("channel_type", "state").annotate(n=Count("id"))
        for channel, state, n in rows.order_by("channel_type", "state"):
            if state in (RunState.QUEUED, RunState.RUNNING):
                active.add_metric([channel, state], n)
            else:
                finished.add_metric([channel, state], n)
        yield finished
        yield active

    def _durations(self) -> Iterator[Metric]:
        histogram = HistogramMetricFamily("dropstream_run_duration_seconds",
                                          "Duration of finished runs", labels=["channel"])
        aggregates = {f"le_{b}": Count("id", filter=Q(duration_ms__lte=b * 1000))
                      for b in DURATION_BUCKETS}
        rows = (Run.objects.filter(duration_ms__isnull=False).values("channel_type")
                .annotate(total=Count("id"), seconds=Sum("duration_ms"), **aggregates)
                .order_by("channel_type"))
        for row in rows:
            buckets = [(str(float(b)), row[f"le_{b}"]) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", row["total"]))
            histogram.add_metric([row["channel_type"]], buckets,
                                 sum_value=(row["seconds"] or 0) / 1000)
        yield histogram

    def _queue(self) -> Iterator[Metric]:
        from dropstream.scheduling.tasks import queue_depth

        depth = GaugeMetricFamily("dropstream_queue_depth",
                                  "Messages waiting in the task queue (-1: unreachable)")
        depth.add_metric([], queue_depth())
        yield depth

    def _requests(self) -> Iterator[Metric]:
        counter = CounterMetricFamily("dropstream_store_requests",
                                      "Requests to stores by store, endpoint and status",
                                      labels=["store_id", "endpoint", "status"])
        rows = (ApiCall.objects.filter(store__isnull=False)
                .values_list("store_id", "endpoint", "status_code").annotate(n=Count("id"))
                .order_by("store_id", "endpoint", "status_code"))
        for store_id, endpoint, status, n in rows:
            counter.add_metric([str(store_id), endpoint, str(status or "error")], n)
        yield counter

    def _orders(self) -> Iterator[Metric]:
        from dropstream.orders.models import Order

        gauge = GaugeMetricFamily("dropstream_orders", "Orders by status", labels=["status"])
        for status, n in Order.objects.values_list("status").annotate(n=Count("id")).order_by(
                "status"):
            gauge.add_metric([status], n)
        yield gauge

    def _alerts(self) -> Iterator[Metric]:
        from dropstream.alerts.models import Alert

        gauge = GaugeMetricFamily("dropstream_alerts_open", "Unresolved alerts by kind",
                                  labels=["kind"])
        rows = (Alert.objects.filter(resolved_at__isnull=True).values_list("kind")
                .annotate(n=Count("id")).order_by("kind"))
        for kind, n in rows:
            gauge.add_metric([kind], n)
        yield gauge


def render_metrics() -> bytes:
    """The whole exposition, freshly collected."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return generate_latest(registry)

"""Two worker processes on PostgreSQL + Redis: no channel runs twice at once, and a run whose
worker was killed completes exactly once after its lease lapses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from dropstream.connections import actions as connections
from dropstream.scheduling import dispatch, tasks
from dropstream.scheduling.models import Run, RunState
from tests.fixtures.secret_leaks import make_secret

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="needs DATABASE_URL=postgres://… (and Redis)"),
    pytest.mark.xdist_group("scheduling-workers"),
]


@pytest.fixture
def redis_queue(immediate_queue):
    """Point this process's queue at a private Redis queue, as the workers will be."""
    from huey.storage import RedisStorage

    huey = immediate_queue
    huey.immediate = False
    name = f"dropstream-test-{uuid.uuid4().hex[:10]}"
    original, huey.storage = huey.storage, RedisStorage(name=name, url=REDIS_URL)
    try:
        yield name
    finally:
        huey.storage.flush_all()
        huey.storage = original


@pytest.fixture
def workers(tmp_path, redis_queue, transactional_db):
    """Start ``dropstream worker`` processes sharing the test database and the Redis queue."""
    started: list[subprocess.Popen] = []
    record = tmp_path / "intervals.log"

    def start(*, sleep: float, lease: int = 30, threads: int = 4) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "DROPSTREAM_QUEUE_IMMEDIATE"}
        env.update({
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/"
                            f"{db_connection.settings_dict['NAME']}",
            "DROPSTREAM_QUEUE_URL": REDIS_URL,
            "DROPSTREAM_QUEUE_NAME": redis_queue,
            "DROPSTREAM_HOME": str(tmp_path / f"home{len(started)}"),
            "DROPSTREAM_RUN_FUNCTION": "tests.scheduling.flows.record_interval",
            "DROPSTREAM_RUN_LEASE_SECONDS": str(lease),
            "DROPSTREAM_TEST_RECORD": str(record),
            "DROPSTREAM_TEST_SLEEP": str(sleep),
            "PYTHONPATH": str(ROOT),
        })
        log = open(tmp_path / f"worker{len(started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "dropstream.cli", "worker", "-w",
                                    str(threads)], env=env, cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT)
        started.append(process)
        return process

    start.record = record
    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _connections(n: int):
    merchant = connections.create_merchant("Many Stores Inc")
    warehouse = connections.create_warehouse(merchant, description="DC", platform="dropstream",
                                             adapter={"connection_string": "file:///tmp/none"})
    made = []
    for i in range(n):
        store = connections.create_store(
            merchant, name=f"Store {i}", platform="brightsites",
            adapter={"subdomain": f"s{i}", "api_token": make_secret("bs"),
                     "api_url": "http://127.0.0.1:9/api"})
        conn = connections.create_connection(name=f"C{i}", customer=merchant, store=store,
                                             warehouse=warehouse)
        connections.set_connection_enabled(conn, timezone.now())
        made.append(conn)
    return made


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _events(record: Path) -> list[tuple[str, str, int, int]]:
    """(kind, "connection channel", pid, ns) per line of the record file."""
    out = []
    for line in record.read_text().splitlines():
        kind, conn, channel, pid, ns = line.split()
        out.append((kind, f"{conn} {channel}", int(pid), int(ns)))
    return out


def test_two_worker_processes_never_run_a_channel_twice_at_once(workers):
    conns = _connections(50)
    workers(sleep=0.05)
    workers(sleep=0.05)
    runs = []
    for conn in conns:
        for channel in conn.channels.filter(type__in=["sales_order", "inventory"]):
            for trigger in ("scheduled", "manual"):
                runs.append(Run.objects.create(connection=conn, channel=channel,
                                               channel_type=channel.type, trigger=trigger,
                                               enqueued_at=timezone.now()))
    for run in runs:  # every message twice: a re-sent or duplicated delivery
        tasks.enqueue_run(run.pk, mark=False)
        tasks.enqueue_run(run.pk, mark=False)
    _wait_for(lambda: not Run.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING]
                                             ).exists(), 60, "all runs to finish")

    assert Run.objects.filter(state=RunState.SUCCEEDED, attempt=1).count() == 200
    by_key: dict[str, list[tuple[str, int]]] = defaultdict(list)
    pids = set()
    for kind, key, pid, ns in _events(workers.record):
        by_key[key].append((kind, ns))
        pids.add(pid)
    assert len(by_key) == 100
    overlaps = []
    for key, events in by_key.items():
        events.sort(key=lambda e: e[1])
        kinds = [k for k, _ in events]
        if kinds != ["start", "end", "start", "end"]:
            overlaps.append((key, kinds))
    assert overlaps == []
    assert len(pids) == 2  # both processes took part


def test_a_run_whose_worker_was_killed_completes_exactly_once_after_its_lease(workers, settings):
    settings.RUN_LEASE_SECONDS = 2  # as the workers'
    conn = _connections(1)[0]
    doomed = workers(sleep=30, lease=2, threads=1)
    channel = conn.channels.get(type="sales_order")
    run = Run.objects.create(connection=conn, channel=channel, channel_type="sales_order",
                             enqueued_at=timezone.now())
    tasks.enqueue_run(run.pk, mark=False)
    _wait_for(lambda: workers.record.exists() and "start" in workers.record.read_text(), 30,
              "the run to start")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    workers(sleep=0.1, lease=2, threads=1)

    # The scheduler's sweep notices the lapsed lease and re-sends the run.
    _wait_for(lambda: Run.objects.get(pk=run.pk).lease_until < timezone.now(), 10,
              "the lease to lapse")
    assert dispatch.resend_lost_runs(timezone.now()) == [run.pk]
    _wait_for(lambda: Run.objects.get(pk=run.pk).state == RunState.SUCCEEDED, 30,
              "the run to complete")

    run.refresh_from_db()
    assert run.attempt == 2
    events = _events(workers.record)
    assert [kind for kind, *_ in events] == ["start", "start", "end"]
    assert events[0][2] == doomed.pid and events[2][2] != doomed.pid


def test_a_worker_process_imports_an_order_pushed_to_another_process(workers, bs_store,
                                                                     tmp_path):
    """Scaled out, the web process queues a push's import and a worker process runs it: the
    worker must know the task (before, it dropped the message as an unknown task and the order
    waited for the daily reconciliation poll)."""
    from dropstream.orders.models import Order
    from dropstream.sync.models import PushDelivery
    from dropstream.sync.push import receive

    merchant = connections.create_merchant("Pushed Goods")
    store = connections.create_store(merchant, name="Pushed", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url, "import_since": "2000-01-01T00:00:00Z"})
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    warehouse = connections.create_warehouse(merchant, description="DC", platform="dropstream",
                                             adapter={"connection_string": f"file://{root}"})
    connection = connections.create_connection(name="Pushed", customer=merchant, store=store,
                                               warehouse=warehouse)
    connections.set_connection_enabled(connection, timezone.now())
    [order_id] = bs_store.control.create_orders(1)
    body = {k: v for k, v in bs_store.control.get_order(order_id).items()
            if k not in ("approval_pending", "stock_taken")}
    workers(sleep=0.01)

    [delivery] = receive(store, json.dumps(body).encode())  # queued to Redis on commit

    _wait_for(lambda: PushDelivery.objects.get(pk=delivery.pk).state != "received", 30,
              "the worker to import the pushed order")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.reason) == ("imported", "created")
    assert list(Order.objects.values_list("external_id", flat=True)) == [str(order_id)]
    assert bs_store.control.meter()["total"] == 0

"""Scheduler cost: N connections with the default schedules over a simulated day.

    .venv/bin/python benchmarks/scheduler.py [--connections 5000] [--hours 24] [--postgres]
                                             [--redis]

Runs the real ``scheduler_tick`` (schedule, dispatch in batches, resend, budget refresh) every
``--tick`` seconds of simulated time on a fresh database, with an injected clock. Between ticks
a stand-in worker (not measured) marks the queued runs done and meters one store request per
sales-order run (an import tick that finds nothing), so the budget refresh sees real traffic.

Reported:
* scheduler CPU as a share of one core = CPU seconds spent in ticks ÷ simulated seconds
  (target ≤ 5 %). With SQLite and SqliteHuey the database and queue work is in-process and
  counted; with --postgres/--redis the servers' own CPU is not.
* dispatch delay = how late a channel's run was queued after its due time: the simulated lag
  of the tick that found it plus the wall time that tick took (an upper bound per run).

Concurrency (``--concurrency``, runs only this part):

    .venv/bin/python benchmarks/scheduler.py --concurrency [--runs 64] [--workers 64]
                                             [--latency-ms 200] [--postgres] [--redis]

``--runs`` connections, each with its own store in ONE Bright Sites sandbox process (a child
process, 200 ms added to every request, a few paid orders per store) and its own DSFX folder;
ONE ``dropstream worker -w N`` process. A sales_order run is requested for every connection at
once; Run rows in state running are counted every 50 ms until all have finished. Reported: peak
and median concurrent runs, runs completed per second, wall time, p50/p95 run duration and
queue wait, the worker's CPU. ``--postgres`` uses the database ``bench_scheduler`` (created
when missing, its schema reset), ``--redis`` Redis database 15; without them SQLite and the
embedded SqliteHuey queue in a fresh data directory.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney"]
T0 = datetime(2025, 11, 1, 0, 0, tzinfo=UTC)  # New York changes clocks the next night


def _configure(args: argparse.Namespace) -> str | None:
    """Environment for a private hub; returns the PostgreSQL database to drop afterwards."""
    home = tempfile.mkdtemp(prefix="dropstream-bench-")
    os.environ["DROPSTREAM_HOME"] = home
    os.environ["DROPSTREAM_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["DROPSTREAM_LOG_LEVEL"] = "WARNING"
    os.environ["DROPSTREAM_SCHEDULER_BATCH"] = str(args.batch)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dropstream.settings"
    os.environ.pop("DROPSTREAM_QUEUE_IMMEDIATE", None)
    if args.redis:
        os.environ["DROPSTREAM_QUEUE_URL"] = "redis://127.0.0.1:6379/0"
        os.environ["DROPSTREAM_QUEUE_NAME"] = f"dropstream-bench-{os.getpid()}"
    database = None
    if args.postgres:
        import psycopg

        database = f"dropstream_bench_{os.getpid()}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                             autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    sys.path.insert(0, str(ROOT))
    return database


def _drop(database: str | None) -> None:
    if database is None:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                         autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')


def _seed(n: int) -> None:
    """n enabled connections (one store each) across merchants in several zones."""
    from dropstream.connections.actions import DEFAULT_FULL_SYNC_RULES, DEFAULT_RULES
    from dropstream.connections.models import (
        Channel,
        ChannelType,
        Connection,
        Merchant,
        Store,
        Warehouse,
    )

    merchants = Merchant.objects.bulk_create([
        Merchant(company_name=f"Merchant {i}", time_zone=ZONES[i % len(ZONES)])
        for i in range(max(n // 50, 1))])
    warehouses = Warehouse.objects.bulk_create([
        Warehouse(customer=m, platform="dropstream", description=f"DC {m.pk}")
        for m in merchants])
    stores = Store.objects.bulk_create([
        Store(customer=merchants[i % len(merchants)], name=f"Store {i}", platform="brightsites")
        for i in range(n)], batch_size=1000)
    connections = Connection.objects.bulk_create([
        Connection(name=f"C{i}", customer=store.customer, store=store,
                   warehouse=warehouses[i % len(merchants)], enabled_at=T0)
        for i, store in enumerate(stores)], batch_size=1000)
    Channel.objects.bulk_create([
        Channel(connection=conn, type=kind, enabled_at=T0, rules=DEFAULT_RULES[kind],
                full_sync_rules=DEFAULT_FULL_SYNC_RULES.get(kind, []))
        for conn in connections for kind in ChannelType.values], batch_size=2000)


def _stand_in_worker(now: datetime) -> int:
    """Finish every queued run and meter one store request per sales-order run (unmeasured)."""
    from huey.contrib.djhuey import HUEY

    from dropstream.metering.models import ApiCall
    from dropstream.scheduling.models import Run

    queued = list(Run.objects.filter(state="queued").values_list("id", "connection_id",
                                                                 "channel_type"))
    if not queued:
        return 0
    stores = dict(Run.objects.filter(id__in=[q[0] for q in queued])
                  .values_list("connection_id", "connection__store_id"))
    ApiCall.objects.bulk_create([
        ApiCall(connection_id=conn, store_id=stores[conn], channel=kind, platform="brightsites",
                method="GET", endpoint="GET /orders", status_code=200, at=now)
        for _, conn, kind in queued if kind == "sales_order"], batch_size=2000)
    Run.objects.filter(state="queued").update(state="succeeded", finished_at=now, attempt=1,
                                              requests_used=1)
    HUEY.flush()
    return len(queued)


def _due(now: datetime) -> list[datetime]:
    from django.db.models import Q

    from dropstream.connections.models import Channel

    rows = Channel.objects.filter(Q(next_run_at__lte=now) | Q(next_full_sync_at__lte=now))
    times = []
    for next_run, next_full in rows.values_list("next_run_at", "next_full_sync_at"):
        times += [t for t in (next_run, next_full) if t is not None and t <= now]
    return times


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(int(round(p / 100 * (len(ordered) - 1))), len(ordered) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--tick", type=float, default=5, help="scheduler tick, seconds")
    parser.add_argument("--batch", type=int, default=1000, help="channels per dispatch batch")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL on 127.0.0.1")
    parser.add_argument("--redis", action="store_true", help="Redis queue on 127.0.0.1")
    parser.add_argument("--concurrency", action="store_true",
                        help="only the concurrency part: one worker against a slow sandbox")
    parser.add_argument("--runs", type=int, default=64,
                        help="concurrency: connections, one sales_order run each")
    parser.add_argument("--workers", type=int, default=64, help="concurrency: worker threads")
    parser.add_argument("--latency-ms", type=int, default=200,
                        help="concurrency: added to every sandbox request")
    parser.add_argument("--orders", type=int, default=3,
                        help="concurrency: paid orders per store")
    parser.add_argument("--timeout", type=float, default=600,
                        help="concurrency: give up after this many seconds")
    args = parser.parse_args(argv)
    if args.concurrency:
        return run_concurrency(args)
    database = _configure(args)
    try:
        return _run(args)
    finally:
        _drop(database)


def _run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dropstream.scheduling import clock, scheduler

    call_command("migrate", interactive=False, verbosity=0)
    started = time.monotonic()
    _seed(args.connections)
    seed_seconds = time.monotonic() - started

    now = T0
    end = T0 + timedelta(hours=args.hours)
    cpu_total = 0.0
    tick_cpu: list[float] = []
    delays: list[float] = []
    ticks = dispatched = 0
    wall_started = time.monotonic()
    with clock.use(lambda: now):
        while now < end:
            due = _due(now)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            counts = scheduler.scheduler_tick(now)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            cpu_total += cpu
            tick_cpu.append(cpu)
            ticks += 1
            made = counts["dispatched"] + counts["full_dispatched"]
            dispatched += made
            if made:
                delays += [(now - t).total_seconds() + wall for t in due][:made]
            _stand_in_worker(now)
            now += timedelta(seconds=max(args.tick, wall))
    simulated = (end - T0).total_seconds()
    share = cpu_total / simulated * 100

    rows = [
        ("database / queue", f"{connection.vendor} / "
                             f"{'redis' if args.redis else 'sqlite (embedded)'}", ""),
        ("connections (channels)", f"{args.connections:,} ({args.connections * 3:,})", ""),
        ("simulated", f"{args.hours:g} h in {ticks:,} ticks of {args.tick:g} s", ""),
        ("runs dispatched", f"{dispatched:,}", ""),
        ("seeding (not counted)", f"{seed_seconds:.1f} s", ""),
        ("scheduler CPU", f"{cpu_total:.1f} s", ""),
        ("CPU share of one core", f"{share:.2f} %", "≤ 5 %"),
        ("busiest tick CPU", f"{max(tick_cpu):.2f} s", f"< tick ({args.tick:g} s)"),
        ("idle tick CPU (median)", f"{statistics.median(tick_cpu) * 1000:.1f} ms", ""),
        ("dispatch delay p50 / p95 / max",
         f"{_percentile(delays, 50):.2f} / {_percentile(delays, 95):.2f} / "
         f"{max(delays, default=0):.2f} s", ""),
        ("benchmark wall time", f"{time.monotonic() - wall_started:.0f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'metric':<{width}}  {'value':<{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")
    return 0 if share <= 5 else 1


# ---------------------------------------------------------------------------------------------
# Concurrency: one worker process, many runs against a slow store
# ---------------------------------------------------------------------------------------------

CONCURRENCY_TARGET = 50
BENCH_DATABASE = "bench_scheduler"
BENCH_QUEUE_URL = "redis://127.0.0.1:6379/15"


def _configure_concurrency(args: argparse.Namespace) -> None:
    """Environment shared by this process and the worker it starts (before Django loads)."""
    os.environ["DROPSTREAM_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["DROPSTREAM_LOG_LEVEL"] = "WARNING"
    # A failed run fails for good: a retry would wait a minute and hide the failure.
    os.environ["DROPSTREAM_RUN_MAX_ATTEMPTS"] = "1"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("DROPSTREAM_QUEUE_URL", None)
    if args.postgres:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                             autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                   (BENCH_DATABASE,)).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
    if args.redis:
        os.environ["DROPSTREAM_QUEUE_URL"] = BENCH_QUEUE_URL
        os.environ["DROPSTREAM_QUEUE_NAME"] = "dropstream-bench-concurrency"
    sys.path.insert(0, str(ROOT / "benchmarks"))


def _start_worker(home: Path, workers: int, timeout: float = 60.0):
    """``dropstream worker -w workers`` as a child process sharing this environment; returns
    the Popen once it has announced itself. Raises SystemExit when it does not start. It runs
    ``python -m`` from this checkout, so the package next to this file is the one imported,
    not the one the venv's console script points at (another worktree's)."""
    import subprocess

    log_path = home / "worker.log"
    log = open(log_path, "w")  # noqa: SIM115 — closed with the process
    process = subprocess.Popen([sys.executable, "-m", "dropstream.cli", "worker", "-w",
                                str(workers)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "DropStream worker:" in log_path.read_text():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the worker did not start: " + log_path.read_text()[-2000:])


def _stop(process) -> None:
    import signal
    import subprocess

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux /proc); 0.0 when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _sample(total: int, stop, samples: list, period: float = 0.05) -> None:
    """Every ``period`` s append (monotonic time, running, finished, database sessions — on
    PostgreSQL, else 0) until all ``total`` runs finished or ``stop`` is set. Runs in its own
    thread with its own database connection."""
    from django.db import connection
    from django.db.models import Count, Q

    from dropstream.scheduling.models import Run, RunState

    finished_states = [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELED]
    tick = time.monotonic()
    try:
        while not stop.is_set():
            row = Run.objects.aggregate(
                running=Count("id", filter=Q(state=RunState.RUNNING)),
                finished=Count("id", filter=Q(state__in=finished_states)))
            sessions = 0
            if connection.vendor == "postgresql":
                # Each worker thread keeps its own connection (CONN_MAX_AGE): watch the cap.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity "
                                   "WHERE datname = current_database()")
                    sessions = cursor.fetchone()[0]
            samples.append((time.monotonic(), row["running"], row["finished"], sessions))
            if row["finished"] >= total:
                return
            tick += period
            time.sleep(max(tick - time.monotonic(), 0))
    finally:
        connection.close()


def run_concurrency(args: argparse.Namespace) -> int:
    """The concurrency part; returns 0 when the peak reaches the target, 1 otherwise."""
    import threading

    _configure_concurrency(args)
    from harness import make_connection, setup_django, start_sandbox_process

    home = setup_django("concurrency", immediate_queue=False)
    from django.db import connection, transaction
    from huey.contrib.djhuey import HUEY

    from dropstream.connections.models import Channel
    from dropstream.sandbox.brightsites.control import SandboxControl
    from dropstream.scheduling.actions import request_run
    from dropstream.scheduling.models import Run

    HUEY.flush()  # a private queue: nothing left over from an earlier attempt
    stores = [(f"s{i:03d}", "bench-" + secrets.token_hex(12)) for i in range(args.runs)]
    sandbox = start_sandbox_process(subdomain=stores[0][0], token=stores[0][1], products=5,
                                    more_stores=stores[1:], orders=args.orders)
    worker = None
    try:
        for subdomain, token in stores:
            make_connection(sandbox, subdomain=subdomain, token=token, name=subdomain,
                            parent=home)
            with SandboxControl(sandbox.control_url(subdomain)) as control:
                control.add_faults({"endpoint": "*", "action": "latency",
                                    "delay_ms": args.latency_ms, "count": None})
        channels = list(Channel.objects.filter(type="sales_order").order_by("id"))
        worker = _start_worker(home, args.workers)
        time.sleep(1.0)  # let every worker thread reach the queue
        cpu0 = _cpu_seconds(worker.pid)

        samples: list[tuple[float, int, int, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(len(channels), stop, samples),
                                   name="sampler", daemon=True)
        started = time.monotonic()
        sampler.start()
        # One transaction: every run's queue message goes out as it commits, all at once.
        with transaction.atomic():
            for channel in channels:
                request_run(channel)
        requested = time.monotonic() - started
        sampler.join(timeout=args.timeout)
        stop.set()
        sampler.join(timeout=5)
        wall = (samples[-1][0] if samples else time.monotonic()) - started
        worker_cpu = _cpu_seconds(worker.pid) - cpu0
        runs = list(Run.objects.values("state", "duration_ms", "queued_at", "started_at",
                                       "requests_used", "error", "counts"))
    finally:
        if worker is not None:
            _stop(worker)
        sandbox.stop()
    _report(args, connection.vendor, runs, samples, started, wall, requested, worker_cpu, home)
    peak = max((s[1] for s in samples), default=0)
    return 0 if peak >= CONCURRENCY_TARGET else 1


def _report(args: argparse.Namespace, vendor: str, runs: list[dict], samples: list,
            started: float, wall: float, requested: float, worker_cpu: float,
            home: Path) -> None:
    from dropstream.scheduling.models import RunState

    finished = [r for r in runs if r["state"] in (RunState.SUCCEEDED, RunState.FAILED)]
    succeeded = [r for r in runs if r["state"] == RunState.SUCCEEDED]
    durations = [r["duration_ms"] / 1000 for r in finished if r["duration_ms"] is not None]
    waits = [(r["started_at"] - r["queued_at"]).total_seconds() for r in runs
             if r["started_at"] and r["queued_at"]]
    running = [s[1] for s in samples]
    active = [i for i, n in enumerate(running) if n]
    window = running[active[0]:active[-1] + 1] if active else [0]
    at_target = sum(1 for n in running if n >= CONCURRENCY_TARGET) * 0.05
    requests = [r["requests_used"] for r in finished]
    imported = sum(int((r["counts"] or {}).get("imported", 0)) for r in runs)
    exported = sum(int((r["counts"] or {}).get("exported", 0)) for r in runs)
    errors = sorted({r["error"][:120] for r in runs if r["error"]})
    rows = [
        ("database / queue", f"{vendor} / {'redis' if args.redis else 'sqlite (embedded)'}", ""),
        ("connections (runs) / worker threads", f"{args.runs} / {args.workers}", ""),
        ("store latency", f"{args.latency_ms} ms on every request", ""),
        ("runs succeeded / failed / other",
         f"{len(succeeded)} / {len(finished) - len(succeeded)} / {len(runs) - len(finished)}",
         ""),
        ("peak concurrent runs", f"{max(running, default=0)}", f"≥ {CONCURRENCY_TARGET}"),
        ("median concurrent (first start → last end)", f"{statistics.median(window):g}", ""),
        (f"time with ≥ {CONCURRENCY_TARGET} running", f"{at_target:.2f} s", ""),
        ("runs completed per second", f"{len(finished) / wall:.1f}" if wall else "-", ""),
        ("total wall time (request → last end)", f"{wall:.2f} s", ""),
        ("requesting all runs took", f"{requested:.2f} s", ""),
        ("run duration p50 / p95",
         f"{_percentile(durations, 50):.2f} / {_percentile(durations, 95):.2f} s", ""),
        ("queue wait p50 / p95 (queued → started)",
         f"{_percentile(waits, 50):.2f} / {_percentile(waits, 95):.2f} s", ""),
        ("orders imported / sent to the warehouse", f"{imported} / {exported}",
         f"{args.runs * args.orders} each"),
        ("store requests per run (mean)",
         f"{statistics.mean(requests):.1f}" if requests else "-", ""),
        ("peak PostgreSQL sessions (all processes)",
         f"{max((s[3] for s in samples), default=0)}" if vendor == "postgresql" else "-", ""),
        ("worker CPU (share of one core)",
         f"{worker_cpu:.1f} s ({worker_cpu / wall * 100:.0f} %)" if wall else "-", ""),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'metric':<{width}}  {'value':<{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")
    for error in errors[:5]:
        print(f"error: {error}")
    print(f"worker log: {home / 'worker.log'}")


if __name__ == "__main__":
    sys.exit(main())

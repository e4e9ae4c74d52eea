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

Not covered: one worker running runs against a 200 ms-latency sandbox (≥ 50 concurrent runs)
needs the pipeline flows (issue 5) and is left to the flows' benchmark.
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

    from dropstream.scheduling.models import ApiCall, Run

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
    args = parser.parse_args(argv)
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

    from dropstream.scheduling import clock, tasks

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
            counts = tasks.scheduler_tick(now)
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


if __name__ == "__main__":
    sys.exit(main())

"""Multi-tenant dispatch: 200 connections on one worker pool, one store sick; p95 dispatch
delay (queued → started) of the healthy connections, without and with the sick one.

    .venv/bin/python benchmarks/tenants.py [--connections 200] [--workers 16] [--waves 3]
                                           [--sick 500|slow|429] [--latency-ms 50]

Topology: ONE Bright Sites sandbox process holding every store (``--latency-ms`` added to each
request, ``--orders`` paid orders per store at start), each connection with its own DSFX
folder, ONE ``dropstream worker -w WORKERS`` process, SQLite with the embedded SqliteHuey queue
in a fresh data directory (set DATABASE_URL for PostgreSQL; the queue stays embedded). Each
wave asks a sales_order run of every connection at once (one commit: the messages go out
together, as a scheduler tick that finds them all due) and waits for every healthy run to end.
``--sick 500``: one store answers every request with a 500 (the client retries with backoff);
``--sick slow``: it answers after 20 s; ``--sick 429``: it refuses every request with a 429
asking to wait 100 s (under the client's 120 s ceiling, so the client would wait it out). The
two scenarios (healthy only, then with the sick store) run in fresh child processes one after
the other.

"sick busy s" sums the recorded durations of the sick store's finished runs ("s per sick run":
their mean); "sick held s" is how long its runs held a worker thread up to the end of the last
wave, a run still going then included (a slow store's run usually is). ``DROPSTREAM_RUN_RETRY_SLEEP_SECONDS`` in the
environment reaches the worker (the run's allowance for waiting on a failing store).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
SICK_FAULTS = {
    "500": {"endpoint": "*", "action": "status", "status": 500, "count": None},
    "429": {"endpoint": "*", "action": "status", "status": 429, "retry_after": 100,
            "count": None},
    "slow": {"endpoint": "*", "action": "latency", "delay_ms": 20_000, "count": None},
}


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _configure() -> None:
    os.environ["DROPSTREAM_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["DROPSTREAM_LOG_LEVEL"] = "WARNING"
    os.environ["DROPSTREAM_RUN_MAX_ATTEMPTS"] = "1"  # a failed run fails; no queue retry
    os.environ.pop("DROPSTREAM_QUEUE_URL", None)


def _wait_for(runs_of_wave: list[int], healthy: set[int], timeout: float) -> None:
    """Until every healthy run of the wave has finished (or ``timeout`` s passed)."""
    from dropstream.scheduling.models import Run, RunState

    done = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELED)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = (Run.objects.filter(pk__in=runs_of_wave, connection_id__in=healthy)
                .exclude(state__in=done).count())
        if not left:
            return
        time.sleep(0.1)
    raise SystemExit(f"healthy runs still unfinished after {timeout} s")


def scenario(args: argparse.Namespace, sick: str) -> dict:
    """One scenario in this process; returns its figures."""
    _configure()
    from harness import make_connection, setup_django, start_sandbox_process
    from scheduler import _cpu_seconds, _start_worker, _stop

    home = setup_django(f"tenants-{sick}", immediate_queue=False)
    from django.db import connection as db
    from django.db import transaction
    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from dropstream.connections.models import Channel
    from dropstream.sandbox.brightsites.control import SandboxControl
    from dropstream.scheduling.actions import request_run
    from dropstream.scheduling.models import Run

    HUEY.flush()
    stores = [(f"t{i:03d}", "bench-" + secrets.token_hex(12)) for i in range(args.connections)]
    sandbox = start_sandbox_process(subdomain=stores[0][0], token=stores[0][1], products=5,
                                    more_stores=stores[1:], orders=args.orders)
    worker = None
    try:
        sick_ids: set[int] = set()
        for index, (subdomain, token) in enumerate(stores):
            connection = make_connection(sandbox, subdomain=subdomain, token=token,
                                         name=subdomain, parent=home)
            with SandboxControl(sandbox.control_url(subdomain)) as control:
                if sick != "none" and index == 0:
                    control.add_faults(SICK_FAULTS[sick])
                    sick_ids.add(connection.pk)
                else:
                    control.add_faults({"endpoint": "*", "action": "latency",
                                        "delay_ms": args.latency_ms, "count": None})
        channels = list(Channel.objects.filter(type="sales_order").order_by("id"))
        healthy = {c.connection_id for c in channels} - sick_ids
        worker = _start_worker(home, args.workers)
        time.sleep(1.0)
        cpu0, started = _cpu_seconds(worker.pid), time.monotonic()
        wave_ids: list[int] = []
        for _ in range(args.waves):
            with transaction.atomic():
                ids = [request_run(channel).pk for channel in channels]
            _wait_for(ids, healthy, args.timeout)
            wave_ids += ids
        wall = time.monotonic() - started
        worker_cpu = _cpu_seconds(worker.pid) - cpu0
        ended = timezone.now()
        runs = list(Run.objects.filter(pk__in=wave_ids).values(
            "connection_id", "state", "queued_at", "started_at", "finished_at", "duration_ms"))
    finally:
        if worker is not None:
            _stop(worker)
        sandbox.stop()
    delays = [(r["started_at"] - r["queued_at"]).total_seconds() for r in runs
              if r["connection_id"] in healthy and r["started_at"]]
    sick_runs = [r for r in runs if r["connection_id"] in sick_ids]
    return {"sick": sick, "vendor": db.vendor, "healthy_runs": len(delays),
            "p50": _percentile(delays, 50), "p95": _percentile(delays, 95),
            "max": max(delays, default=0.0), "wall": wall, "worker_cpu": worker_cpu,
            "sick_runs": len(sick_runs),
            "sick_states": sorted({r["state"] for r in sick_runs}),
            "sick_busy_s": sum((r["duration_ms"] or 0) / 1000 for r in sick_runs),
            "sick_run_s": _mean([(r["duration_ms"] or 0) / 1000 for r in sick_runs
                                 if r["finished_at"]]),
            "sick_held_s": sum(((r["finished_at"] or ended) - r["started_at"]).total_seconds()
                               for r in sick_runs if r["started_at"]),
            "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16, help="worker threads")
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--orders", type=int, default=1, help="paid orders per store at start")
    parser.add_argument("--sick", choices=sorted(SICK_FAULTS), default="500")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--scenario", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario is not None:
        print(json.dumps(scenario(args, args.scenario)))
        return
    results = []
    for sick in ("none", args.sick):
        command = [sys.executable, __file__, "--scenario", sick, *sys.argv[1:]]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env={**os.environ, "TMPDIR": tempfile.gettempdir()})
        if done.returncode != 0:
            raise SystemExit(f"scenario {sick} failed:\n{done.stdout[-2000:]}\n"
                             f"{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    from harness import print_table

    rows = [(r["sick"], r["healthy_runs"], f"{r['p50']:.2f}", f"{r['p95']:.2f}",
             f"{r['max']:.2f}", f"{r['wall']:.1f}", f"{r['worker_cpu']:.1f}",
             f"{r['sick_runs']} {'/'.join(r['sick_states']) or '-'}", f"{r['sick_busy_s']:.1f}",
             f"{r['sick_run_s']:.2f}", f"{r['sick_held_s']:.1f}", f"{r['load']:.1f}")
            for r in results]
    print_table(f"Dispatch delay of healthy connections ({args.connections} connections, "
                f"{args.workers} worker threads, {results[0]['vendor']} + embedded queue)",
                ("sick store", "healthy runs", "p50 s", "p95 s", "max s", "wall s",
                 "worker CPU s", "sick runs", "sick busy s", "s per sick run", "sick held s",
                 "load"), rows)


if __name__ == "__main__":
    main()

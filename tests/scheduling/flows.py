"""Trivial run functions the worker calls instead of the real flows (``RUN_FUNCTION``).

Shaped like ``dropstream.sync.runner.run_channel``; they do real work of their own (meter rows,
files) so the scheduler, locks and budget are tested end to end without the pipeline.
"""

from __future__ import annotations

import os
import time

from dropstream.connections.models import Connection
from dropstream.metering.models import ApiCall
from dropstream.scheduling import clock
from dropstream.sync.runner import RunResult

# How many store requests ``metered`` makes per run, by channel (tests set it).
REQUESTS_PER_RUN = {"sales_order": 2, "shipment": 0, "inventory": 0}
CALLS: list[tuple[int, str, str]] = []


def succeed(connection_id: int, channel_type: str, *, mode: str = "default",
            progress=None, should_stop=None) -> RunResult:
    CALLS.append((connection_id, channel_type, mode))
    if progress:
        progress(f"checked {channel_type}")
    return RunResult(ok=True, counts={"imported": 1}, requests={"GET /orders": 1})


def fail(connection_id: int, channel_type: str, *, mode: str = "default",
         progress=None, should_stop=None) -> RunResult:
    CALLS.append((connection_id, channel_type, mode))
    return RunResult(ok=False, requests={"GET /orders": 1},
                     error="the store answered 503 for GET /orders?token=SeCrEtZ123")


def explode(connection_id: int, channel_type: str, *, mode: str = "default",
            progress=None, should_stop=None) -> RunResult:
    CALLS.append((connection_id, channel_type, mode))
    raise RuntimeError("boom at https://api.example/orders?token=SeCrEtZabc")


def metered(connection_id: int, channel_type: str, *, mode: str = "default",
            progress=None, should_stop=None) -> RunResult:
    """Records ``REQUESTS_PER_RUN`` meter rows at the scheduling clock's time."""
    n = REQUESTS_PER_RUN.get(channel_type, 0)
    store_id = Connection.objects.values_list("store_id", flat=True).get(pk=connection_id)
    now = clock.now()
    ApiCall.objects.bulk_create([
        ApiCall(connection_id=connection_id, store_id=store_id, channel=channel_type,
                platform="brightsites", method="GET", endpoint="GET /orders", status_code=200,
                at=now) for _ in range(n)])
    return RunResult(ok=True, requests={"GET /orders": n} if n else {})


def record_interval(connection_id: int, channel_type: str, *, mode: str = "default",
                    progress=None, should_stop=None) -> RunResult:
    """Appends start and end lines to ``$DROPSTREAM_TEST_RECORD`` around a short sleep
    (``$DROPSTREAM_TEST_SLEEP`` seconds), for the overlap and crash tests across processes."""
    path = os.environ["DROPSTREAM_TEST_RECORD"]
    pause = float(os.environ.get("DROPSTREAM_TEST_SLEEP", "0.05"))
    key = f"{connection_id} {channel_type} {os.getpid()}"
    _append(path, f"start {key} {time.time_ns()}\n")
    time.sleep(pause)
    _append(path, f"end {key} {time.time_ns()}\n")
    return RunResult(ok=True, counts={"slept_ms": int(pause * 1000)})


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)

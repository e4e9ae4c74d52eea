"""``dropstream run`` runs the web server, a worker and the scheduler in one process;
``dropstream worker`` and ``dropstream scheduler`` start on their own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("cli")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DROPSTREAM_QUEUE_IMMEDIATE", "DROPSTREAM_QUEUE_URL")}
    env.update({"DROPSTREAM_HOME": str(home), "PYTHONPATH": str(ROOT)}, **extra)
    return env


def test_run_dispatches_a_due_channel_and_a_worker_thread_runs_it(tmp_path):
    record = tmp_path / "record.log"
    env = _env(tmp_path / "home", DROPSTREAM_RUN_FUNCTION="tests.scheduling.flows.record_interval",
               DROPSTREAM_TEST_RECORD=str(record), DROPSTREAM_SCHEDULER_TICK_SECONDS="1")
    port = _free_port()
    hub = subprocess.Popen([sys.executable, "-m", "dropstream.cli", "run", "--port", str(port),
                            "-w", "2"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180  # start-up on a loaded 2-core machine
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert hub.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        seeded = subprocess.run([sys.executable, "-m", "tests.scheduling.seed"], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert seeded.returncode == 0, seeded.stderr
        connection_id = seeded.stdout.strip()
        while not (record.exists() and "end" in record.read_text()):
            assert hub.poll() is None and time.monotonic() < deadline, "no run happened"
            time.sleep(0.2)
        lines = record.read_text().split("\n")
        assert lines[0].split()[:3] == ["start", connection_id, "sales_order"]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'dropstream_runs_total{channel="sales_order",outcome="succeeded"} 1.0' in metrics
    finally:
        hub.send_signal(signal.SIGINT)
        output, _ = hub.communicate(timeout=20)
    assert hub.returncode in (0, 130), output


def test_scheduler_once_prints_what_it_did_and_worker_rejects_zero_threads(tmp_path):
    env = _env(tmp_path)
    assert subprocess.run([sys.executable, "-m", "dropstream.cli", "init"], env=env,
                          capture_output=True, timeout=60).returncode == 0
    once = subprocess.run([sys.executable, "-m", "dropstream.cli", "scheduler", "--once"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert once.stdout.strip() == ("scheduled=0 dispatched=0 full_dispatched=0 resent=0 "
                                   "budgets=0 alerts=0 released=0")
    zero = subprocess.run([sys.executable, "-m", "dropstream.cli", "worker", "-w", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert zero.returncode == 2
    assert zero.stderr.strip() == "dropstream: --workers must be 1 or more"

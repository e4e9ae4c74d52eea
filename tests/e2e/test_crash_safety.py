"""SIGKILL the hub at random moments during export and during shipment posting, then run again:
no order twice in the warehouse, no shipment twice in the store, nothing missing."""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dropstream.sandbox.warehouse.robot import WarehouseRobot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crash")]
TRIALS = 20
ORDERS_PER_TRIAL = 6


def hub_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(DROPSTREAM_HOME=str(home), DROPSTREAM_LOG_LEVEL="WARNING",
               DROPSTREAM_QUEUE_IMMEDIATE="true")
    return env


def sync_command(connection_id: str, channel: str) -> list[str]:
    return [sys.executable, "-m", "dropstream.cli", "sync", "run", connection_id, "--channel",
            channel]


def run_to_end(env, connection_id: str, channel: str) -> float:
    started = time.monotonic()
    done = subprocess.run(sync_command(connection_id, channel), env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - started


def run_and_kill(env, connection_id: str, channel: str, after: float) -> None:
    process = subprocess.Popen(sync_command(connection_id, channel), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def order_numbers_in_warehouse(root: Path) -> Counter:
    numbers: Counter = Counter()
    for folder in (root / "in", root / "in" / "processed"):
        for path in folder.glob("ord_*.csv"):
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
                if row and row[0] == "PH":
                    numbers[row[1]] += 1
    return numbers


def test_sigkill_during_export_and_shipment_posting_loses_and_duplicates_nothing(
        bs_store, tmp_path):
    home, root = tmp_path / "home", tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    env = hub_env(home)
    setup = subprocess.run(
        [sys.executable, "-m", "tests.e2e.crash_helper", bs_store.api_url, bs_store.subdomain,
         bs_store.read_write_token, str(root)], env=env, capture_output=True, text=True,
        timeout=120)
    assert setup.returncode == 0, setup.stderr
    connection_id = setup.stdout.strip().splitlines()[-1]
    # Slow the store a little so that a kill can land between a POST and its bookkeeping.
    bs_store.control.add_faults([{"endpoint": "POST /orders/:id/shipments", "action": "latency",
                                  "delay_ms": 40, "count": None}])
    robot = WarehouseRobot(f"file://{root}", ship_delay_s=0, split_rate=0.3, short_rate=0.0,
                           default_stock=10_000, state_path=str(tmp_path / "robot.json"))
    rng = random.Random(7)
    all_ids: list[int] = []
    baseline = {"sales_order": 3.0, "shipment": 3.0}
    for trial in range(TRIALS):
        all_ids += bs_store.control.create_orders(ORDERS_PER_TRIAL, status="paid")
        run_and_kill(env, connection_id, "sales_order", rng.uniform(0.3, baseline["sales_order"]))
        baseline["sales_order"] = max(baseline["sales_order"] * 0.8,
                                      run_to_end(env, connection_id, "sales_order"))
        robot.ship_all_now()
        run_and_kill(env, connection_id, "shipment", rng.uniform(0.3, baseline["shipment"]))
        baseline["shipment"] = max(baseline["shipment"] * 0.8,
                                   run_to_end(env, connection_id, "shipment"))

        numbers = order_numbers_in_warehouse(root)
        assert [n for n, count in numbers.items() if count > 1] == [], f"trial {trial}"
        assert set(numbers) == {str(i) for i in all_ids}, f"trial {trial}: missing orders"

    robot.ship_all_now()
    run_to_end(env, connection_id, "shipment")
    packages = robot_packages(tmp_path / "dsfx")
    for order_id in all_ids:
        stored = bs_store.control.get_order(order_id)["shipments"]
        tracking = [s["tracking_number"] for s in stored]
        assert len(tracking) == len(set(tracking)), f"order {order_id} has a duplicate shipment"
        assert len(tracking) == packages[str(order_id)], f"order {order_id} misses a shipment"


def robot_packages(root: Path) -> Counter:
    """Packages per order number, from the shipment files the robot wrote."""
    seen: set[tuple[str, str]] = set()
    for folder in (root / "out", root / "out" / "processed"):
        for path in folder.glob("shp_*.csv"):
            for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
                seen.add((row["order_number"], row["tracking_number"] or row["shipment_id"]))
    return Counter(number for number, _ in seen)

"""`dropstream demo --warehouse extensiv` runs the whole flow against the Extensiv simulator:
an order reaches the store as Shipped with tracking, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from dropstream.sandbox.brightsites.control import SandboxControl
from tests.cli.test_cli import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]


def test_the_extensiv_demo_ships_an_order_with_tracking(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DROPSTREAM_QUEUE_IMMEDIATE", "DROPSTREAM_SECRET_KEY")}
    env["DROPSTREAM_HOME"] = str(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "dropstream.cli", "demo", "--warehouse",
                                "extensiv", "--port", str(free_port())], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180  # start-up on a loaded 2-core machine
        control_url = None
        while control_url is None:
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            found = [re.search(r"Bright Sites sandbox: .*control: (\S+)\)", line)
                     for line in list(lines)]
            control_url = next((m.group(1) for m in found if m), None)
            time.sleep(0.2)
        assert any("Extensiv sandbox: http://127.0.0.1:" in line for line in lines)
        control = SandboxControl(control_url)
        deadline = time.monotonic() + 90
        while not (control.state()["orders"]["by_status"].get("shipped")
                   and control.state()["shipments"]):
            assert process.poll() is None, "".join(lines[-50:])
            assert time.monotonic() < deadline, "no order shipped: " + "".join(lines[-50:])
            time.sleep(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    reader.join(timeout=5)
    assert code in (0, 130), "".join(lines[-30:])
    assert any("Demo stopped." in line for line in lines)
    database = sqlite3.connect(tmp_path / "dropstream.db")
    posted = database.execute("SELECT tracking_number FROM shipments_shipment WHERE "
                              "state = 'completed' AND tracking_number LIKE '1Z%'").fetchall()
    assert posted, "no Extensiv shipment with tracking was posted to the store"

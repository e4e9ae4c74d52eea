"""``dropstream sandbox warehouse``: refuses a remote host, runs until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dropstream.sandbox.warehouse.robot import main
from tests.sandbox.warehouse.orderfiles import drop, order_text, shipment_rows


def test_it_refuses_a_non_loopback_sftp_host_without_showing_the_password(capsys):
    code = main(["--root", "sftp://wh1:hunter2secret@192.0.2.10:22"])

    assert code == 2
    err = capsys.readouterr().err
    assert "refusing SFTP host 192.0.2.10" in err
    assert "hunter2secret" not in err


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_command_creates_the_folders_ships_and_stops_cleanly_on_sigterm(tmp_path: Path):
    root = tmp_path / "dsfx"
    env = {**os.environ, "DROPSTREAM_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "dropstream.cli", "sandbox", "warehouse", "--root",
         f"file://{root}", "--ship-delay", "0", "--poll", "0.1", "--split-rate", "0",
         "--short-rate", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (root / "in").is_dir() and (root / "out").is_dir())
        drop(root, "C-1", order_text("C-1", [("SKU-1", 2)]))
        assert wait_for(lambda: bool(list((root / "out").glob("shp_*.csv"))))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert "sandbox warehouse stopped" in out
    assert [(row["order_number"], row["quantity"]) for row in shipment_rows(root)] == [
        ("C-1", "2")]

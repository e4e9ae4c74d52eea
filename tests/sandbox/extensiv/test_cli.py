"""The command ``main(argv)``: loopback only, prints what it seeded, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from dropstream.sandbox.extensiv.server import ExtensivSandbox, main
from tests.fixtures.secret_leaks import make_secret
from tests.sandbox.extensiv.conftest import plain_client


def test_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ExtensivSandbox(host="192.0.2.10")
    assert main(["--host", "sandbox.example.invalid", "--port", "0"]) == 2


def test_the_command_prints_its_seed_data_serves_and_stops_on_sigterm() -> None:
    secret = make_secret("cli")
    process = subprocess.Popen(
        [sys.executable, "-m", "dropstream.sandbox.extensiv.server", "--port", "0",
         "--seed", "3", "--client-id", "cli-hub", "--client-secret", secret],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "sandbox on" in line:
                break
        printed = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines
                                                         if line.startswith("  "))}
        with plain_client(printed["base url"]) as client:
            token = client.post("/AuthServer/api/Token", auth=(printed["client id"],
                                                               printed["client secret"]),
                                json={"grant_type": "client_credentials",
                                      "user_login": "hub-integration"}).json()["access_token"]
            stock = client.get("/inventory/stocksummaries",
                               headers={"Authorization": f"Bearer {token}",
                                        "Accept": "application/hal+json"}).json()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert printed["client id"] == "cli-hub"
    assert printed["client secret"] == secret
    assert printed["customers"] == "143 (Acme Outdoor Co)"
    assert printed["facilities"] == "10 (LAX-1), 11 (NJ-2)"
    assert printed["base url"].startswith("http://127.0.0.1:")
    assert stock["totalResults"] == 6
    assert process.returncode == 0
    assert "sandbox stopped" in out
    assert err == ""

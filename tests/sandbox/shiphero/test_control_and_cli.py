"""The control endpoint's set-up, clock and settings routes, and ``main(argv)``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from dropstream.sandbox.shiphero.server import main
from tests.fixtures.secret_leaks import make_secret
from tests.sandbox.shiphero.conftest import World


def test_set_up_a_3pl_over_the_control_endpoint(world: World) -> None:
    token = make_secret("rt")
    tpl = world.control("POST", "/accounts", {"name": "Ship Co", "is_3pl": True,
                                              "refresh_token": token})
    tpl_id = tpl.json()["legacy_id"]
    customer = world.control("POST", f"/accounts/{tpl_id}/customers", {"name": "Brand Y"})
    dock = world.control("POST", f"/accounts/{tpl_id}/warehouses", {"identifier": "Dock"})
    product = world.control("POST", f"/accounts/{customer.json()['legacy_id']}/products",
                            {"sku": "CUP", "stock": {"Dock": 7}})

    assert (tpl.status_code, tpl.json()["is_3pl"], tpl.json()["refresh_token"]) == (
        201, True, token)
    assert customer.json()["parent_id"] == tpl_id
    assert dock.json()["identifier"] == "Dock"
    assert [(r["warehouse"], r["on_hand"]) for r in product.json()["stock"]] == [("Dock", 7)]
    overview = world.control("GET", "").json()
    assert overview["graphql_url"] == world.sim.graphql_url
    assert overview["auth_url"] == world.sim.auth_url
    assert [a["name"] for a in overview["accounts"]] == ["Acme Outdoor", "Ship Co", "Brand Y"]


def test_clock_settings_and_unknown_routes(world: World) -> None:
    moved = world.control("POST", "/clock", {"advance_seconds": 90})
    jumped = world.control("POST", "/clock", {"set": "2026-04-01T00:00:00Z"})
    settings = world.control("PUT", "/settings", {"canceled_status": "cancelled",
                                                  "credit_profile": "1001"})
    bad = world.control("PUT", "/settings", {"duplicate_orders": "maybe"})
    missing = world.control("GET", "/nowhere")

    assert moved.json()["now"] == "2026-03-06T12:01:30+00:00"
    assert jumped.json() == {"now": "2026-04-01T00:00:00+00:00", "frozen": True,
                             "epoch": 1775001600.0}
    assert (settings.json()["canceled_status"], settings.json()["credits_max"]) == (
        "cancelled", 1001)
    assert bad.status_code == 400
    assert bad.json() == {"error": "duplicate_orders must be one of 'create', 'reject'"}
    assert missing.status_code == 404


def test_credits_over_the_control_endpoint(world: World) -> None:
    path = f"/accounts/{world.brand.legacy_id}/credits"

    world.control("PUT", path, {"credits_remaining": 100})
    world.sim.clock.advance(2)

    assert world.control("GET", path).json() == {"credits_remaining": 220.0,
                                                 "max_available": 4004,
                                                 "increment_rate": 60.0}


def test_main_refuses_a_non_loopback_host_and_webhook_url(capsys: object) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert main(["--port", "0", "--webhook-url", "http://192.168.1.5:9000/h"]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "--host must be a loopback address" in err
    assert "only to loopback addresses" in err


def test_main_serves_until_sigterm() -> None:
    code = "import sys; from dropstream.sandbox.shiphero.server import main; " \
           "sys.exit(main(['--port', '0', '--seed', '4']))"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        lines = []
        while not lines or lines[-1] != "Ctrl-C to stop":
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no output"
            lines.append(line.strip())
        fields = {key.strip(): value.strip() for key, value in
                  (line.split(":", 1) for line in lines[1:-1])}
        with httpx.Client(timeout=5) as client:
            refreshed = client.post(fields["refresh"],
                                    json={"refresh_token": fields["refresh token"]})
            answer = client.post(fields["graphql"], json={"query": "{ products { data { edges "
                                                          "{ node { sku } } } } }"},
                                 headers={"Authorization":
                                          f"Bearer {refreshed.json()['access_token']}"})
        assert [e["node"]["sku"] for e in answer.json()["data"]["products"]["data"]["edges"]] \
            == ["TENT-4P-GRN", "STOVE-01", "LAMP-LED"]
        assert fields["graphql"].endswith("/graphql")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

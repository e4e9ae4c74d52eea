"""Push Orders emitter (§10) and the ``dropstream sandbox brightsites`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from dropstream.sandbox.brightsites.control import SandboxControlError
from dropstream.sandbox.brightsites.server import BrightSitesSandbox, main
from tests.fixtures.brightsites import BsStore
from tests.fixtures.secret_leaks import make_secret
from tests.sandbox.brightsites.conftest import plain_client


class Receiver:
    """A tiny loopback HTTP server that records POSTed JSON and answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(data))
                receiver.headers.append(dict(self.headers))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/brightsites/abc"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_a_new_paid_order_is_pushed_as_bare_show_order_json(bs_store: BsStore,
                                                            receiver: Receiver) -> None:
    bs_store.control.set_push(receiver.url)

    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.create_orders(1, status="new")
    summary = bs_store.control.wait_for_pushes()

    assert [body["order_id"] for body in receiver.bodies] == [order_id]
    assert receiver.bodies[0]["line_items"] and receiver.bodies[0]["site_id"]
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert summary["deliveries"] == 1 and summary["by_result"] == {"200": 1}
    assert bs_store.control.meter()["total"] == 0


def test_wrapped_pushes_use_the_order_root_key(bs_store: BsStore, receiver: Receiver) -> None:
    bs_store.control.set_push(receiver.url, wrap=True)

    [order_id] = bs_store.control.create_orders(1)
    bs_store.control.wait_for_pushes()

    assert list(receiver.bodies[0]) == ["order"]
    assert receiver.bodies[0]["order"]["order_id"] == order_id


def test_setting_status_paid_through_the_api_pushes_the_order(bs_store: BsStore,
                                                              receiver: Receiver,
                                                              api: httpx.Client) -> None:
    [order_id] = bs_store.control.create_orders(1, status="new")
    bs_store.control.set_push(receiver.url)

    api.put(f"/orders/{order_id}", json={"order": {"status": "paid"}})
    bs_store.control.wait_for_pushes()

    assert [(b["order_id"], b["status"]) for b in receiver.bodies] == [(order_id, "paid")]


def test_a_held_order_is_pushed_only_when_approved(bs_store: BsStore,
                                                   receiver: Receiver) -> None:
    bs_store.control.set_push(receiver.url)
    [order_id] = bs_store.control.create_orders(1, approval_pending=True)
    bs_store.control.wait_for_pushes()
    before = len(receiver.bodies)

    bs_store.control.approve_order(order_id)
    bs_store.control.wait_for_pushes()

    assert before == 0
    assert [b["order_id"] for b in receiver.bodies] == [order_id]


def test_a_failed_push_is_recorded_with_its_status(bs_store: BsStore,
                                                   receiver: Receiver) -> None:
    receiver.status = 500
    bs_store.control.set_push(receiver.url)

    [order_id] = bs_store.control.create_orders(1)
    summary = bs_store.control.wait_for_pushes()

    assert summary["by_result"] == {"500": 1}
    assert summary["recent"][0]["order_id"] == order_id
    assert [e["kind"] for e in bs_store.control.emails()] == ["push_failure"]
    assert bs_store.control.state()["push"]["deliveries"] == 1


def test_a_push_url_off_loopback_is_refused(bs_store: BsStore) -> None:
    with pytest.raises(SandboxControlError, match="loopback"):
        bs_store.control.set_push("http://push.example.invalid/hooks/brightsites/abc")


def test_state_counts_orders_and_shipments(bs_store: BsStore, api: httpx.Client) -> None:
    [order_id, _] = bs_store.control.create_orders(2)
    bs_store.control.create_orders(1, status="new", approval_pending=True)
    line_id = bs_store.control.get_order(order_id)["line_items"][0]["id"]
    api.post(f"/orders/{order_id}/shipments",
             json={"shipment": {"line_items": [{"id": line_id, "quantity": 1}]}})

    state = bs_store.control.state()

    assert state["orders"] == {"total": 3, "by_status": {"paid": 2, "new": 1},
                               "approval_pending": 1}
    assert state["shipments"] == 1


def test_the_sandbox_refuses_a_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        BrightSitesSandbox(host="sandbox.example.invalid")
    assert main(["--host", "sandbox.example.invalid", "--port", "0"]) == 2


def test_the_command_serves_stores_and_stops_on_sigterm() -> None:
    rw, ro = make_secret("rw"), make_secret("ro")
    process = subprocess.Popen(
        [sys.executable, "-m", "dropstream.sandbox.brightsites.server", "--port", "0",
         "--store", f"acme:{rw}:{ro}", "--orders", "3", "--seed", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "sandbox on" in line:
                break
        api_url = next(line.split()[-1] for line in lines if line.strip().startswith("api:"))
        with plain_client(api_url, timeout=5, headers={"X-API-TOKEN": rw}) as client:
            total = client.get("/orders").json()["meta"]["total"]
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert total == 3
    assert process.returncode == 0
    assert "sandbox stopped" in out


def test_push_faults_lose_and_duplicate_deliveries(bs_store: BsStore,
                                                   receiver: Receiver) -> None:
    bs_store.control.set_push(receiver.url)

    bs_store.control.set_push_faults(lose=1.0)
    [lost] = bs_store.control.create_orders(1)
    bs_store.control.wait_for_pushes()
    bs_store.control.set_push_faults(duplicate=1.0)
    [doubled] = bs_store.control.create_orders(1)
    bs_store.control.wait_for_pushes()
    bs_store.control.clear_push_faults()
    [plain] = bs_store.control.create_orders(1)
    summary = bs_store.control.wait_for_pushes()

    assert [body["order_id"] for body in receiver.bodies] == [doubled, doubled, plain]
    recorded = [(d["order_id"], d["status"], d["error"]) for d in summary["recent"]]
    assert recorded == [(lost, None, "lost (injected)"), (doubled, 200, None),
                        (doubled, 200, None), (plain, 200, None)]
    assert summary["faults"] == {"lose": 0.0, "duplicate": 0.0}
    assert bs_store.control.emails() == []  # the store never learns of a lost push


def test_push_fault_chances_must_be_between_zero_and_one(bs_store: BsStore) -> None:
    with pytest.raises(SandboxControlError, match="lose must be a number from 0 to 1"):
        bs_store.control.set_push_faults(lose=1.5)

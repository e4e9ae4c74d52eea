"""The wire under HttpClient against real servers on loopback: kept-alive connections reused,
one the server closed never used for a POST, URLs built as httpx built them, threads sharing
one client, and TLS verified."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dropstream.platforms import wire
from dropstream.platforms.addresses import AddressPolicy
from dropstream.platforms.errors import RemoteUnavailable
from dropstream.platforms.wire import Outgoing, Wire
from tests.fixtures.http_server import Reply
from tests.fixtures.tls import self_signed
from tests.platforms.test_http import client_for

LOOPBACK = AddressPolicy.for_platform("store", (), environ={
    "DROPSTREAM_ALLOWED_STORE_HOSTS": "127.0.0.1"})


def test_requests_in_turn_share_one_kept_alive_connection(scripted_server):
    client = client_for(scripted_server.url)

    for _ in range(5):
        client.get("/a", endpoint="GET /a")

    assert len({seen.peer for seen in scripted_server.seen}) == 1


def test_a_connection_the_server_closed_while_idle_is_not_used_for_the_next_post(
        scripted_server):
    client = client_for(scripted_server.url, max_attempts=1)
    scripted_server.plan(Reply(200, {"n": 1}, hang_up=True), Reply(201, {"n": 2}))

    client.get("/a", endpoint="GET /a")
    time.sleep(0.2)  # the server's close reaches the idle connection
    answer = client.request("POST", "/b", endpoint="POST /b", json_body={"x": 1},
                            idempotent=False)

    assert answer == {"n": 2}
    first, second = scripted_server.seen
    assert first.peer != second.peer  # a new connection, no "maybe applied" failure


def test_a_connection_idle_longer_than_the_keep_alive_expiry_is_not_reused(
        scripted_server, monkeypatch):
    monkeypatch.setattr(wire, "KEEPALIVE_SECONDS", 0.1)
    client = client_for(scripted_server.url)

    client.get("/a", endpoint="GET /a")
    client.get("/a", endpoint="GET /a")
    time.sleep(0.2)
    client.get("/a", endpoint="GET /a")

    first, second, third = scripted_server.seen
    assert first.peer == second.peer != third.peer


def test_an_ipv6_loopback_server_is_reached_with_a_bracketed_host(monkeypatch):
    class Six(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        server = Six(("::1", 0), _Hello)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    seen: list[str] = []
    original = _Hello.do_GET

    def record(handler):
        seen.append(handler.headers["Host"])
        original(handler)

    monkeypatch.setattr(_Hello, "do_GET", record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    policy = AddressPolicy.for_platform("store", (), environ={
        "DROPSTREAM_ALLOWED_STORE_HOSTS": "::1"})
    try:
        answer = Wire(policy, ssl.create_default_context()).send(
            Outgoing("GET", f"http://[::1]:{port}/x"), httpx.Timeout(2.0))
    finally:
        server.shutdown()
        server.server_close()

    assert answer.status == 200
    assert seen == [f"[::1]:{port}"]


def test_a_connection_the_server_announced_closing_is_not_kept(scripted_server):
    client = client_for(scripted_server.url)
    scripted_server.plan(Reply(200, headers={"Connection": "close"}), Reply(200))

    client.get("/a", endpoint="GET /a")
    client.get("/a", endpoint="GET /a")

    first, second = scripted_server.seen
    assert first.peer != second.peer


def test_the_url_is_built_as_httpx_built_it(scripted_server):
    client = client_for(scripted_server.url)

    client.get("/items/A B#1/stock", endpoint="GET /items/:sku/stock",
               params={"on": True, "off": False, "none": None, "ids": [1, 2], "q": "a b&c"})
    client.request("POST", "orders?x=1", endpoint="POST /orders", params={"y": 2},
                   json_body={"name": "Zoë", "n": 1.5})

    got, posted = scripted_server.seen
    assert got.path == "/api/items/A%20B%231/stock"
    assert got.query == {"on": ["true"], "off": ["false"], "ids": ["1", "2"], "q": ["a b&c"]}
    assert got.body == b""
    assert posted.path == "/api/orders" and posted.query == {"x": ["1"], "y": ["2"]}
    assert posted.body == '{"name":"Zoë","n":1.5}'.encode()
    assert posted.headers["Content-Type"] == "application/json"
    assert posted.headers["Content-Length"] == str(len(posted.body))
    assert posted.headers["User-Agent"].startswith("DropStream/")


def test_a_request_header_replaces_a_default_whatever_its_case(scripted_server):
    client = client_for(scripted_server.url)

    client.get("/a", endpoint="GET /a", headers={"accept": "text/csv"})

    [seen] = scripted_server.seen
    assert [(k, v) for k, v in seen.headers.items() if k.lower() == "accept"] == [
        ("accept", "text/csv")]


def test_threads_sharing_one_client_each_get_their_own_answer(scripted_server):
    client = client_for(scripted_server.url)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda n: client.get(f"/echo/{n}", endpoint="GET /echo/:n"), range(200)))

    assert len(answers) == 200
    assert sorted(int(seen.path.rsplit("/", 1)[1]) for seen in scripted_server.seen) \
        == list(range(200))
    assert len({seen.peer for seen in scripted_server.seen}) <= 8


# --------------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------------


class _Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 — the base class's name
        return

    def do_GET(self):  # noqa: N802 — the base class's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "12")
        self.end_headers()
        self.wfile.write(b'{"tls":true}')


@pytest.fixture
def tls_server(tmp_path):
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


def test_tls_to_a_certificate_the_client_trusts_is_answered(tls_server):
    url, cert = tls_server
    wire = Wire(LOOPBACK, ssl.create_default_context(cafile=str(cert)))

    answer = wire.send(Outgoing("GET", url + "/x"), httpx.Timeout(2.0))

    assert (answer.status, answer.content) == (200, b'{"tls":true}')
    wire.close()


def test_tls_to_an_unknown_certificate_is_refused_before_anything_is_sent(tls_server):
    url, _ = tls_server
    client = client_for(url, max_attempts=1)

    with pytest.raises(RemoteUnavailable) as caught:
        client.get("/x", endpoint="GET /x")

    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert caught.value.maybe_applied is False

"""Issue 18 #1: a store's ``api_url`` cannot send the merchant's token to an address the
operator did not allow — by name, and again at connect time on the resolved address."""

from __future__ import annotations

import ipaddress

import pytest

from dropstream.connections.actions import check_credentials
from dropstream.platforms.addresses import AddressPolicy, AddressRefused
from dropstream.platforms.http import Credentials, HttpClient, Messages, in_header
from tests.fixtures.http_server import Reply

BRIGHT_SITES_HOSTS = ("*.mybrightsites.com",)


def policy(allowed: str = "", hosts: tuple[str, ...] = BRIGHT_SITES_HOSTS) -> AddressPolicy:
    return AddressPolicy.for_platform(
        "store", hosts, environ={"DROPSTREAM_ALLOWED_STORE_HOSTS": allowed})


def test_only_the_platforms_hosts_by_default():
    policy().check_name("acme.mybrightsites.com")
    for host in ("evil.example.com", "mybrightsites.com.evil.example", "127.0.0.1", "10.1.2.3",
                 "169.254.169.254", "::1"):
        with pytest.raises(AddressRefused, match="DROPSTREAM_ALLOWED_STORE_HOSTS"):
            policy().check_name(host)


def test_private_addresses_need_the_operator_even_for_a_platform_host():
    with pytest.raises(AddressRefused, match="loopback, private or link-local"):
        policy().check_address("acme.mybrightsites.com", ipaddress.ip_address("10.0.0.7"))
    with pytest.raises(AddressRefused):
        policy().check_address("acme.mybrightsites.com",
                               ipaddress.ip_address("::ffff:127.0.0.1"))
    policy().check_address("acme.mybrightsites.com", ipaddress.ip_address("93.184.215.14"))


def test_the_operator_allows_names_wildcards_and_networks():
    allowing = policy("sandbox.local, *.test.internal, 127.0.0.0/8")
    allowing.check_name("127.0.0.5")
    allowing.check_name("a.test.internal")
    allowing.check_address("sandbox.local", ipaddress.ip_address("192.168.1.9"))
    allowing.check_address("anything.mybrightsites.com", ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(AddressRefused):
        allowing.check_address("acme.mybrightsites.com", ipaddress.ip_address("10.0.0.1"))


def _client(url: str, addresses: AddressPolicy) -> HttpClient:
    return HttpClient(platform="proof-store", base_url=url,
                      credentials=Credentials("tok-ssrf-secret-1", in_header("X-Token")),
                      messages=Messages("Proof", "the proof store"), addresses=addresses)


def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(scripted_server):
    """``localhost`` passes the name check (a platform host here) but resolves to 127.0.0.1:
    the connection is never opened and the token never leaves."""
    scripted_server.plan(Reply(200, {"ok": True}))
    url = scripted_server.url.replace("127.0.0.1", "localhost")
    with _client(url, policy(hosts=("localhost",))) as client, pytest.raises(
            AddressRefused, match="loopback"):
        client.get("/orders", endpoint="GET /orders")
    assert scripted_server.seen == []


def test_an_allowed_loopback_sandbox_is_reached(scripted_server):
    scripted_server.plan(Reply(200, {"ok": True}))
    with _client(scripted_server.url, policy("127.0.0.1", hosts=())) as client:
        assert client.get("/orders", endpoint="GET /orders") == {"ok": True}
    assert len(scripted_server.seen) == 1


def test_a_store_test_never_sends_the_token_to_a_host_the_operator_did_not_allow(
        scripted_server, monkeypatch):
    """The Settings-tab / wizard / API ping path: ``check_credentials`` with an ``api_url``
    on loopback, with the operator's default (no extra hosts)."""
    monkeypatch.setenv("DROPSTREAM_ALLOWED_STORE_HOSTS", "")
    scripted_server.plan(Reply(200, {"orders": []}))
    result = check_credentials("store", "brightsites", {
        "subdomain": "acme", "api_token": "tok-ssrf-secret-2",
        "api_url": scripted_server.url + "/api/v2.6.1"})
    assert not result.ok
    assert "DROPSTREAM_ALLOWED_STORE_HOSTS" in result.message
    assert scripted_server.seen == []


def test_a_credentials_test_never_echoes_the_remote_body(scripted_server):
    """An allowed address that answers an error page: the test says what kind of failure it
    was, not what the page said or how long it was."""
    page = "<html>internal admin page: db password hunter2-secret</html>"
    scripted_server.plan(*[Reply(418, page.encode(), headers={"Content-Type": "text/html"})] * 3)
    result = check_credentials("store", "brightsites", {
        "subdomain": "acme", "api_token": "tok-ssrf-secret-3",
        "api_url": scripted_server.url + "/api/v2.6.1"})
    assert not result.ok
    assert result.message == "BrightStores answered the test with an error (HTTP 418)."

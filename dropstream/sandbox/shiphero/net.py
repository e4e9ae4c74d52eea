"""Loopback-only networking rules: the simulator serves and delivers on 127.0.0.0/8 and ::1
(and ``localhost``) and nothing else."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_url_problem(url: object) -> str | None:
    """Why ``url`` cannot receive webhooks from the simulator; None when it can."""
    if not isinstance(url, str) or not url:
        return "the url must be a non-empty string"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the url is malformed"
    if parts.scheme != "http":
        return "the simulator delivers only over http:// (loopback)"
    if not is_loopback_host(parts.hostname):
        return "the simulator delivers only to loopback addresses (127.0.0.1, ::1, localhost)"
    if port == 0:
        return "the url needs a port"
    return None

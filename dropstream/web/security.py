"""Who is asking, and the headers that keep a browser on the hub's side.

``client_address`` is the caller's IP address as the hub can trust it: the TCP peer, or — only
with ``DROPSTREAM_BEHIND_PROXY`` — the address the proxy appended to ``X-Forwarded-For``.
Anyone can send ``X-Forwarded-For`` (or ``X-Forwarded-Proto``) themselves, so without a proxy
that overwrites them they mean nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> IPAddress | None:
    """The address in ``text`` (an IPv4-mapped IPv6 address as IPv4); None when it is none."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(request: HttpRequest) -> IPAddress | None:
    """The caller's address; None when the server gave none we can read.

    Behind a proxy it is the last ``X-Forwarded-For`` entry: the one our proxy appended. The
    entries before it were sent by the client and prove nothing.
    """
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return parse_address(forwarded.split(",")[-1])
    return peer


def address_in(address: IPAddress | None, networks: Iterable) -> bool:
    return address is not None and any(address in network for network in networks)


def public_url(path: str) -> str:
    """``path`` on ``DROPSTREAM_PUBLIC_URL``: for every link that leaves the hub (e-mails,
    credential links). Never the request's Host: with ``ALLOWED_HOSTS="*"`` anyone can send
    ``Host: evil.example``, and the hub would mail a password link pointing there."""
    return f"{settings.PUBLIC_URL}/{path.lstrip('/')}"


# Pages load htmx.min.js and app.js from /static/ and use no inline script, event handler or
# eval (app.js reads data-confirm instead of onsubmit=…; htmx's indicator <style> is off via
# htmx-config). Style attributes stay allowed for the width of meters and a few max-widths;
# they can't run script. The favicon is a data: URL. Nothing may frame the hub (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    """Adds ``CONTENT_SECURITY_POLICY`` to every answer that does not set its own."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

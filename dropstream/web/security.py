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

"""Which addresses the hub may send a stored secret to (issue 18 #1: no SSRF through a store's
``api_url`` or a warehouse's base URL).

A platform declares the hosts it lives on (``PlatformSpec.hosts``, e.g. ``*.example.com``); the
operator adds others with ``DROPSTREAM_ALLOWED_STORE_HOSTS`` / ``DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS``
(comma-separated host names, ``*.domain`` wildcards, IP addresses or networks such as
``127.0.0.0/8``). Two checks:

* by name, before a request is metered or sent: the host must match a platform host or an
  operator entry (a platform that declares no hosts accepts any name);
* at connect time, after the name is resolved (so a name that resolves to a private address —
  or changes between the two — cannot slip through): loopback, private, link-local and other
  non-public addresses are refused unless an operator entry names that host or address. The
  connection is then opened to the very address that was checked.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from dropstream.platforms.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = {"store": "DROPSTREAM_ALLOWED_STORE_HOSTS",
           "warehouse": "DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS"}


class AddressRefused(PermanentError):
    """The hub will not contact this address (our own message: it never echoes a remote)."""


def _network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _matches(host: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns)


@dataclass(frozen=True)
class AddressPolicy:
    """Where one platform's client may connect; build it with ``for_platform``."""

    platform_hosts: tuple[str, ...]
    operator_names: tuple[str, ...]
    operator_networks: tuple[IPNetwork, ...]
    setting: str

    @classmethod
    def for_platform(cls, kind: str, hosts: Iterable[str],
                     environ: Any = os.environ) -> AddressPolicy:
        setting = SETTING.get(kind, SETTING["store"])
        names, networks = [], []
        for raw in str(environ.get(setting, "") or "").split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            network = _network(entry)
            if network is not None:
                networks.append(network)
            else:
                names.append(entry)
        return cls(tuple(h.lower() for h in hosts), tuple(names), tuple(networks), setting)

    def _operator_allows(self, host: str, address: IPAddress | None) -> bool:
        if _matches(host, self.operator_names):
            return True
        return address is not None and any(address in n for n in self.operator_networks)

    def check_name(self, host: str) -> None:
        """Raise AddressRefused unless ``host`` may be contacted at all (no network used)."""
        host = host.lower().strip("[]")
        literal = _address(host)
        if self._operator_allows(host, literal):
            return
        if self.platform_hosts and not _matches(host, self.platform_hosts):
            raise AddressRefused(
                f"the hub does not contact {host}: it is not one of this platform's hosts "
                f"({', '.join(self.platform_hosts)}); an operator can allow it with {self.setting}")
        if literal is not None and not is_public(literal):
            raise self._private(host)

    def check_address(self, host: str, address: IPAddress) -> None:
        """Raise AddressRefused when ``host`` resolved to an address the hub must not reach."""
        host = host.lower().strip("[]")
        if not is_public(address) and not self._operator_allows(host, address):
            raise self._private(host)

    def _private(self, host: str) -> AddressRefused:
        return AddressRefused(
            f"the hub does not contact {host}: it is a loopback, private or link-local "
            f"address; an operator can allow it with {self.setting}")


def connect_guarded(policy: AddressPolicy, host: str, port: int,
                    timeout: float | None) -> socket.socket:
    """A TCP connection to ``host``, resolved first and opened only to an address ``policy``
    allows: the very address that was checked, so a name re-resolving cannot slip through.
    Raises AddressRefused, or httpx.ConnectError / ConnectTimeout (nothing was sent)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpx.ConnectError(f"cannot resolve {host}") from exc
    last: Exception | None = None
    for family, kind, proto, _, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        policy.check_address(host, address)
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
        except TimeoutError as exc:
            sock.close()
            last = httpx.ConnectTimeout(f"connecting to {host}:{port} timed out")
            last.__cause__ = exc
        except OSError as exc:  # the next address, as socket.create_connection does
            sock.close()
            last = httpx.ConnectError(f"cannot connect to {host}:{port}: "
                                      f"{exc.strerror or type(exc).__name__}")
            last.__cause__ = exc
        else:
            return sock
    raise last or httpx.ConnectError(f"no address for {host}")


def policy_for(platform: str) -> AddressPolicy:
    """The policy of a registered platform by name (one without a spec: any public host)."""
    from dropstream.platforms.base import all_platforms

    for spec in all_platforms():
        if spec.name == platform:
            return AddressPolicy.for_platform(spec.kind, spec.hosts)
    return AddressPolicy.for_platform("store", ())

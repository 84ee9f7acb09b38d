"""The real client address behind the gateway.

nginx sets `X-Real-IP: $remote_addr` on every proxied request. That header is believed
only when the direct peer is one of the trusted proxies (`TRUSTED_PROXIES`): anyone who
reaches a service directly could write it, and a per-address limit keyed on it would
then be keyed on whatever the client chose.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

REAL_IP_HEADER = "x-real-ip"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"
UNKNOWN = "unknown"  # no peer at all (a unix socket without a trusted proxy in front)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: one client, one key.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """A comma list of IPs and CIDRs; raises ValueError naming the bad entry."""
        return cls.of(part.strip() for part in text.split(",") if part.strip())

    @classmethod
    def of(cls, entries: Iterable[str]) -> TrustedProxies:
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or CIDR: {entry!r}") from None
        return cls(tuple(networks))

    def trusts(self, peer: Address | None) -> bool:
        return peer is not None and any(peer in network for network in self.networks)

    def client_address(self, peer: str | None, real_ip: str | None) -> str:
        """`real_ip` when a trusted proxy sent it and it is an address, else the peer."""
        peer_address = _address(peer)
        if self.trusts(peer_address):
            forwarded = _address(real_ip)
            if forwarded is not None:
                return str(forwarded)
        return str(peer_address) if peer_address is not None else UNKNOWN

    def of_request(self, connection: HTTPConnection) -> str:
        """The client address of a Starlette/FastAPI request (or websocket)."""
        peer = connection.client.host if connection.client else None
        return self.client_address(peer, connection.headers.get(REAL_IP_HEADER))

"""The client's address: the TCP peer, or what a trusted proxy says in X-Forwarded-For.

X-Forwarded-For is a list that every proxy appends to; only the entries added by proxies we
trust can be believed. So the list is read from the right, skipping the addresses of trusted
proxies, and the first address that is not one of them is the client (the left-most entries
are whatever the client chose to send). A request whose TCP peer is not a trusted proxy
keeps the peer's address, whatever it sends in the header.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from A_DatabasePackage.abuse_settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4096)
def parse_address(value: str) -> IPAddress | None:
    """An address as proxies write it (`1.2.3.4`, `1.2.3.4:443`, `[2001:db8::1]:443`,
    `2001:db8::1`), with IPv4-mapped IPv6 addresses given as IPv4; None if it is none.
    Cached: the same peers and proxies come back request after request."""
    text = value.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, networks: Sequence[IPNetwork] = ()) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_address_of(self, scope: Mapping[str, Any]) -> str | None:
        """The client's address of an ASGI request: its TCP peer and X-Forwarded-For headers."""
        client = scope.get("client")
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", [])
            if name.lower() == b"x-forwarded-for"
        ]
        return self.client_address(str(client[0]) if client else None, forwarded)

    def client_address(self, peer: str | None, forwarded_for: Iterable[str]) -> str | None:
        """The client's address for a request from `peer` with these X-Forwarded-For headers."""
        peer_address = parse_address(peer) if peer else None
        if not self.trusts(peer_address):
            return str(peer_address) if peer_address is not None else peer
        hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
        client = peer_address
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break  # garbage: the last proxy we trust is the best we know
            client = address
            if not self.trusts(address):
                break
        return str(client)

    def forwarded_proto(self, peer: str | None, scheme: str, forwarded_proto: str | None) -> str:
        """The scheme the client used: X-Forwarded-Proto only when a trusted proxy sent it."""
        if forwarded_proto and self.trusts(parse_address(peer) if peer else None):
            return forwarded_proto.split(",")[-1].strip().lower()
        return scheme

"""Who is the client: the peer, or, behind trusted proxies, the last untrusted X-Forwarded-For hop."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cognito_gate.config import Network


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address to count attempts against.

    ``X-Forwarded-For`` is believed only when the peer is a trusted proxy; then hops are read from
    the right, skipping trusted proxies, and the first untrusted one is the client.
    """
    peer_ip = _parse(peer or "")
    if peer_ip is None:
        return peer or "unknown"
    if not forwarded_for or not _trusted(peer_ip, trusted):
        return str(peer_ip)
    client = peer_ip
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, trusted):
            break
    return str(client)


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]
) -> bool:
    return any(address in network for network in trusted if address.version == network.version)
